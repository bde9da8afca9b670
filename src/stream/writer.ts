/**
 * The writing side of a stream: a {@link LocalObject} (so a method returns it like any object, by
 * reference) that queues at most `highWaterMark` chunks and hands them out to the reader's `next` calls,
 * never more than each call asks for. A slow reader therefore slows the writer: `write()` waits for room.
 */
import { QiLimitError, type Channel } from '../channel/index.js';
import { LocalObject, type CallContext, type QiType } from '../object/index.js';
import { QiValueError, type Codec } from '../type/index.js';
import { QiStreamClosedError } from './errors.js';
import {
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_BATCH_BYTES,
  chunkCodec,
  streamDefinition,
  type StreamBatch,
  type StreamEnd,
  type StreamRef,
} from './protocol.js';

/** Options of a {@link QiStream}. */
export interface QiStreamOptions {
  /** Chunks queued here before `write()` waits for the reader (default 16). */
  highWaterMark?: number;
  /** A batch stops growing at this many bytes of raw/string data (default 4 MiB; one chunk at least). */
  maxBatchBytes?: number;
  /**
   * The reader counts as gone after this many ms without any `next` call pending or arriving (default
   * 60,000; 0: never). A closed connection or a canceled `next` is noticed at once; this bounds the rest
   * (e.g. a client of a gateway that left while it was not reading).
   */
  idleTimeoutMs?: number;
  /** Name used in error texts (default `stream`). */
  name?: string;
}

interface WaitingWrite<T> {
  chunk: T;
  resolve(): void;
  reject(e: unknown): void;
}
interface WaitingRead {
  max: number;
  resolve(b: StreamBatch): void;
}

type State = 'open' | 'ending' | 'done' | 'closed';

const streamImplementation = {
  owner: undefined as unknown as QiStream,
  next(max: number, ctx: CallContext) {
    return this.owner.pull(max, ctx);
  },
  close(ctx: CallContext) {
    this.owner.watch(ctx.channel);
    this.owner.closeByReader('the reader closed the stream');
  },
  finished(ctx: CallContext) {
    return this.owner.whenFinished(ctx);
  },
};

/**
 * A stream of chunks of type `T`, offered by a service: return it from a method declared with
 * `stream(t.raw)` (or `t.object`), then `await s.write(chunk)` for each chunk and `s.end()` (or
 * `s.error(e)`). One reader per stream: give each caller a new one.
 */
export class QiStream<T = unknown> extends LocalObject implements StreamRef<T> {
  declare readonly __chunk?: T;
  /** Signature of every chunk, e.g. `r` or `(iir)<Frame,width,height,data>`. */
  readonly chunkSignature: string;
  /** Aborted when the reader closes the stream or goes away: producers can watch it to stop early. */
  readonly signal: AbortSignal;
  /** Resolves once the reader has taken every chunk and the end; rejects if it closed or left before. */
  readonly finished: Promise<void>;
  readonly highWaterMark: number;
  private readonly maxBatchBytes: number;
  private readonly idleTimeoutMs: number;
  private readonly label: string;
  private readonly check: Codec | undefined;
  private readonly chunks: T[] = [];
  private readonly writers: WaitingWrite<T>[] = [];
  private readonly readers: WaitingRead[] = [];
  /** Pending `finished` calls, answered when the stream is over. */
  private readonly watchers = new Set<() => void>();
  private readonly channels = new Map<Channel, () => void>();
  private readonly controller = new AbortController();
  private state: State = 'open';
  private errorText = '';
  private closeReason: QiStreamClosedError | undefined;
  private seq = 0n;
  private idle: NodeJS.Timeout | undefined;
  private settle!: { resolve(): void; reject(e: unknown): void };

  /**
   * @param chunk qi type of the chunks (`t.raw`, `t.struct(…)`, …) or its signature
   * @param options queue bound, batch size, reader idle timeout
   */
  constructor(chunk: QiType<T> | string, options: QiStreamOptions = {}) {
    const sig = typeof chunk === 'string' ? chunk : chunk.signature;
    super(streamDefinition(sig), { ...streamImplementation } as never);
    (this.implementation as unknown as typeof streamImplementation).owner = this;
    this.chunkSignature = sig;
    // Raw chunks are checked by kind (encoding one would copy it); objects need a connection to encode.
    this.check = sig === 'r' || sig.includes('o') ? undefined : chunkCodec(sig);
    this.highWaterMark = Math.max(1, Math.floor(options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK));
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.label = options.name ?? 'stream';
    this.signal = this.controller.signal;
    this.finished = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    this.finished.catch(() => {}); // nobody has to watch it
    this.armIdle();
  }

