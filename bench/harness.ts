/**
 * A tiny timing harness (no benchmark library). Each subject is warmed up, then all subjects of a row
 * run in interleaved rounds (the order rotates each round) so that drift (GC pressure, CPU frequency,
 * a noisy neighbour) hits them alike. Each round runs for a fixed time; the reported figure is the
 * MEDIAN ops/s over the rounds, with the spread (max - min) / median alongside.
 */

/** Results are stored here so the optimizer cannot drop the measured calls. */
export let sink: unknown;

export interface Options {
  /** Warm-up time per subject, ms (also used to calibrate the batch size). */
  warmupMs: number;
  /** Timed rounds per subject. */
  rounds: number;
  /** Time per round, ms. */
  roundMs: number;
}

export const DEFAULTS: Options = { warmupMs: 150, rounds: 7, roundMs: 100 };

export interface Result {
  /** Median ops/s over the rounds. */
  opsPerSec: number;
  /** (max - min) / median of the per-round ops/s. */
  spread: number;
  /** ns per op at the median. */
  nsPerOp: number;
}

const now = process.hrtime.bigint;

/** Runs `fn` in batches of `batch` calls until at least `ms` elapsed; returns [calls, elapsed ns]. */
function runFor(fn: () => unknown, batch: number, ms: number): [number, number] {
  const budget = BigInt(Math.round(ms * 1e6));
  const t0 = now();
  let calls = 0;
  let elapsed = 0n;
  do {
    for (let i = 0; i < batch; i++) sink = fn();
    calls += batch;
    elapsed = now() - t0;
  } while (elapsed < budget);
  return [calls, Number(elapsed)];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Measures several subjects that do the same logical work; results are in the order given. */
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
    return { opsPerSec: med, spread: (Math.max(...s) - Math.min(...s)) / med, nsPerOp: 1e9 / med };
  });
}
