/**
 * The timing harness of every benchmark (no benchmark library). Each subject warms up, then all subjects of a row
 * run in interleaved rounds (the order rotates each round) so that drift (GC pressure, CPU frequency, a noisy
 * neighbour) hits them alike. Each round runs for a fixed time; the reported figure is the MEDIAN ops/s over the
 * rounds, with the spread (max - min) / median alongside. Synchronous subjects (the codec) run in batches between
 * clock reads ({@link measure}); asynchronous ones (calls, the raw socket floor) are {@link Runner}s
 * ({@link measureRunners}). Also here: command-line flags, the median, number formatting, the table printer and the
 * machine line every benchmark starts with.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/** Results are stored here so the optimizer cannot drop the measured calls. */
export let sink: unknown;

/** Timing of a row: warm-up, rounds and their length. */
export interface Options {
  /** Warm-up time per subject, ms (also used to calibrate the batch size). */
  warmupMs: number;
  /** Timed rounds per subject. */
  rounds: number;
  /** Time per round, ms. */
  roundMs: number;
}

/** The codec benchmark's timing. */
export const DEFAULTS: Options = { warmupMs: 150, rounds: 7, roundMs: 100 };

/** What {@link measure} gives for one synchronous subject. */
export interface Result {
  /** Median ops/s over the rounds. */
  opsPerSec: number;
  /** (max - min) / median of the per-round ops/s. */
  spread: number;
  /** ns per op at the median. */
  nsPerOp: number;
}

const now = process.hrtime.bigint;
const deadline = (ms: number) => now() + BigInt(Math.round(ms * 1e6));

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The `p` quantile of `xs` (0 the least, 0.5 the median, 1 the most): the element of sorted rank round(p (n - 1)). */
export function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round(p * (s.length - 1))];
}

/** (max - min) / median of `xs`. */
const spreadOf = (xs: number[], med: number) => (Math.max(...xs) - Math.min(...xs)) / med;

/** Runs `fn` in batches of `batch` calls until at least `ms` elapsed; returns [calls, elapsed ns]. */
function runFor(fn: () => unknown, batch: number, ms: number): [number, number] {
  const budget = BigInt(Math.round(ms * 1e6));
  const t0 = now();
  let calls = 0;
  let elapsed: bigint;
  do {
    for (let i = 0; i < batch; i++) sink = fn();
    calls += batch;
    elapsed = now() - t0;
  } while (elapsed < budget);
  return [calls, Number(elapsed)];
}

/** Measures several synchronous subjects that do the same logical work; results are in the order given. */
export function measure(fns: ReadonlyArray<() => unknown>, opts: Options = DEFAULTS): Result[] {
  // Warm-up, and a batch size that makes one batch take ~0.5 ms (keeps hrtime out of the loop).
  const batches = fns.map((fn) => {
    const [calls, ns] = runFor(fn, 1, opts.warmupMs);
    return Math.max(1, Math.floor((calls / ns) * 0.5e6));
  });
  const samples: number[][] = fns.map(() => []);
  for (let r = 0; r < opts.rounds; r++) {
    for (let k = 0; k < fns.length; k++) {
      const j = (k + r) % fns.length;
      const [calls, ns] = runFor(fns[j], batches[j], opts.roundMs);
      samples[j].push((calls * 1e9) / ns);
    }
  }
  return samples.map((s) => {
    const med = median(s);
    return { opsPerSec: med, spread: spreadOf(s, med), nsPerOp: 1e9 / med };
  });
}

// ---------------------------------------------------------------------------------------------
// Asynchronous subjects

/** An asynchronous subject: runs for ~ms and returns [operations completed, elapsed ns]. */
export type Runner = (ms: number) => Promise<[number, number]>;

/** One call at a time; the clock is read every `batch` calls. */
export function sequential(call: () => Promise<unknown>, batch = 1): Runner {
  return async (ms) => {
    const t0 = now();
    const end = t0 + BigInt(Math.round(ms * 1e6));
    let n = 0;
    let t: bigint;
    do {
      for (let i = 0; i < batch; i++) await call();
      n += batch;
    } while ((t = now()) < end);
    return [n, Number(t - t0)];
  };
}

/** `k` calls outstanding; each completion starts the next one until the deadline. */
export function inFlight(call: () => Promise<unknown>, k: number): Runner {
  return async (ms) => {
    const t0 = now();
    const end = deadline(ms);
    let n = 0;
    const worker = async () => {
      do {
        await call();
        n++;
      } while (now() < end);
    };
    await Promise.all(Array.from({ length: k }, worker));
    return [n, Number(now() - t0)];
  };
}

/**
 * `k` callback-style operations outstanding (`start(done)` begins one, `done` ends it); each completion starts the
 * next until the deadline, then the runner waits for the last ones. No promise per operation: the raw socket floor.
 */