  /** Chunks waiting here for the reader (queued and in waiting writes): never more than twice the high-water mark. */
  get buffered(): number {
    return this.chunks.length + this.writers.length;
  }

  /** Chunks handed to the reader so far. */
  get delivered(): bigint {
    return this.seq;
  }

  /** True while `write()` may be called. */
  get writable(): boolean {
    return this.state === 'open';
  }

  /**
   * Queues a chunk. Resolves at once while fewer than `highWaterMark` chunks wait for the reader, else
   * when the reader has taken enough; rejects with {@link QiStreamClosedError} once the reader closed the
   * stream or went away, and with a `QiValueError` for a chunk that does not fit the signature.
   */
  write(chunk: T): Promise<void> {
    if (this.state !== 'open')
      return Promise.reject(
        this.closeReason ?? new QiStreamClosedError(`Cannot write to ${this.label}: it was ended by its writer.`),
      );
    try {
      this.validate(chunk);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.chunks.length < this.highWaterMark) {
      this.chunks.push(chunk);
      this.serve();
      return Promise.resolve();
    }
    if (this.writers.length >= this.highWaterMark) {
      return Promise.reject(
        new QiLimitError(
          `${this.label}: ${this.writers.length} writes are already waiting for the reader; await write() before writing more (the queue is bounded by highWaterMark ${this.highWaterMark}).`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => this.writers.push({ chunk, resolve, reject }));
  }

  /** Ends the stream: the reader gets every chunk written so far, then the end. */
  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    this.serve();
  }

  /** Ends the stream with an error: the reader gets the chunks written so far, then this error. */
  error(e: unknown): void {
    if (this.state !== 'open') return;
    this.errorText = e instanceof Error ? e.message || e.name : String(e);
    if (this.errorText === '') this.errorText = 'unknown error';
    this.end();
  }

  /** Closes the stream from the writer's side at once: queued chunks are dropped, the reader gets an error. */
  destroy(reason: unknown = new Error('the writer closed the stream')): void {
    if (this.state === 'done' || this.state === 'closed') return;
    this.chunks.length = 0;
    for (const w of this.writers.splice(0))
      w.reject(new QiStreamClosedError(`${this.label} was destroyed by its writer.`));
    this.state = 'open';
    this.error(reason);
  }

  /** `next(maxChunks)`: answers at once when chunks (or the end) are there, else when the writer writes. */
  pull(max: number, ctx: CallContext): StreamBatch | Promise<StreamBatch> {
    this.watch(ctx.channel);
    if (this.state === 'closed') throw new Error(`${this.label} is closed (${this.closeReason?.message ?? 'closed'})`);
    if (!(max >= 1)) throw new Error(`maxChunks must be at least 1, got ${max}`);
    if (this.chunks.length > 0 || this.state === 'ending' || this.state === 'done') {
      const b = this.take(max);
      this.armIdle();
      return b;
    }
    clearTimeout(this.idle);
    return new Promise<StreamBatch>((resolve) => {
      const signal = ctx.signal;
      const onAbort = () => {
        const i = this.readers.indexOf(read);
        if (i < 0) return;
        this.readers.splice(i, 1);
        this.closeByReader(gone(ctx, 'the reader canceled its read (or went away through a relay)'));
        resolve(this.endBatch());
      };
      // The listener goes with the answer: in-process calls share one signal that never aborts.
      const read: WaitingRead = { max, resolve: (b) => (signal.removeEventListener('abort', onAbort), resolve(b)) };
      this.readers.push(read);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** `finished()`: answers once the stream is over; its cancellation means the reader went away. */
  whenFinished(ctx: CallContext): StreamEnd | Promise<StreamEnd> {
    this.watch(ctx.channel);
    if (this.state === 'done' || this.state === 'closed') return this.endInfo();
    return new Promise<StreamEnd>((resolve) => {
      const signal = ctx.signal;
      const onAbort = () => {
        this.watchers.delete(answer);
        this.closeByReader(gone(ctx, 'the reader went away (its finished() call was canceled)'));
        resolve(this.endInfo());
      };
      const answer = () => (signal.removeEventListener('abort', onAbort), resolve(this.endInfo()));
      this.watchers.add(answer);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private endInfo(): StreamEnd {
    return {
      chunks: this.seq,
      error: this.state === 'closed' ? (this.closeReason?.message ?? 'closed') : this.errorText,
    };
  }

  /** Watches the connection a reader's call came on: its closing closes the stream. */
  watch(channel: Channel | undefined): void {
    if (channel === undefined || this.channels.has(channel) || this.state === 'done' || this.state === 'closed') return;
    this.channels.set(
      channel,
      channel.onClose(() => this.closeByReader(`the reader's connection (${channel.remote}) closed`)),
    );
  }

  /** The reader released the stream object (`terminate`; a gateway does it for a client that left). */
  override released(channel: Channel): void {
    this.closeByReader(`the reader released the stream (${channel.remote})`);
  }

  /** The reader closed the stream or went away: writes fail from now on, queued chunks are dropped. */
  closeByReader(why: string): void {
    if (this.state === 'done' || this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = new QiStreamClosedError(`${this.label}: ${why}; nothing more can be written.`);
    this.chunks.length = 0;
    for (const w of this.writers.splice(0)) w.reject(this.closeReason);
    for (const r of this.readers.splice(0)) r.resolve(this.endBatch());
    this.controller.abort(this.closeReason);
    this.settle.reject(this.closeReason);
    this.release();
  }

  private endBatch(): StreamBatch {
    return { seq: this.seq, chunks: [], end: true, error: this.state === 'closed' ? '' : this.errorText };
  }

  private validate(chunk: T): void {
    if (this.check !== undefined) this.check.encode(chunk);
    else if (this.chunkSignature === 'r' && !ArrayBuffer.isView(chunk) && !(chunk instanceof ArrayBuffer)) {
      throw new QiValueError(`a raw chunk must be a Uint8Array, Buffer or ArrayBuffer, got ${typeof chunk}`);
    }
  }

  /** Answers waiting `next` calls while there is something to give them. */
  private serve(): void {
    let served = false;
    while (this.readers.length > 0 && (this.chunks.length > 0 || this.state === 'ending')) {
      served = true;
      const r = this.readers.shift()!;
      r.resolve(this.take(r.max));
      if (this.state === 'done') {
        for (const other of this.readers.splice(0)) other.resolve(this.endBatch());
      }
    }
    if (served && this.readers.length === 0) this.armIdle();
  }

  /** Takes up to `max` chunks (bounded by bytes), lets waiting writes in, and ends when all is taken. */
  private take(max: number): StreamBatch {
    const chunks: T[] = [];
    let bytes = 0;
    while (chunks.length < max && this.chunks.length > 0 && (chunks.length === 0 || bytes < this.maxBatchBytes)) {
      const c = this.chunks.shift()!;
      bytes += sizeOf(c);
      chunks.push(c);
    }
    const seq = this.seq;
    this.seq += BigInt(chunks.length);
    while (this.writers.length > 0 && this.chunks.length < this.highWaterMark) {
      const w = this.writers.shift()!;
      this.chunks.push(w.chunk);
      w.resolve();
    }
    const end = this.state !== 'open' && this.chunks.length === 0;
    if (end && this.state === 'ending') {
      this.state = 'done';
      this.settle.resolve();
      this.release();
    }
    return { seq, chunks, end, error: end ? this.errorText : '' };
  }

  private armIdle(): void {
    clearTimeout(this.idle);
    if (this.idleTimeoutMs <= 0 || this.state === 'done' || this.state === 'closed') return;
    this.idle = setTimeout(() => {
      if (this.readers.length === 0)
        this.closeByReader(`no read for ${this.idleTimeoutMs} ms (idleTimeoutMs): the reader went away`);
    }, this.idleTimeoutMs);
    this.idle.unref();
  }

  private release(): void {
    clearTimeout(this.idle);
    const watchers = [...this.watchers];
    this.watchers.clear();
    for (const w of watchers) w();
    for (const off of this.channels.values()) off();
    this.channels.clear();
  }
}

/** Why a reader's call was canceled: its connection closed, or it (or a relay) canceled it. */
function gone(ctx: CallContext, otherwise: string): string {
  return ctx.channel?.closed ? `the reader's connection (${ctx.channel.remote}) closed` : otherwise;
}

/** Bytes of raw or string data in a chunk (and in the fields of a struct chunk), to bound batches. */
function sizeOf(c: unknown): number {
  if (typeof c === 'string') return c.length;
  if (ArrayBuffer.isView(c) || c instanceof ArrayBuffer) return c.byteLength;
  if (typeof c !== 'object' || c === null || Object.getPrototypeOf(c) !== Object.prototype) return 0;
  let n = 0;
  for (const v of Object.values(c)) {
    if (typeof v === 'string') n += v.length;
    else if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) n += v.byteLength;
  }
  return n;
}
