/**
 * Prints the top self-time functions of a V8 `.cpuprofile` (from `node --cpu-prof`).
 *
 *   node dist/bench/cpuprofile-top.js <file.cpuprofile> [--filter=/dist/src/] [--top=15]
 *
 * Percentages are of the BUSY time (every sample except `(idle)`). Two views of the code matching --filter:
 * self time, and "self + callees outside the filter" (node internals, GC excluded: each such sample is charged to
 * the nearest matching caller), which shows e.g. which of our functions pays for socket writes or AbortSignals.
 */
import { readFileSync } from 'node:fs';
import { flag, num } from './harness.js';

interface Node {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: cpuprofile-top.js <file.cpuprofile> [--filter=substring] [--top=N]');
const filter = flag('filter') || '/dist/src/';
const top = num('top', 15);

const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const keyOf = (n: Node) => {
  const cf = n.callFrame;
  return cf.url === ''
    ? cf.functionName || '(anonymous)'
    : `${cf.url.replace(/^file:\/\//, '')}:${cf.functionName || '(anonymous)'}:${cf.lineNumber + 1}`;
};
const self = new Map<string, number>();
const charged = new Map<string, number>();
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
let total = 0;
let idle = 0;
for (let i = 0; i < p.samples.length; i++) {
  const dt = p.timeDeltas[i + 1] ?? 0; // time until the next sample is charged to this one
  const node = byId.get(p.samples[i])!;
  const key = keyOf(node);
  if (key === '(idle)') {
    idle += dt;
    continue;
  }
  total += dt;
  add(self, key, dt);
  if (key === '(garbage collector)' || key === '(program)') continue;
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const k = keyOf(byId.get(id)!);
    if (k.includes(filter)) {
      add(charged, k, dt);
      break;
    }
  }
}
const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
const pct = (x: number) => `${((100 * x) / total).toFixed(1).padStart(5)}%`;
const short = (k: string) =>
  k.includes(filter)
    ? k.slice(k.indexOf(filter) + filter.length)
    : k.includes('/dist/')
      ? k.slice(k.indexOf('/dist/') + 1)
      : k.replace(/^.*node:/, 'node:');
const rows = sorted(self);
const ours = rows.filter(([k]) => k.includes(filter));
console.log(
  `${file}: busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms; % below are of busy time`,
);
console.log(`self time in *${filter}*: ${pct(ours.reduce((s, r) => s + r[1], 0))}; top ${top}:`);
for (const [k, v] of ours.slice(0, top)) console.log(`  ${pct(v)}  ${short(k)}`);
console.log(`self + non-${filter} callees, top ${top}:`);
for (const [k, v] of sorted(charged).slice(0, top)) console.log(`  ${pct(v)}  ${short(k)}`);
console.log('top self time overall:');
for (const [k, v] of rows.slice(0, 8)) console.log(`  ${pct(v)}  ${short(k)}`);
