/**
 * A slow link, one direction: bytes are taken from a socket at most `rate` per second, one slice every
 * 20 ms, and the rest waits in the sender's socket buffers, as behind a slow link. Hook-free: used by the
 * test relay (relay.ts) and by bench/lane.bench.ts.
 */
import type net from 'node:net';

/** Reads `from` at `rate` bytes per second, handing each slice to `forward`. */
export function throttle(from: net.Socket, rate: number, forward: (chunk: Buffer) => void): void {
  const slice = Math.max(1, Math.round(rate / 50));
  const timer = setInterval(() => {
    const c = from.read(Math.min(slice, from.readableLength)) as Buffer | null;
    if (c !== null) forward(c);
  }, 20);
  from.on('readable', () => {}); // paused mode: bytes wait in the stream until read
  from.on('close', () => clearInterval(timer));
}
