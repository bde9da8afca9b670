/**
 * Small tools of every soak process: bounded waits, the seeded PRNG, statistics, error names, and memory and handle
 * samples.
 */
import { median } from '../../bench/harness.js';
import { QiError } from '../../src/index.js';
import { gc } from '../../test/helpers/gc.js';
import { Rng } from '../../test/helpers/rng.js';
import { MiB, type Sample } from './spec.js';

/** The median of samples (the benchmarks' one). */
export { median };

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `p`, or a rejection `<what>: no result within <ms> ms` once `ms` passed. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** What a load draws from: next() in [0, 1), int(lo, hi) in [lo, hi). */
export interface Random {
  next(): number;
  int(lo: number, hi: number): number;
}

/** A seeded PRNG (mulberry32): the same seed gives the same sizes, numbers and pauses. */
export function rng(seed: number): Random {
  const g = new Rng(seed);
  return { next: () => g.next(), int: (lo, hi) => lo + g.int(hi - lo) };
}

/** Least-squares slope of y over x. */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
}

/** The kind of an error, to count it by: a QiError's code, else the error's name, else its type. */
export function errorKind(e: unknown): string {
  if (e instanceof QiError) return e.code;
  if (e instanceof Error) return e.name;
  return typeof e;
}

/** `name: message` of an error, or the thing as a string. */
export function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** This process's memory and active handles, after a full GC. */
export function takeSample(): Sample {
  gc();
  const m = process.memoryUsage();
  const handles: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) handles[r] = (handles[r] ?? 0) + 1;
  return {
    t: Date.now(),
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    handles,
  };
}

/** Every handle of a sample. */
export const totalHandles = (s: Sample) => Object.values(s.handles).reduce((a, b) => a + b, 0);
/** The sockets among a sample's handles. */
export const socketHandles = (s: Sample) =>
  Object.entries(s.handles).reduce((a, [k, n]) => a + (/(TCPSocketWrap|PipeWrap|TLSWrap)$/.test(k) ? n : 0), 0);
/** Bytes as MiB with one decimal. */
export const mb = (n: number) => (n / MiB).toFixed(1);
