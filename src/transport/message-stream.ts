/**
 * A connection carrying qi messages over any byte stream (TCP, TLS, unix socket). Incoming bytes go
 * through a FrameReader; outgoing messages written in the same tick leave in one vectored write.
 */
import { cutThrough } from './cut-through.js';
import { kernelTcp, type TcpEnds } from './tcp-queue.js';
import type { Duplex } from 'node:stream';
import {
  FrameReader,
  HEADER_SIZE,
  QiProtocolError,
  writeMessageHeader,
  type Message,
  type MessageFields,
} from '../message/index.js';
import type { DirectRead } from './direct-read.js';
import { QiClosedError } from './errors.js';
import { remoteHost } from './peer.js';

/** Messages sent in one tick are joined into one write up to this many bytes; beyond, they go out as they are. */
const JOIN_LIMIT = 64 * 1024;
/** Largest buffer small messages of one tick are copied into. */
const ACC_SIZE = 16 * 1024;
/**
 * The least first buffer of a tick: small enough to come from Node's buffer pool (most ticks send one small
 * message). A tick's first buffer is as big as what the previous tick sent (up to ACC_SIZE), so that a
 * connection sending bursts of small messages (calls in flight, their answers) fills one buffer per tick: one
 * allocation, and one write with no join.
 */
const ACC_FIRST = 2 * 1024;
/** A tick that sent this much keeps its shared buffer for the next one (smaller ones come from Node's pool). */
const SPARE_MIN = 4 * 1024; // Node's pool serves allocations under Buffer.poolSize / 2 = 4 KiB

/** What a stream reports to its owner. */
export interface StreamHandlers {
  /** Each whole message, in order. Must not throw. */
  onMessage(message: Message): void;
  /** Once, when the stream is closed; `error` says why when it was not a clean close. */
  onClose(error?: Error): void;
}

/** Options of a {@link MessageStream}. */
export interface MessageStreamOptions {
  /** Largest payload accepted from the peer (default: `QI_MAX_MESSAGE_PAYLOAD` or 50,000,000). */
  maxPayload?: number;
  /** Set when the socket was created with this `onread` sink; messages then come through it, not `data` events. */
  directRead?: DirectRead;
  /**
   * The socket is a plain `net.Socket` (TCP or unix, no TLS, no tunnel): a buffer it was given is free again
   * once `write()` returned with nothing left pending, so the stream may fill it again. Default false.
   */
  plainSocket?: boolean;
}

/** What the code that made a connection knows of its peer beyond its URL. */
export interface StreamPeer {
  /**
   * The peer's address, as per-address budgets count it: the IP address of a network peer (as
   * `plainAddress` writes it), or an identity such as an XMPP JID. Default: the host part of `remote`.
   */
  peerAddress?: string;
}

/** A connected byte stream carrying qi messages: framing on read, one write per tick on send. */
export class MessageStream {
  private handlers: StreamHandlers | null = null;
  private readonly reader: FrameReader;
  private readonly directRead: DirectRead | undefined;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  /** Shared buffer of this tick's small messages. */
  private acc: Buffer | null = null;
  private accLen = 0;
  private accStart = 0;
  /** Size of the next shared buffer: doubles within a tick up to ACC_SIZE; see ACC_FIRST. */
  private accNext = ACC_FIRST;
  /**
   * Whole messages sent as they were received, one run of adjacent ones (`runBuf[runStart, runEnd)`), queued as one
   * view (see {@link sendMessage}). At most one of the run and the shared buffer's unqueued part is not empty.
   */
  private runBuf: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;
  /** A shared buffer the socket is done with (see `plainSocket`), filled again next tick instead of a new one. */
  private spare: Buffer | null = null;
  private readonly plainSocket: boolean;
  private closed = false;
  /** close() was called: what was queued is flushed, nothing more is accepted. */
  private ending = false;
  private closeError: Error | undefined;
  /** Reading is held until what is queued for the peer drains (see holdReading). */
  private holding = false;
  private authHook: (() => void) | undefined;
  private peer: string | undefined;
  private closeListeners: ((error?: Error) => void)[] | undefined;
  /** Bytes read from the socket (when it is not read through `directRead`, which counts its own). */
  private bytesIn = 0;
  /** Bytes handed to the socket so far, and what {@link progress} saw of it last time. */
  private written = 0;
  private lastOut = 0;
  private lastWaiting = 0;
  private lastInUv = 0;
  private drained = 0;
  private lastBase = -1;
  /** What the kernel held for the peer at the last sample (see {@link progress}). */
  private lastKernel: number | undefined;
  private kernelTaken = 0;

