/**
 * A worker-thread pool for CPU-heavy methods: a method listed in `workers.methods` runs in one of
 * `size` threads, from a module that exports a function of the same name, so that a long computation
 * never blocks the event loop (and the other calls on it). Arguments and results are copied with the
 * structured clone algorithm; cancellation reaches the worker's function as an AbortSignal.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Options of a worker pool. */
export interface WorkerPoolOptions {
  /** The module (file URL or path) exporting one function per method listed. */
  module: string | URL;
  /** Names of the methods that run in the pool. */
  methods: readonly string[];
  /** Number of threads (default: the number of cores minus one, at least one). */
  size?: number;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve(v: unknown): void; reject(e: Error): void }>;
}

/**
 * Stands for a method that runs in the worker pool, in an implementation object:
 * `{ fib: inWorker, light: () => 1 }`. Calling it directly is an error.
 */
export const inWorker: (...args: unknown[]) => never = () => {
  throw new Error('this method runs in the worker pool; it is not called on the main thread');
};

const RUNNER = new URL('./worker-runner.js', import.meta.url);
let nextCall = 0;

/** A pool of worker threads running the methods listed in its options (see {@link WorkerPoolOptions}). */
export class WorkerPool {
  readonly methods: ReadonlySet<string>;
  private readonly slots: (Slot | undefined)[];
  private readonly module: string;

  constructor(options: WorkerPoolOptions) {
    this.methods = new Set(options.methods);
    this.module =
      options.module instanceof URL ? options.module.href : new URL(options.module, `file://${process.cwd()}/`).href;
    this.slots = new Array(Math.max(1, options.size ?? availableParallelism() - 1)).fill(undefined);
  }

  /** Runs `method` in the least busy thread. */
  run(method: string, args: unknown[], signal: AbortSignal): Promise<unknown> {
    const index = this.pick();
    const slot = (this.slots[index] ??= this.spawn(index));
    const id = ++nextCall;
    return new Promise((resolve, reject) => {
      const onAbort = () => slot.worker.postMessage({ id, abort: true });
      signal.addEventListener('abort', onAbort, { once: true });
      const done = () => signal.removeEventListener('abort', onAbort);
      slot.pending.set(id, { resolve: (v) => (done(), resolve(v)), reject: (e) => (done(), reject(e)) });
      slot.worker.postMessage({ id, method, args });
    });
  }

  private pick(): number {
    let best = 0;
    for (let i = 0; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s === undefined) return i;
      if (s.pending.size < this.slots[best]!.pending.size) best = i;
    }
    return best;
  }

  private spawn(index: number): Slot {
    const worker = new Worker(RUNNER, { workerData: { module: this.module } });
    worker.unref(); // idle workers must not keep the process alive
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (r: Reply) => {
      const p = slot.pending.get(r.id);
      if (p === undefined) return;
      slot.pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(new Error(r.error));
    });
    const fail = (why: string) => {
      if (this.slots[index] === slot) this.slots[index] = undefined; // the next call starts a fresh thread
      for (const p of slot.pending.values()) p.reject(new Error(`the worker thread running this method ${why}`));
      slot.pending.clear();
    };
    worker.on('error', (e) => fail(`failed: ${e.message}`));
    worker.on('exit', (code) => fail(`exited (code ${code})`));
    return slot;
  }

  /** Stops every thread. */
  async close(): Promise<void> {
    await Promise.all(this.slots.flatMap((s) => (s ? [s.worker.terminate()] : [])));
    this.slots.fill(undefined);
  }
}
