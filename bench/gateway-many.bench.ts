/**
 * Several busy clients of one gateway at once, batching against cutting through (`cutThroughBytes`,
 * src/transport/cut-through.ts): the calls/s of all clients together, the figure that a gateway serving
 * many clients on a machine with no spare cores lives by. `npm run bench:gateway` measures one client.
 *
 *   node dist/bench/gateway-many.bench.js [--clients=4] [--in-flight=64] [--rounds=3] [--round-ms=3000] [--cut=256]
 *
 * Processes: the service + SD, two gateways (QI_CUT_THROUGH_BYTES 0 and --cut), and --clients caller
 * processes per gateway (bench/gateway-server.ts). Each round runs every caller of one gateway at once, then
 * those of the other (order alternating); the table shows the median over rounds and the ratio.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, spawnChild, stopChild, type Child } from './children.js';
import { fmt, machine, median, num } from './harness.js';

const GW_SERVER_JS = join(dirname(fileURLToPath(import.meta.url)), 'gateway-server.js');
const CLIENTS = num('clients', 4);
const IN_FLIGHT = num('in-flight', 64);
const ROUNDS = num('rounds', 3);
const ROUND_MS = num('round-ms', 3000);
const CUT = num('cut', 256);

/** A gateway child with QI_CUT_THROUGH_BYTES = `cut` (its environment is read when it starts). */
async function gateway(sd: string, cut: number): Promise<Child> {
  const saved = process.env.QI_CUT_THROUGH_BYTES;
  process.env.QI_CUT_THROUGH_BYTES = String(cut);
  try {
    return await spawnChild(GW_SERVER_JS, ['gateway', sd], { quiet: true });
  } finally {
    if (saved === undefined) delete process.env.QI_CUT_THROUGH_BYTES;
    else process.env.QI_CUT_THROUGH_BYTES = saved;
  }
}

async function main(): Promise<void> {
  console.log(`Gateway, many clients: ${machine()}; ${CLIENTS} clients x ${IN_FLIGHT} calls in flight per gateway`);
  const service = await spawnChild(GW_SERVER_JS, ['service'], { quiet: true });
  const sd = service.ready.sd as string;
  const modes = [0, CUT];
  const gws = await Promise.all(modes.map((cut) => gateway(sd, cut)));
  const callers = await Promise.all(
    gws.map((gw) =>
      Promise.all(
        Array.from({ length: CLIENTS }, () =>
          spawnChild(GW_SERVER_JS, ['caller', gw.ready.url as string, String(IN_FLIGHT)], { quiet: true }),
        ),
      ),
    ),
  );
  const rates: number[][] = modes.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const m of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const ran = await Promise.all(callers[m].map((c) => c.ask(`run ${ROUND_MS}`, 'RAN')));
      rates[m].push(ran.reduce((sum, x) => sum + (x.calls as number), 0) / (ROUND_MS / 1000));
    }
  }
  for (const [m, cut] of modes.entries())
    console.log(
      `cutThroughBytes ${String(cut).padStart(4)}: ${fmt(median(rates[m]))} calls/s in all (rounds: ${rates[m].map((x) => fmt(x)).join(', ')})`,
    );
  console.log(`cut through / batching: ${(median(rates[1]) / median(rates[0])).toFixed(2)}x`);
  for (const c of [...callers.flat(), ...gws, service]) await stopChild(c.child);
}

main().catch((e: unknown) => {
  console.error(e);
  killAll();
  process.exitCode = 1;
});