  /**
   * @param socket the connected byte stream (already past any TLS handshake)
   * @param remote the peer, as a URL, for error messages
   * @param local this side, as a URL
   * @param options framing and reading options, and what the maker knows of the peer ({@link StreamPeer})
   */
  constructor(
    readonly socket: Duplex,
    readonly remote: string,
    readonly local: string,
    options: MessageStreamOptions & StreamPeer = {},
  ) {
    this.reader = new FrameReader((m) => this.handlers!.onMessage(m), { maxPayload: options.maxPayload });
    this.directRead = options.directRead;
    this.plainSocket = options.plainSocket === true;
    this.peer = options.peerAddress;
    // A socket handed over after it closed never emits 'close' again: the stream is closed from the start
    // (start() and whenClosed() then report it at once), so that nothing waits for it or counts it open.
    this.closed = socket.destroyed;
    socket.pause();
    socket.on('error', (e) => this.finish(e));
    socket.on('close', () => this.finish(undefined));
    socket.on('drain', () => this.release());
    socket.on('end', () => {
      try {
        this.reader.end();
      } catch (e) {
        this.finish(e as Error);
      }
      socket.end();
    });
  }

  /**
   * The peer's address (see {@link StreamPeer.peerAddress}): what per-address budgets (a
   * gateway's connection slots and authentication throttle) count.
   */
  get peerAddress(): string {
    return (this.peer ??= remoteHost(this.remote));
  }

  /**
   * Calls `listener` once the stream is closed (at once, in a microtask, if it already is), whether or
   * not it was ever started; `error` says why when it was not a clean close.
   */
  whenClosed(listener: (error?: Error) => void): void {
    if (this.closed) queueMicrotask(() => listener(this.closeError));
    else (this.closeListeners ??= []).push(listener);
  }

