/** TCP keep-alive for every qi socket. */
import type net from 'node:net';

/**
 * TCP keep-alive, as libqi 4 does: probes after 30 s of silence, so the kernel finds peers that vanished
 * (`QI_TCP_PING_TIMEOUT` in seconds, as in libqi; 0 turns it off).
 */
export function keepAlive(socket: net.Socket): void {
  const s = Number(process.env.QI_TCP_PING_TIMEOUT ?? 30);
  if (Number.isFinite(s) && s > 0) socket.setKeepAlive?.(true, s * 1000);
}
