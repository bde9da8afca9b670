/**
 * Reading a plain socket straight into message buffers (Node's `onread`): large payloads land in their
 * final buffer with no copy, and small reads share one pool instead of a fresh buffer each. Only
 * sockets this process dials can use it (Node offers `onread` to `net.connect` alone).
 */
import type { FrameReader } from '../message/index.js';

const POOL_SIZE = 64 * 1024;
/** A pool with less room than this is retired (its bytes stay valid for the messages that view them). */
const POOL_MIN = 16 * 1024;
/** Read straight into a payload only when at least this much of it is missing. */
const DIRECT_MIN = 16 * 1024;

/** The `onread` option of `net.connect`, bound to a FrameReader attached later. */
export class DirectRead {
  private reader: FrameReader | null = null;
  private onError: ((e: unknown) => void) | null = null;
  private early: Buffer[] = [];
  private pool = Buffer.allocUnsafe(POOL_SIZE);
  private used = 0;
  private direct = false;
  /** Bytes read from the socket so far. */
  bytes = 0;

  /** The value to pass as `onread` to `net.connect`. */
  readonly option = {
    buffer: (): Buffer => this.next(),
    callback: (n: number, buf: Uint8Array): boolean => {
      this.received(n, buf as Buffer);
      return true; // keep reading; pausing goes through socket.pause()
    },
  };

  /** Starts feeding `reader`; bytes read before are fed first. `onError` gets framing errors. */
  attach(reader: FrameReader, onError: (e: unknown) => void): void {
    this.reader = reader;
    this.onError = onError;
    const early = this.early;
    this.early = [];
    for (const b of early) this.feed(b);
  }

  private next(): Buffer {
    const t = this.reader?.readTarget(DIRECT_MIN) ?? null;
    this.direct = t !== null;
    if (t !== null) return t;
    if (this.pool.length - this.used < POOL_MIN) {
      this.pool = Buffer.allocUnsafe(POOL_SIZE);
      this.used = 0;
    }
    return this.pool.subarray(this.used);
  }

  private received(n: number, buf: Buffer): void {
    this.bytes += n;
    if (this.direct) {
      try {
        this.reader!.advance(n);
      } catch (e) {
        this.onError!(e);
      }
      return;
    }
    this.used += n;
    this.feed(buf.subarray(0, n));
  }

  private feed(chunk: Buffer): void {
    if (this.reader === null) {
      this.early.push(chunk);
      return;
    }
    try {
      this.reader.push(chunk);
    } catch (e) {
      this.onError!(e);
    }
  }
}
