/** TCP keep-alive for every qi socket. */
import type net from 'node:net';
import { envNumber } from '../config/env.js';

/**
 * TCP keep-alive, as libqi 4 does: probes after 30 s of silence, so the kernel finds peers that vanished
 * (`QI_TCP_PING_TIMEOUT` in seconds, as in libqi; 0 turns it off).
 */
export function keepAlive(socket: net.Socket): void {
  const s = envNumber('QI_TCP_PING_TIMEOUT', 30, { zero: true });
  if (s > 0) socket.setKeepAlive?.(true, s * 1000);
}
