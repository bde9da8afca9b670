/**
 * Two connected in-memory byte streams: what one end writes, the other reads, with backpressure (a write
 * completes once the other end's reader has taken it in). Ending one end ends the other's reading side;
 * destroying one destroys both, so that both see `close`, as with a socket.
 */
import { Duplex } from 'node:stream';

class End extends Duplex {
  peer!: End;
  /** The callback of a write the peer's reader had no room for yet. */
  private pendingWrite: (() => void) | undefined;

  override _read(): void {
    const resume = this.peer.pendingWrite;
    this.peer.pendingWrite = undefined;
    resume?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer.destroyed) return callback(new Error('the other end of the in-memory stream is closed'));
    if (this.peer.push(chunk)) callback();
    else this.pendingWrite = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.pendingWrite = undefined;
    if (!this.peer.destroyed) this.peer.destroy();
    callback(error);
  }
}

/** A connected pair of in-memory streams. */
export function streamPair(): [Duplex, Duplex] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