export function callbacks(start: (done: () => void) => void, k: number): Runner {
  return (ms) =>
    new Promise((resolve) => {
      const t0 = now();
      const end = deadline(ms);
      let n = 0;
      let outstanding = 0;
      let stopped = false;
      const done = () => {
        n++;
        outstanding--;
        if (!stopped && now() >= end) stopped = true;
        if (!stopped) {
          outstanding++;
          start(done);
        } else if (outstanding === 0) {
          resolve([n, Number(now() - t0)]);
        }
      };
      for (let i = 0; i < k; i++) {
        outstanding++;
        start(done);
      }
    });
}

/** What {@link measureRunners} gives for one runner. */
export interface Measured {
  /** Median operations/s over the rounds. */
  ops: number;
  /** (max - min) / median of the per-round operations/s. */
  spread: number;
  /** Operations/s of each round, in round order (so that runners of one row can be paired by round). */
  samples: number[];
  /**
   * CPU time (µs, user + system, every thread) the runner's watched process used per operation during the
   * runner's own rounds (not its warm-up, not the other runners' rounds); undefined without a watched process or
   * off Linux. Scheduling noise barely moves it.
   */
  cpuPerCall?: number;
  /** The same for this process (the client side of every runner), from `process.cpuUsage()`. */
  selfCpuPerCall: number;
}

/** CPU time a process has used so far (µs, user + system, every thread), from /proc/<pid>/stat (Linux; USER_HZ 100). */
export function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state): utime is field 14, stime 15
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return undefined;
  }
}

/** This process's CPU time so far (µs, user + system, every thread). */
const selfMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * Warms each runner up, then runs them in interleaved rounds (order rotating): the median ops/s, spread and
 * per-round samples of each, and the CPU time per operation of this process and of `watch[j]` (a pid) during
 * runner j's rounds.
 */
export async function measureRunners(
  runners: Runner[],
  opts: Options,
  watch: Array<number | undefined> = [],
): Promise<Measured[]> {
  for (const r of runners) await r(opts.warmupMs);
  const samples: number[][] = runners.map(() => []);
  const calls = runners.map(() => 0);
  const cpu: Array<number | undefined> = runners.map((_, j) => (watch[j] === undefined ? undefined : 0));
  const self = runners.map(() => 0);
  for (let round = 0; round < opts.rounds; round++) {
    for (let k = 0; k < runners.length; k++) {
      const j = (k + round) % runners.length;
      const c0 = cpuMicros(watch[j]);
      const s0 = selfMicros();
      const [n, ns] = await runners[j](opts.roundMs);
      self[j] += selfMicros() - s0;
      const c1 = cpuMicros(watch[j]);
      cpu[j] = c0 !== undefined && c1 !== undefined && cpu[j] !== undefined ? cpu[j] + (c1 - c0) : undefined;
      samples[j].push((n * 1e9) / ns);
      calls[j] += n;
    }
  }
  return samples.map((s, j) => {
    const m = median(s);
    const c = cpu[j];
    return {
      ops: m,
      spread: spreadOf(s, m),
      samples: s,
      cpuPerCall: c === undefined ? undefined : c / calls[j],
      selfCpuPerCall: self[j] / calls[j],
    };
  });
}

/**
 * Operations/s of `fn` run `parallel` at a time for `seconds` (no warm-up, no rounds: the quick figure of the
 * XMPP and ICE benchmarks, whose paths are far slower than the clock).
 */
export async function rate(fn: () => Promise<unknown>, parallel: number, seconds: number): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (Date.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  return n / seconds;
}

// ---------------------------------------------------------------------------------------------
// Flags and output

/** `--name=value` or a bare `--name` (then ''); undefined without the flag. */
export function flag(name: string): string | undefined {
  const a = process.argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
}

/** The number given as `--name=N`, else `dflt`. */
export const num = (name: string, dflt: number): number => (flag(name) !== undefined ? Number(flag(name)) : dflt);

/** `x` with thousands separators and exactly `digits` decimals. */
export const fmt = (x: number, digits = 0): string =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `a` as a whole percentage of `b`, e.g. `87%`. */
export const pct = (a: number, b: number): string => `${fmt((a / b) * 100)}%`;

/** The machine line of a benchmark's header: node version, CPU count and model. */
export const machine = (): string => `node ${process.version}, ${cpus().length} CPU(s) ${cpus()[0]?.model ?? ''}`;

/** How {@link printTable} lays out a table. */
export interface TableStyle {
  /** Right-aligned columns (by index); the others are left-aligned. */
  right: boolean[];
  /** Between cells (default two spaces). */
  sep?: string;
  /** Between the dashes of the rule under the header (default `sep`). */
  ruleSep?: string;
}

/** Prints a header, a rule of dashes and the rows, each column as wide as its widest cell; no trailing blanks. */
export function printTable(head: string[], rows: string[][], style: TableStyle): void {
  const sep = style.sep ?? '  ';
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (style.right[i] ? c.padStart(w[i]) : c.padEnd(w[i])))
      .join(sep)
      .trimEnd();
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join(style.ruleSep ?? sep));
  for (const r of rows) console.log(line(r));
}
