/**
 * The XMPP and ICE benchmarks' comparison of paths to the same test Calculator (direct TCP, through Prosody, over a
 * direct link, …): the same three figures on each path, and one table with each path's figures over the first's.
 */
import type { AnyProxy } from '../src/index.js';
import { cpuMicros, rate } from './harness.js';

/** What {@link measurePath} gives for one path. */
export interface PathFigures {
  /** Sequential `add` calls/s. */
  seq: number;
  /** `add` calls/s with 16 in flight. */
  par: number;
  /** MB/s (each way) of a 4 MiB `echoRaw`, 3 calls. */
  mbps: number;
  /**
   * CPU time (user + system, every thread) of the watched processes together, per row: µs per sequential
   * call, µs per call in flight, ms per MB echoed (each way); absent without watched pids (or off Linux).
   * Scheduling noise barely moves it, unlike the rates.
   */
  cpu?: { seq: number; par: number; mbps: number };
}

/**
 * Times `add` one at a time and 16 in flight (`seconds` each), then three 4 MiB `echoRaw` calls; with
 * `watch` (pids, e.g. this process and the server's), also the CPU time they used per operation.
 */
export async function measurePath(p: AnyProxy, seconds: number, watch: number[] = []): Promise<PathFigures> {
  const cpuNow = () => {
    let sum = 0;
    for (const pid of watch) {
      const us = cpuMicros(pid);
      if (us === undefined) return NaN;
      sum += us;
    }
    return sum;
  };
  await p.add(1, 1);
  let c0 = cpuNow();
  const seq = await rate(() => p.add(1, 2), 1, seconds);
  const seqCpu = (cpuNow() - c0) / (seq * seconds);
  c0 = cpuNow();
  const par = await rate(() => p.add(1, 2), 16, seconds);
  const parCpu = (cpuNow() - c0) / (par * seconds);
  const big = Buffer.alloc(4 * 1024 * 1024, 7);
  c0 = cpuNow();
  const t0 = process.hrtime.bigint();
  const rounds = 3;
  for (let i = 0; i < rounds; i++) await p.echoRaw(big);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const mb = (rounds * big.length) / 1e6;
  const echoCpu = (cpuNow() - c0) / 1000 / mb;
  const cpu = watch.length > 0 && !Number.isNaN(echoCpu) ? { seq: seqCpu, par: parCpu, mbps: echoCpu } : undefined;
  return { seq, par, mbps: mb / s, ...(cpu ? { cpu } : {}) };
}

/** A path's column: its heading, the short name used in ratios, and its figures. */
export interface PathColumn {
  label: string;
  short: string;
  figures: PathFigures;
}

/** Prints the rows (sequential, 16 in flight, 4 MiB) of every path, each later path over the first, µs/call and CPU. */
export function printPaths(paths: PathColumn[]): void {
  const [base, ...others] = paths;
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: n < 100 ? 1 : 0 });
  const c = (v: string) => v.padStart(16);
  const ratioHeads = others.map((p) => `${p.short}/${base.short}`);
  console.log(`row                 ${paths.map((p) => c(p.label)).join(' ')}   ${ratioHeads.join('  ')}`);
  const row = (name: string, get: (p: PathFigures) => number, unit: string) =>
    console.log(
      `${name.padEnd(19)} ${paths.map((p) => c(`${f(get(p.figures))} ${unit}`)).join(' ')}   ${others
        .map((p, i) => (get(p.figures) / get(base.figures)).toFixed(3).padStart(ratioHeads[i].length))
        .join('  ')}`,
    );
  row('sequential add', (p) => p.seq, '/s');
  row('16 in flight add', (p) => p.par, '/s');
  row('4 MiB raw echo', (p) => p.mbps, 'MB/s');
  if (paths.every((p) => p.figures.cpu !== undefined)) {
    console.log('CPU of the watched processes together (user + system, every thread; lower is better):');
    row('  per sequential', (p) => p.cpu!.seq, 'µs');
    row('  per call in flt', (p) => p.cpu!.par, 'µs');
    row('  per MB echoed', (p) => p.cpu!.mbps, 'ms');
  }
  console.log(`µs per sequential call: ${paths.map((p) => `${f(1e6 / p.figures.seq)} ${p.short}`).join(', ')}`);
}
