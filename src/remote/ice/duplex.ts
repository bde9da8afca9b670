/**
 * An RTCDataChannel (reliable, ordered) as a Node byte stream, so that a {@link MessageStream} can
 * carry qi messages in it like in a TCP socket. Writes are cut into DataChannel messages no larger
 * than the peer accepts; a write completes only while the channel's `bufferedAmount` stays under the
 * high-water mark, else once it has fallen to `bufferedAmountLowThreshold` (backpressure all the way
 * to the qi sender). Message boundaries carry no meaning: the reader sees one stream of bytes.
 */
import { Duplex } from 'node:stream';
import { QiClosedError } from '../../transport/index.js';

/** Options of a {@link DataChannelDuplex}. */
export interface DataChannelDuplexOptions {
  /** Largest DataChannel message sent (default 64 KiB, or less when the peer's max-message-size is smaller). */
  chunkSize?: number;
  /** Bytes queued in the channel beyond which writes wait (default 1 MiB). */
  highWaterMark?: number;
  /** Writes resume once the queue is down to this (default 256 KiB). */
  lowWaterMark?: number;
}

/** Stops a handler given to one of a channel's `on…` methods. */
export type Unsubscribe = () => void;

/**
 * The part of a DataChannel that a {@link DataChannelDuplex} uses, whatever the WebRTC stack under it
 * (each stack's channel is adapted to it in src/remote/ice). Declared here, in our own words, so that
 * the package's types name no stack's declarations (werift's or node-datachannel's) in an app's
 * compilation.
 */
export interface DataChannelLike {
  /** `connecting`, `open`, `closing` or `closed`. */
  readonly readyState: string;
  /** Bytes given to {@link send} that have not left yet. */
  readonly bufferedAmount: number;
  /** The largest message the peer accepts (its SDP `max-message-size`; Infinity when it set none). */
  readonly maxMessageSize: number;
  /** `onBufferedAmountLow` fires when `bufferedAmount` falls to this. */
  setBufferedAmountLowThreshold(bytes: number): void;
  send(data: Buffer): void;
  /** Sends a text message (control messages of resumable streams: resume.ts; qi data is binary). */
  sendText(text: string): void;
  close(): void;
  onMessage(handler: (data: Buffer | string) => void): Unsubscribe;
  onBufferedAmountLow(handler: () => void): Unsubscribe;
  /** Called with each new `readyState`. */
  onStateChange(handler: (state: string) => void): Unsubscribe;
  /** Why the channel closed, when a bound or a broken link closed it (resumable streams: resume.ts). */
  readonly why?: string | undefined;
}

/**
 * The error of the qi connections of a link that broke (`why`): what calls in flight get, saying what
 * happens next.
 */
export function linkBroke(why: string): QiClosedError {
  return new QiClosedError(
    `the direct link broke (${why}). Calls in flight on it failed (they may be repeated) and its session closed: reach the peer through the signaling session, or open a new link with DirectLink.open (it falls back to the gateway path when no direct one works)`,
  );
}

/** A DataChannel as a Duplex; see the module comment. */
export class DataChannelDuplex extends Duplex {
  private readonly subs: Unsubscribe[] = [];
  private readonly chunkSize: number;
  private readonly high: number;
  /** The write waiting for the channel's queue to drain. */
  private waiting: (() => void) | null = null;

  constructor(
    readonly channel: DataChannelLike,
    options: DataChannelDuplexOptions = {},
  ) {
    // allowHalfOpen false: a DataChannel closes both ways at once.
    super({ allowHalfOpen: false, writableHighWaterMark: 64 * 1024 });
    const limit = channel.maxMessageSize > 0 ? channel.maxMessageSize : Infinity;
    this.chunkSize = Math.max(1, Math.min(options.chunkSize ?? 64 * 1024, limit));
    this.high = options.highWaterMark ?? 1024 * 1024;
    channel.setBufferedAmountLowThreshold(Math.min(options.lowWaterMark ?? 256 * 1024, this.high));
    this.subs.push(
      channel.onMessage((data) => {
        if (typeof data === 'string') {
          this.destroy(new Error('the peer sent a text message on a qi DataChannel (binary only)'));
          return;
        }
        this.push(data);
      }),
      channel.onBufferedAmountLow(() => this.release()),
      channel.onStateChange((state) => {
        if (state === 'closed') this.onChannelClosed();
      }),
    );
    if (channel.readyState === 'closed') queueMicrotask(() => this.onChannelClosed());
  }

  /** The channel closed (by the peer, or with its connection): the stream ends. */
  private onChannelClosed(): void {
    const why = this.channel.why;
    if (why !== undefined) return void this.destroy(linkBroke(why));
    this.release();
    if (!this.readableEnded) this.push(null);
    // Writes can no longer go anywhere; whatever was queued in Node is lost, as with a reset socket.
    if (!this.writableFinished) setImmediate(() => this.destroy());
  }

  private release(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  override _read(): void {
    // Data is pushed as it arrives: SCTP has its own flow control.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send([chunk], callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.send(
      chunks.map((c) => c.chunk),
      callback,
    );
  }

  /**
   * Sends the bytes of `chunks` in messages of at most chunkSize, small pieces joined; a large write
   * goes on only while the channel's queue is under the high-water mark (else once it has drained).
   */
  private send(chunks: Buffer[], callback: (error?: Error | null) => void): void {
    if (this.channel.readyState !== 'open') return callback(new Error(`the DataChannel is ${this.channel.readyState}`));
    let i = 0;
    let off = 0;
    const closed = () => new Error('the DataChannel closed');
    const step = (): void => {
      try {
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        const flush = () => {
          if (pendingBytes === 0) return;
          this.channel.send(pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes));
          pending = [];
          pendingBytes = 0;
        };
        while (i < chunks.length) {
          const c = chunks[i];
          const n = Math.min(c.length - off, this.chunkSize - pendingBytes);
          pending.push(off === 0 && n === c.length ? c : c.subarray(off, off + n));
          pendingBytes += n;
          off += n;
          if (off === c.length) {
            i++;
            off = 0;
          }
          if (pendingBytes === this.chunkSize) {
            flush();
            if (i < chunks.length && this.channel.bufferedAmount > this.high) {
              this.waiting = () => (this.channel.readyState === 'open' ? step() : callback(closed()));
              return;
            }
          }
        }
        flush();
      } catch (e) {
        return callback(e as Error);
      }
      if (this.channel.bufferedAmount <= this.high) return callback();
      this.waiting = () => callback(this.channel.readyState === 'open' ? null : closed());
    };
    step();
  }

  override _final(callback: (error?: Error | null) => void): void {
    // Everything written must leave before the channel is closed.
    const close = () => {
      if (this.channel.readyState === 'open') this.channel.close();
      callback();
    };
    if (this.channel.bufferedAmount === 0 || this.channel.readyState !== 'open') return close();
    const check = setInterval(() => {
      if (this.channel.bufferedAmount === 0 || this.channel.readyState !== 'open') {
        clearInterval(check);
        close();
      }
    }, 10);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    for (const unsubscribe of this.subs.splice(0)) unsubscribe();
    this.release();
    if (this.channel.readyState === 'open' || this.channel.readyState === 'connecting') {
      try {
        this.channel.close();
      } catch {
        // the connection is already gone
      }
    }
    callback(error);
  }
}