  /** True once the stream is closed, or closing (nothing more can be sent). */
  get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** Bytes queued or handed to the socket and not yet sent (for backpressure decisions). */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.queuedBytes;
  }

  /** Bytes of the message being received that have not arrived yet (a large message coming in: see session/lane.ts). */
  get receiving(): number {
    return this.reader.missing;
  }

  /**
   * Bytes read from the peer, and bytes of ours that left this process (for a progress display; `sent`
   * follows a large write as it goes where the system says, else counts it when it ends).
   */
  get traffic(): { received: number; sent: number } {
    return { received: this.bytesRead, sent: this.written - (this.inUv ?? this.socket.writableLength) };
  }

  /** Bytes read from the socket so far. */
  private get bytesRead(): number {
    return this.directRead?.bytes ?? this.bytesIn;
  }

  /** Bytes of the write in progress that libuv still holds (a plain socket's handle says), if known. */
  private get inUv(): number | undefined {
    const queued = (this.socket as { _handle?: { writeQueueSize?: unknown } })._handle?.writeQueueSize;
    return typeof queued === 'number' ? queued : undefined;
  }

  /**
   * A number that moves when the peer shows it is alive at the byte level, even in the middle of a
   * message: bytes read from it, and bytes of ours that left the socket's buffer after waiting there (the
   * peer is taking them, also inside one large write). Bytes handed on to an empty buffer do not count:
   * the kernel takes those whether or not a peer is still there; when nothing else moved, what the kernel
   * still holds for a TCP peer going down counts (Linux: a large message that left our process, still
   * crossing a slow link). Read it now and then (a heartbeat), not per message: each read samples the
   * socket's buffers.
   */
  get progress(): number {
    const waiting = this.socket.writableLength;
    const out = this.written - waiting;
    if (this.lastWaiting > 0 && out > this.lastOut) this.drained += out - this.lastOut;
    this.lastOut = out;
    this.lastWaiting = waiting;
    // Inside one large write, Node's count moves only when it ends; libuv's queue shows it going out.
    const inUv = this.inUv ?? 0;
    if (inUv < this.lastInUv) this.drained += this.lastInUv - inUv;
    this.lastInUv = inUv;
    // A stream with its own acknowledgements (an XMPP bytestream) counts what the peer took.
    const taken = (this.socket as { bytesTaken?: unknown }).bytesTaken;
    const base = this.bytesRead + this.drained + (typeof taken === 'number' ? taken : 0);
    if (base !== this.lastBase) {
      this.lastBase = base;
      this.lastKernel = undefined;
    } else {
      const held = kernelTcp(this.socket as TcpEnds)?.queued;
      if (held !== undefined && this.lastKernel !== undefined && held < this.lastKernel)
        this.kernelTaken += this.lastKernel - held;
      this.lastKernel = held;
    }
    return base + this.kernelTaken;
  }

  /**
   * Stops reading from the peer until what is queued for it has drained (the socket's buffer is back
   * under its high-water mark): backpressure on a peer that asks for more than it reads.
   */
  holdReading(): void {
    if (this.holding || this.closed || this.handlers === null) return;
    this.holding = true;
    this.socket.pause();
  }

  private release(): void {
    if (!this.holding || this.closed) return;
    this.holding = false;
    this.socket.resume();
  }

  /** Starts delivering messages. Call once. */
  start(handlers: StreamHandlers): void {
    if (this.handlers) throw new Error('MessageStream.start() called twice');
    this.handlers = handlers;
    if (this.closed) {
      queueMicrotask(() => handlers.onClose(this.closeError));
      return;
    }
    // A framing error kills this connection only; the peer learns nothing more from us.
    if (this.directRead) this.directRead.attach(this.reader, (e) => this.destroy(e as QiProtocolError));
    else
      this.socket.on('data', (chunk: Buffer) => {
        this.bytesIn += chunk.length;
        try {
          this.reader.push(chunk);
        } catch (e) {
          this.destroy(e as QiProtocolError);
        }
      });
    this.socket.resume();
  }

  /**
   * Queues one message (as the buffers `encodeMessage` returns). Messages sent in the same tick are
   * written together. Returns false when the socket's buffer is over its high-water mark.
   * @param lent some of `chunks` may be views on the buffer {@link lend} gave: it is not lent or filled again
   * @throws {@link QiClosedError} when the stream is closed.
   */
  send(chunks: readonly Buffer[], lent = false): boolean {
    this.checkOpen();
    this.schedule();
    this.cut();
    if (lent) this.acc = null;
    for (const c of chunks) {
      this.queued.push(c);
      this.queuedBytes += c.length;
    }
    return this.socket.writableLength + this.queuedBytes < this.socket.writableHighWaterMark;
  }

  /**
   * Lends the tick's shared buffer to write one message in place, from {@link lentAt}, with room for at least
   * `n` bytes (it may be written past that only if it is then sent with {@link send}, `lent` set): then
   * {@link commit} queues it, with no copy. Nothing else may be sent in between.
   * @throws {@link QiClosedError} when the stream is closed.
   */
  lend(n: number): Buffer {
    this.checkOpen();
    if (this.runBuf !== null) this.cut();
    return this.acc === null || this.accLen + n > this.acc.length ? this.newAcc(n) : this.acc;
  }

  /** Where a message written in the buffer {@link lend} gave starts. */
  get lentAt(): number {
    return this.accLen;
  }

  /** Queues the message written in the lent buffer from {@link lentAt} to `end`. */
  commit(end: number): boolean {
    this.schedule();
    this.queuedBytes += end - this.accLen;
    this.accLen = end;
    return this.socket.writableLength + this.queuedBytes < this.socket.writableHighWaterMark;
  }

  /**
   * Queues a copy of `bytes[start, end)` (one whole message). Small messages sent this way in one tick
   * share one buffer and one write, with no buffer per message.
   */
  sendCopy(bytes: Buffer, start: number, end: number): boolean {
    this.checkOpen();
    this.schedule();
    if (this.runBuf !== null) this.cut();
    const n = end - start;
    const acc = this.acc === null || this.accLen + n > this.acc.length ? this.newAcc(n) : this.acc;
    bytes.copy(acc, this.accLen, start, end);
    this.accLen += n;
    this.queuedBytes += n;
    return this.socket.writableLength + this.queuedBytes < this.socket.writableHighWaterMark;
  }

  /**
   * Queues a message made of header fields and a payload already encoded (what a gateway forwards). When `payload`
   * is the payload of `from`, a message received whole in one read, its header is rewritten in place and the
   * received bytes are sent as they are, adjacent ones in one piece; else a small payload is copied next to its
   * header in the tick's shared buffer, and a large one is sent as is. What is queued is written before the
   * tick ends once it reaches the process's cut-through size, on a plain socket (see cut-through.ts).
   */
  sendMessage(fields: MessageFields, payload: Buffer, from?: Message): boolean {
    this.checkOpen();
    this.schedule();
    const n = HEADER_SIZE + payload.length;
    if (from !== undefined && from.size === payload.length && from.rewriteHeader(fields, this.inPlace)) {
      // queued by inPlace
    } else if (payload.length >= ACC_SIZE) {
      this.cut();
      const head = Buffer.allocUnsafe(HEADER_SIZE);
      writeMessageHeader(head, 0, fields, payload.length);
      this.queued.push(head, payload);
    } else {
      if (this.runBuf !== null) this.cut();
      const acc = this.acc === null || this.accLen + n > this.acc.length ? this.newAcc(n) : this.acc;
      writeMessageHeader(acc, this.accLen, fields, payload.length);
      payload.copy(acc, this.accLen + HEADER_SIZE);
      this.accLen += n;
    }
    this.queuedBytes += n;
    // A forwarder with time to spare lets the next process start on the first messages of a burst; only on
    // plain sockets, where a write is one system call (on TLS, WebSocket or XMPP it is also a record, a frame
    // or a stanza).
    const cut = cutThrough.bytes;
    if (cut > 0 && this.plainSocket && this.queuedBytes >= cut) this.flush();
    return this.socket.writableLength + this.queuedBytes < this.socket.writableHighWaterMark;
  }

  private checkOpen(): void {
    if (this.closed || this.ending)
      throw new QiClosedError(`Cannot send to ${this.remote}: the connection is closed.`, this.closeError);
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flush);
    }
  }

  /** Queues what the shared buffer holds and starts a new one with room for at least `n` bytes. */
  private newAcc(n: number): Buffer {
    this.cut();
    this.accLen = this.accStart = 0;
    const size = Math.max(this.accNext, n);
    this.accNext = Math.min(ACC_SIZE, size * 2);
    const spare = this.spare;
    this.spare = null;
    return (this.acc = spare !== null && spare.length >= size ? spare : Buffer.allocUnsafe(size));
  }

  /** Ends the current shared buffer, or run: what it holds is queued before anything sent after. */
  private cut(): void {
    if (this.acc !== null && this.accLen > this.accStart) {
      this.queued.push(this.acc.subarray(this.accStart, this.accLen));
      this.accStart = this.accLen;
    }
    if (this.runBuf !== null) {
      this.queued.push(this.runBuf.subarray(this.runStart, this.runEnd));
      this.runBuf = null;
    }
  }

  /** Adds a message sent as it was received (`bytes[from, to)`) to the run, or starts a run. */
  private readonly inPlace = (bytes: Buffer, from: number, to: number): void => {
    if (this.runBuf === bytes && this.runEnd === from) {
      this.runEnd = to;
      return;
    }
    this.cut();
    this.runBuf = bytes;
    this.runStart = from;
    this.runEnd = to;
  };

  /**
   * Writes what was sent during this tick: one write when it fits in one buffer, else one vectored
   * write of the pieces as they are.
   */
  private readonly flush = (): void => {
    this.scheduled = false;
    this.cut();
    const queued = this.queued;
    const bytes = this.queuedBytes;
    this.queued = [];
    this.queuedBytes = 0;
    // The shared buffer now belongs to the socket; it is the next tick's again only if the socket is done with it.
    const acc = this.acc;
    this.acc = null;
    this.accLen = this.accStart = 0;
    this.accNext = Math.min(ACC_SIZE, Math.max(ACC_FIRST, bytes));
    if (this.closed || queued.length === 0 || this.socket.writableEnded) return;
    this.written += bytes;
    let below = true;
    let copied = false;
    if (queued.length === 1) {
      below = this.socket.write(queued[0]);
    } else if (bytes <= JOIN_LIMIT) {
      below = this.socket.write(Buffer.concat(queued, bytes));
      copied = true;
    } else {
      this.socket.cork();
      for (const c of queued) below = this.socket.write(c);
      this.socket.uncork();
    }
    // Kept after a burst (a buffer this size is not from Node's pool: it costs an allocation), when it was
    // written through to the kernel or joined into a copy: nothing refers to it any more.
    if (acc !== null && bytes >= SPARE_MIN && (copied || (this.plainSocket && this.socket.writableLength === 0)))
      this.spare = acc;
    // Under the high-water mark, no 'drain' will come: reading resumes now.
    if (below && this.holding) this.release();
  };

  /**
   * Says that the peer has authenticated (the server side of a channel calls it once the client is let
   * in): what a listener set with {@link onAuthenticated} runs then, once.
   */
  authenticated(): void {
    const f = this.authHook;
    this.authHook = undefined;
    f?.();
  }

  /** Sets what runs when the peer authenticates: a listener lifts its pre-authentication bounds. */
  onAuthenticated(f: () => void): void {
    this.authHook = f;
  }

  /** Closes gracefully: pending writes are flushed first. */
  close(): void {
    if (this.closed || this.ending) return;
    this.flush();
    this.ending = true;
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
    const listeners = this.closeListeners;
    this.closeListeners = undefined;
    if (listeners !== undefined) for (const l of listeners) l(error);
  }
}
