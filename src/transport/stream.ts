/**
 * A connection carrying qi messages over any byte stream (TCP, TLS, unix socket). Incoming bytes go
 * through a FrameReader; outgoing messages written in the same tick leave in one vectored write.
 */
import type { Duplex } from 'node:stream';
import { FrameReader, QiProtocolError, type Message } from '../message/index.js';
import { QiClosedError } from './errors.js';

/** What a stream reports to its owner. */
/** Messages sent in one tick are joined into one write up to this many bytes; beyond, they go out as they are. */
const JOIN_LIMIT = 64 * 1024;

export interface StreamHandlers {
  /** Each whole message, in order. Must not throw. */
  onMessage(message: Message): void;
  /** Once, when the stream is closed; `error` says why when it was not a clean close. */
  onClose(error?: Error): void;
}

export interface MessageStreamOptions {
  /** Largest payload accepted from the peer (default: `QI_MAX_MESSAGE_PAYLOAD` or 50,000,000). */
  maxPayload?: number;
}

export class MessageStream {
  private handlers: StreamHandlers | null = null;
  private readonly reader: FrameReader;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private closed = false;
  private closeError: Error | undefined;

  /**
   * @param socket the connected byte stream (already past any TLS handshake)
   * @param remote the peer, as a URL, for error messages
   * @param local this side, as a URL
   */
  constructor(
    readonly socket: Duplex,
    readonly remote: string,
    readonly local: string,
    options: MessageStreamOptions = {},
  ) {
    this.reader = new FrameReader((m) => this.handlers!.onMessage(m), { maxPayload: options.maxPayload });
    socket.pause();
    socket.on('error', (e) => this.finish(e));
    socket.on('close', () => this.finish(undefined));
    socket.on('end', () => {
      try {
        this.reader.end();
      } catch (e) {
        this.finish(e as Error);
      }
      socket.end();
    });
  }

  /** True once the stream is closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes queued or handed to the socket and not yet sent (for backpressure decisions). */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.queuedBytes;
  }

  /** Starts delivering messages. Call once. */
  start(handlers: StreamHandlers): void {
    if (this.handlers) throw new Error('MessageStream.start() called twice');
    this.handlers = handlers;
    if (this.closed) {
      queueMicrotask(() => handlers.onClose(this.closeError));
      return;
    }
    this.socket.on('data', (chunk: Buffer) => {
      try {
        this.reader.push(chunk);
      } catch (e) {
        // A framing error kills this connection only; the peer learns nothing more from us.
        this.destroy(e as QiProtocolError);
      }
    });
    this.socket.resume();
  }

  /**
   * Queues one message (as the buffers `encodeMessage` returns). Messages sent in the same tick are
   * written together. Returns false when the socket's buffer is over its high-water mark.
   * @throws {@link QiClosedError} when the stream is closed.
   */
  send(chunks: readonly Buffer[]): boolean {
    if (this.closed) throw new QiClosedError(`Cannot send to ${this.remote}: the connection is closed.`, this.closeError);
    if (this.queued.length === 0) process.nextTick(this.flush);
    for (const c of chunks) {
      this.queued.push(c);
      this.queuedBytes += c.length;
    }
    return this.socket.writableLength + this.queuedBytes < this.socket.writableHighWaterMark;
  }

  /**
   * Writes what was sent during this tick. Small messages are joined into one buffer (one write, one
   * syscall, no per-message stream overhead); big ones go out as they are, in one vectored write.
   */
  private readonly flush = (): void => {
    const queued = this.queued;
    const bytes = this.queuedBytes;
    this.queued = [];
    this.queuedBytes = 0;
    if (this.closed || queued.length === 0) return;
    if (queued.length === 1) {
      this.socket.write(queued[0]);
    } else if (bytes <= JOIN_LIMIT) {
      this.socket.write(Buffer.concat(queued, bytes));
    } else {
      this.socket.cork();
      for (const c of queued) this.socket.write(c);
      this.socket.uncork();
    }
  };

  /** Closes gracefully: pending writes are flushed first. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.socket.end();
    // A peer that never reads must not keep us half-open forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Closes at once, reporting `error` to the owner. */
  destroy(error?: Error): void {
    this.finish(error);
    this.socket.destroy();
  }

  private finish(error: Error | undefined): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    this.closeError = error;
    const h = this.handlers;
    if (h) h.onClose(error);
  }
}
