/**
 * The reading side of a stream: an async iterator over the chunks of a stream object, wherever it is
 * (in-process, across a connection, behind a gateway). It grants the writer at most `credit` chunks at a
 * time (chunks held here plus chunks asked for in `next` calls) and keeps up to two `next` calls in
 * flight so that the pipe stays full; `return()` (a `break` out of `for await`) closes the writer side.
 */
import { Builtin, InProcessBackend, LocalObject, backendOf, type ObjectBackend } from '../object/index.js';
import { QiStreamBrokenError, QiStreamError } from './errors.js';
import { DEFAULT_CREDIT, STREAM_METHODS, type StreamBatch, type StreamRef } from './protocol.js';

/** Options of {@link openStream}. */
export interface OpenStreamOptions {
  /** Most chunks held here or asked for at once (default 16): the writer never sends more. */
  credit?: number;
  /** Aborting it closes the stream, as `return()` does. */
  signal?: AbortSignal;
  /** Name in error texts (default: the object's name, e.g. `object 2.3`). */
  name?: string;
}

/** An open stream: iterate it with `for await`; `return()` (or `break`) closes it at the writer. */
export class QiStreamReader<T> implements AsyncIterableIterator<T> {
  /** Most chunks held or requested at once. */
  readonly credit: number;
  readonly name: string;
  private readonly backend: ObjectBackend;
  private buffer: T[] = [];
  private head = 0;
  private requested = 0;
  private inFlight = 0;
  private expected = 0n;
  private ended = false;
  private closed = false;
  private failure: Error | undefined;
  private waiter: { resolve(r: IteratorResult<T>): void; reject(e: unknown): void } | undefined;
  private maxHeld = 0;

  /**
   * The proxy the stream came as, kept while the stream is read: a proxy that is garbage-collected
   * releases its remote object (libqi's terminate), which would end the stream under our feet.
   */
  private holder: object | undefined;

  constructor(backend: ObjectBackend, options: OpenStreamOptions = {}, holder?: object) {
    this.backend = backend;
    this.holder = holder;
    this.credit = Math.max(1, Math.floor(options.credit ?? DEFAULT_CREDIT));
    this.name = options.name ?? backend.name;
    const signal = options.signal;
    if (signal?.aborted) void this.return();
    else signal?.addEventListener('abort', () => void this.return(), { once: true });
    this.pump();
    // Kept pending while we read: a relay that loses us cancels it (the writer stops), and a connection
    // lost anywhere on the way fails it, even while we hold our whole credit and ask for nothing.
    this.backend.call(STREAM_METHODS.finished, []).then(
      () => {},
      (e: unknown) => this.lost(e),
    );
  }

  /** Chunks received and not yet read. */
  get buffered(): number {
    return this.buffer.length - this.head;
  }

  /** Most chunks ever held here at once (never above `credit`). */
  get peakBuffered(): number {
    return this.maxHeld;
  }

  /** Chunks received so far (the sequence number of the next one). */
  get received(): bigint {
    return this.expected;
  }

  /** How the stream is reached: `local` or the peer's URL. */
  get route(): string {
    return this.backend.route;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.buffer.length) {
      const value = this.buffer[this.head];
      this.buffer[this.head++] = undefined as T;
      if (this.head === this.buffer.length) {
        this.buffer = [];
        this.head = 0;
      }
      this.pump();
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) {
      const f = this.failure;
      this.failure = undefined;
      this.closed = true;
      return Promise.reject(f);
    }
    if (this.ended || this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Closes the stream: the writer's pending and future writes fail; chunks still here are dropped. */
  async return(): Promise<IteratorResult<T>> {
    const wasOpen = !this.closed && !this.ended;
    this.closed = true;
    this.buffer = [];
    this.head = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ value: undefined, done: true });
    if (wasOpen) await this.backend.call(STREAM_METHODS.close, [], { timeoutMs: 5000 }).catch(() => {});
    this.release();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Asks for more while the credit allows: a second call goes out once half the credit is free. */
  private pump(): void {
    while (!this.ended && !this.closed && this.inFlight < 2) {
      const free = this.credit - this.buffered - this.requested;
      if (free <= 0 || (this.inFlight > 0 && free < Math.ceil(this.credit / 2))) return;
      this.ask(free);
    }
  }

  private ask(max: number): void {
    this.requested += max;
    this.inFlight++;
    (this.backend.call(STREAM_METHODS.next, [max]) as Promise<StreamBatch<T>>).then(
      (b) => {
        this.requested -= max;
        this.inFlight--;
        this.onBatch(b, max);
      },
      (e: unknown) => {
        this.requested -= max;
        this.inFlight--;
        this.lost(e);
      },
    );
  }

  private lost(e: unknown): void {
    if (this.closed || this.ended) return;
    const text = e instanceof Error ? e.message : String(e);
    this.fail(new QiStreamBrokenError(`Lost the stream ${this.name} after ${this.expected} chunks: ${text}`, e));
  }

  private onBatch(b: StreamBatch<T>, max: number): void {
    if (this.closed || this.ended) return;
    if (b.seq !== this.expected) {
      return this.fail(
        new QiStreamBrokenError(
          `Chunks of ${this.name} were lost or reordered: expected chunk #${this.expected}, got #${b.seq}.`,
        ),
      );
    }
    if (b.chunks.length > max) {
      return this.fail(
        new QiStreamBrokenError(`The writer of ${this.name} sent ${b.chunks.length} chunks for a credit of ${max}.`),
      );
    }
    this.expected += BigInt(b.chunks.length);
    for (const c of b.chunks) this.buffer.push(c);
    if (this.buffered > this.maxHeld) this.maxHeld = this.buffered;
    if (b.end) {
      this.ended = true;
      this.release();
      if (b.error !== '') this.failure = new QiStreamError(this.name, b.error);
    }
    this.wake();
    this.pump();
  }

  private release(): void {
    this.holder = undefined;
  }

  private fail(e: Error): void {
    this.ended = true;
    this.release();
    this.failure = e;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    if (w === undefined) return;
    this.waiter = undefined;
    this.next().then(w.resolve, w.reject);
  }
}

/**
 * Opens a stream returned by a method (`for await (const chunk of openStream(await camera.frames()))`):
 * accepts the proxy a remote call gives, or the {@link QiStream} itself when the service is in-process.
 */
export function openStream<T>(ref: StreamRef<T> | object, options: OpenStreamOptions = {}): QiStreamReader<T> {
  let backend: ObjectBackend | undefined;
  if (ref instanceof LocalObject) backend = new InProcessBackend(ref, options.name ?? 'stream');
  else backend = backendOf(ref);
  if (backend === undefined) {
    throw new TypeError(
      `openStream expects what a method returning a stream gave (a proxy of a stream object, or a QiStream in-process), got ${ref === null ? 'null' : typeof ref}.`,
    );
  }
  const next = backend.type.methodsByName.get(STREAM_METHODS.next)?.[0];
  if (
    next === undefined ||
    !next.meta.returnSignature.startsWith('(L[') ||
    !backend.type.methodsByName.has(STREAM_METHODS.close) ||
    !backend.type.methodsByName.has(STREAM_METHODS.finished)
  ) {
    throw new TypeError(
      `${backend.name} is not a stream: it has no next(I) -> (L[T]bs), close() and finished() methods (its methods: ${[...backend.type.methodsByName.keys()].filter((n) => !(n in Builtin)).join(', ')}).`,
    );
  }
  return new QiStreamReader<T>(backend, options, ref);
}
