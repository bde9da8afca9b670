/**
 * The XMPP and ICE benchmarks' comparison of paths to the same test Calculator (direct TCP, through Prosody, over a
 * direct link, …): the same three figures on each path, and one table with each path's figures over the first's.
 */
import type { AnyProxy } from '../src/index.js';
import { rate } from './harness.js';

/** What {@link measurePath} gives for one path. */
export interface PathFigures {
  /** Sequential `add` calls/s. */
  seq: number;
  /** `add` calls/s with 16 in flight. */
  par: number;
  /** MB/s (each way) of a 4 MiB `echoRaw`, 3 calls. */
  mbps: number;
}

/** Times `add` one at a time and 16 in flight (`seconds` each), then three 4 MiB `echoRaw` calls. */
export async function measurePath(p: AnyProxy, seconds: number): Promise<PathFigures> {
  await p.add(1, 1);
  const seq = await rate(() => p.add(1, 2), 1, seconds);
  const par = await rate(() => p.add(1, 2), 16, seconds);
  const big = Buffer.alloc(4 * 1024 * 1024, 7);
  const t0 = process.hrtime.bigint();
  const rounds = 3;
  for (let i = 0; i < rounds; i++) await p.echoRaw(big);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seq, par, mbps: (rounds * big.length) / 1e6 / s };
}

/** A path's column: its heading, the short name used in ratios, and its figures. */
export interface PathColumn {
  label: string;
  short: string;
  figures: PathFigures;
}

/** Prints the rows (sequential, 16 in flight, 4 MiB) of every path, each later path over the first, and µs/call. */
export function printPaths(paths: PathColumn[]): void {
  const [base, ...others] = paths;
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: n < 100 ? 1 : 0 });
  const c = (v: string) => v.padStart(16);
  const ratioHeads = others.map((p) => `${p.short}/${base.short}`);
  console.log(`row                 ${paths.map((p) => c(p.label)).join(' ')}   ${ratioHeads.join('  ')}`);
  const row = (name: string, k: keyof PathFigures, unit: string) =>
    console.log(
      `${name.padEnd(19)} ${paths.map((p) => c(`${f(p.figures[k])} ${unit}`)).join(' ')}   ${others
        .map((p, i) => (p.figures[k] / base.figures[k]).toFixed(3).padStart(ratioHeads[i].length))
        .join('  ')}`,
    );
  row('sequential add', 'seq', '/s');
  row('16 in flight add', 'par', '/s');
  row('4 MiB raw echo', 'mbps', 'MB/s');
  console.log(`µs per sequential call: ${paths.map((p) => `${f(1e6 / p.figures.seq)} ${p.short}`).join(', ')}`);
}
