/**
 * The soak's coordinator: starts the server, the gateway and the loads (each a child process), samples every
 * process at a steady pace and prints a line per sample, fails as soon as a rule is broken, then stops the loads,
 * looks at the server and gateway with nobody connected, stops them, and prints the summary. Returns the exit code.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { roleArgv, type Options } from './args.js';
import { Bounds, finalChecks, rowProblem } from './checks.js';
import { Child } from './child-process.js';
import { header, line, sumStats, summary, type Row } from './report.js';
import { READY_TIMEOUT_MS, STOP_TIMEOUT_MS, type LoadStats, type Sample, type ServerExtra } from './spec.js';
import { describe, median, sleep } from './tools.js';

/** Runs the soak with options `o`; resolves with the exit code (0 pass, 1 fail). */
export async function coordinate(o: Options): Promise<number> {
  const t0 = Date.now();
  const children: Child[] = [];
  const failures: string[] = [];
  let failed: (() => void) | undefined;
  const failedEarly = new Promise<void>((r) => (failed = r));
  const fail = (why: string) => {
    if (failures.length < 50) failures.push(why);
    failed?.();
  };
  const killAll = () => {
    for (const c of children) c.kill();
  };
  process.on('exit', killAll);
  const interrupted = (sig: NodeJS.Signals) => {
    console.error(`\n${sig}: stopping the soak and its processes`);
    killAll();
    process.exit(130);
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  process.on('SIGHUP', interrupted);
  // The whole run has a deadline: the soak itself, plus starting and stopping every process.
  const deadlineMs = o.seconds * 1000 + READY_TIMEOUT_MS * 3 + STOP_TIMEOUT_MS + 30_000;
  const deadline = setTimeout(() => {
    console.error(`soak: not finished after ${Math.round(deadlineMs / 1000)} s; killing everything`);
    killAll();
    process.exit(1);
  }, deadlineMs);

  const trouble = (c: Child, what: string) => fail(`${c.name}: ${what}${c.exited && !c.leaving ? `\n${c.tail}` : ''}`);
  const spawn = (name: string, args: string[]) => {
    const c = new Child(name, args, trouble, o.verbose);
    children.push(c);
    return c;
  };
  const elapsed = () => (Date.now() - t0) / 1000;

  console.log(
    `soak: ${o.seconds} s, ${o.loads} load process(es), samples every ${o.sampleSeconds} s, warm-up ${Math.round(o.warmup * 100)}%, ` +
      `fired at ${o.signalHz}/s, seed ${o.seed}${o.ipc ? '' : ', no ipc'}${o.skip ? `, skipping ${o.skip}` : ''}`,
  );
  const rows: Row[] = [];
  let idle: Map<string, Sample> | undefined;
  let quiesced: Map<string, Sample> | undefined;
  let finalLoads: LoadStats[] = [];
  let finalServer: ServerExtra | undefined;
  let finalGateway: Record<string, unknown> | undefined;
  let idleServer: ServerExtra | undefined;
  let loadSeconds = 0;

  try {
    const server = spawn('sd+service', roleArgv({ role: 'server', signalHz: o.signalHz, ipc: o.ipc }));
    const { sd } = (await server.ready()) as { sd: string };
    const gateway = spawn('gateway', roleArgv({ role: 'gateway', sd }));
    const { url: gw } = (await gateway.ready()) as { url: string };
    const daemons = [server, gateway];
    idle = new Map();
    for (const d of daemons) {
      const m = await d.sample();
      idle.set(d.name, m.sample);
      if (d === server) idleServer = m.extra as unknown as ServerExtra;
    }

    const loads = Array.from({ length: o.loads }, (_, i) =>
      spawn(`load ${i}`, roleArgv({ role: 'load', index: i, sd, gw, seed: o.seed, skip: o.skip })),
    );
    await Promise.all(loads.map((l) => l.ready()));
    const loadStart = Date.now();
    console.log(`sd ${sd}, gateway ${gw}; load running\n`);
    console.log(header());

    const bounds = new Bounds(
      children.map((c) => c.name),
      o.seconds * o.warmup,
    );
    const snapshots = async (tag: string) => {
      if (o.snapshots === undefined) return;
      mkdirSync(o.snapshots, { recursive: true });
      for (const c of children.filter((x) => !x.exited)) {
        const f = await c.snapshot(resolve(join(o.snapshots, `${c.name.replace(/\W+/g, '-')}-${tag}.heapsnapshot`)));
        console.log(`  heap snapshot of ${c.name}: ${f.file}`);
      }
    };

    while (failures.length === 0 && (Date.now() - loadStart) / 1000 < o.seconds) {
      const wait = sleep(o.sampleSeconds * 1000);
      await Promise.race([wait, failedEarly]);
      if (failures.length > 0) break;
      const replies = await Promise.all(children.map((c) => c.sample()));
      const row: Row = { elapsed: (Date.now() - loadStart) / 1000, samples: new Map(), loads: [] };
      replies.forEach((m, i) => {
        row.samples.set(children[i].name, m.sample);
        if (m.stats) row.loads.push(m.stats);
      });
      // Rates are per second of the loads' own clocks (their samples, not our receipt of them).
      row.elapsed = (median(replies.slice(2).map((m) => m.sample.t)) - loadStart) / 1000;
      row.server = replies[0].extra as unknown as ServerExtra;
      row.gateway = replies[1].extra;
      rows.push(row);
      console.log(line(row, rows[rows.length - 2]));

      const problem = rowProblem(row);
      if (problem !== undefined) {
        fail(problem);
        break;
      }
      // Memory and handles, once past the warm-up.
      if (bounds.check(rows, fail)) await snapshots('baseline');
    }
    if (failures.length > 0 && o.snapshots !== undefined) await snapshots('failure').catch(() => {});
    else await snapshots('end').catch((e) => fail(`heap snapshots: ${describe(e)}`));
    loadSeconds = (Date.now() - loadStart) / 1000;

    // Stop the loads, then look at the server and gateway with nobody connected.
    const stops = await Promise.allSettled(loads.map((l) => l.stop()));
    stops.forEach(
      (s, i) => s.status === 'rejected' && fail(`${loads[i].name}: ${describe(s.reason)}\n${loads[i].tail}`),
    );
    finalLoads = loads.flatMap((l) => (l.stopped?.stats ? [l.stopped.stats] : []));
    await sleep(1000);
    if (!server.exited && !gateway.exited) {
      quiesced = new Map();
      for (const d of daemons) {
        const m = await d.sample();
        quiesced.set(d.name, m.sample);
        if (d === server) finalServer = m.extra as unknown as ServerExtra;
        else finalGateway = m.extra;
      }
    }
    await Promise.allSettled([gateway.stop(15_000)]);
    await Promise.allSettled([server.stop(15_000)]);
  } catch (e) {
    fail(describe(e));
  } finally {
    killAll();
    clearTimeout(deadline);
  }

  // Final checks and summary.
  const s = sumStats(finalLoads.length > 0 ? finalLoads : (rows[rows.length - 1]?.loads ?? []));
  finalChecks({ o, s, finalLoads, finalServer, finalGateway, idleServer, idle, quiesced, children }, fail);

  console.log('\n' + summary(o, loadSeconds, rows, s, idle, quiesced, finalServer, finalGateway));
  if (failures.length > 0) {
    console.log(`\nFAIL (${failures.length}):`);
    for (const f of failures) console.log(`  - ${f}`);
    return 1;
  }
  console.log(`\nPASS (${elapsed().toFixed(1)} s in all)`);
  return 0;
}
