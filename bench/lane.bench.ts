/**
 * Lanes (docs/reliability.md, session/lane.ts): the latency of small calls made while a large message
 * crosses a slow link, without lanes (`laneBytes: 0`, as before) and with them, in the same run; then
 * what the choice costs a call when the connection is not busy (CPU per call, unthrottled loopback).
 *
 *   flock /work/bench.lock node dist/bench/lane.bench.js [--mib=4] [--rate=1] [--every=50] [--calls=20000]
 *
 * Slow link: a relay in this process that takes `--rate` MiB/s each way (test/helpers/throttle.ts). Each
 * mode: one call carrying `--mib` MiB, and a small call (add) every `--every` ms until it is answered.
 */
import net from 'node:net';
import { Session, listenStandalone, type AnyProxy, type SessionOptions } from '../src/index.js';
import { calculator } from '../test/object/calculator.js';
import { MiB, bulk } from '../test/helpers/lanes.js';
import { throttle } from '../test/helpers/throttle.js';
import { num } from './harness.js';

const SIZE = num('mib', 4) * MiB;
const RATE = num('rate', 1) * MiB;
const EVERY = num('every', 50);
const CALLS = num('calls', 20_000);

/** A relay to `port` at RATE bytes per second each way. */
async function slowRelay(port: number): Promise<net.Server> {
  const server = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    const end = () => (down.destroy(), up.destroy());
    for (const [from, to] of [
      [down, up],
      [up, down],
    ]) {
      throttle(from, RATE, (c) => void to.write(c));
      from.on('error', end).on('close', end);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

async function client(url: string, options: SessionOptions) {
  const s = await Session.connect(url, { ipc: false, lpc: false, ...options });
  return { s, big: (await s.service('Bulk')) as AnyProxy, calc: (await s.service('Calculator')) as AnyProxy };
}

/** Small call latencies (ms, sorted) while one large call crosses, and how long the large one took. */
async function slowLink(url: string, laneBytes: number | undefined) {
  const { s, big, calc } = await client(url, { laneBytes });
  const t0 = performance.now();
  let done = false;
  const large = big.size(Buffer.alloc(SIZE, 1)).then(() => (done = true));
  const small: Promise<number>[] = [];
  while (!done) {
    const at = performance.now();
    small.push(calc.add(1, 2).then(() => performance.now() - at));
    await new Promise((r) => setTimeout(r, EVERY));
  }
  await large;
  const bigMs = performance.now() - t0;
  const lat = (await Promise.all(small)).sort((a, b) => a - b);
  await s.close();
  return { lat, bigMs };
}

/** CPU µs per small call on an idle, unthrottled connection. */
async function idleCost(url: string, laneBytes: number | undefined): Promise<number> {
  const { s, calc } = await client(url, { laneBytes });
  for (let i = 0; i < 2000; i++) await calc.add(i, 1);
  const c0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await calc.add(i, 1);
  const c = process.cpuUsage(c0);
  await s.close();
  return (c.user + c.system) / CALLS;
}

const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
await sd.registerService('Bulk', bulk());
await sd.registerService('Calculator', calculator());
const relay = await slowRelay(Number(new URL(sd.endpoints[0]).port));
const slowUrl = `tcp://127.0.0.1:${(relay.address() as net.AddressInfo).port}`;

console.log(`small calls (add) every ${EVERY} ms while ${SIZE / MiB} MiB cross a ${RATE / MiB} MiB/s link`);
const rows: Record<string, { lat: number[]; bigMs: number }> = {};
for (const [name, bytes] of [
  ['no lane (laneBytes 0)', 0],
  ['lane (default)', undefined],
] as const) {
  const r = (rows[name] = await slowLink(slowUrl, bytes));
  console.log(
    `${name.padEnd(22)} n=${String(r.lat.length).padStart(3)}  p50 ${pct(r.lat, 50).toFixed(0).padStart(5)} ms  p99 ${pct(r.lat, 99).toFixed(0).padStart(5)} ms  max ${r.lat.at(-1)!.toFixed(0).padStart(5)} ms  large call ${r.bigMs.toFixed(0)} ms`,
  );
}
const [off, on] = Object.values(rows);
console.log(
  `ratio no lane / lane: p50 ${(pct(off.lat, 50) / pct(on.lat, 50)).toFixed(0)}x, p99 ${(pct(off.lat, 99) / pct(on.lat, 99)).toFixed(0)}x; large call ${(on.bigMs / off.bigMs).toFixed(2)}x as long`,
);

const cost: Record<string, number[]> = { off: [], on: [] };
const ROUNDS = 5;
for (let round = 0; round < ROUNDS; round++) {
  // alternating which goes first: the machine's load drifts
  for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const))
    cost[mode].push(await idleCost(sd.endpoints[0], mode === 'off' ? 0 : undefined));
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[ROUNDS >> 1];
console.log(
  `idle connection, ${CALLS} sequential calls, median of ${ROUNDS} rounds: CPU per call ${med(cost.off).toFixed(1)} µs without lanes, ${med(cost.on).toFixed(1)} µs with (ratio ${(med(cost.on) / med(cost.off)).toFixed(3)})`,
);
relay.close();
await sd.close();
