/**
 * Gateway benchmark: what the gateway hop costs. A qi call `Echo.echo(s)` (32-char string) from a client
 * process to a service process over TCP loopback, directly and through a Gateway running in a third
 * process, against a raw-socket "floor" round trip (same 28-byte framing, same payload size) measured in
 * the same run; then the memory of a gateway process per connected idle client (1000 by default) against
 * the same figure for a bare `net` server and for a plain qi server (the SD) in the same run.
 * Run with `npm run bench:gateway` (about 45 s on a 2-core machine).
 *
 * Processes: this one is the client (and the floor's client); `bench/gateway-server.ts` is spawned as `service`
 * (the SD, on tcp://127.0.0.1:0 with ipc: false, hosting "Echo" itself), `gateway <sdUrl>` (run with --expose-gc),
 * and, for the memory rows, `hold` / `service` / `gateway` again (fresh processes) plus `clients` processes holding
 * the idle clients; `bench/rpc-server.ts floor` is the raw-socket echo server of rpc.bench.ts. Children exit when
 * their stdin closes (also when the benchmark dies) and are SIGKILLed after 5 s, and on any error or signal.
 *
 * Method: the cells of an RPC row (floor, direct, via gateway) warm up, then run in interleaved rounds (order
 * rotating); the table shows the median calls/s (± half of (max - min) / median) and 1e6 / that as µs per call.
 * The gateway hop is latency(via gateway) - latency(direct) and its size in raw round trips, each computed per
 * round (the three cells ran back to back) and then the median taken. Memory: each server in a fresh process;
 * 20 clients connect and leave first (lazy initialisation, JIT), then GC + `process.memoryUsage()`, then n idle
 * clients connect (from processes of <= --clients-per-process each, so none needs many fds), GC + reading, then
 * they all leave, GC + reading (what a client leaves behind). Figures per client = difference / n.
 *
 * Options: --rows=seq,inflight,mem, --rounds=N, --round-ms=N, --warmup-ms=N, --in-flight=N, --idle-clients=N,
 * --clients-per-process=N, --gateway-cpu-prof[=DIR] (the RPC rows' gateway process runs with --cpu-prof; read the
 * profile with `node dist/bench/cpuprofile-top.js DIR/*.cpuprofile`).
 *
 * Before/after: --against[=<git-ref>] (default 313372f, see gateway-against.ts; then rows default to seq,inflight and
 * rounds to 21 x 300 ms) builds
 * that revision in a temporary worktree and runs its `bench/gateway-server.js gateway <sdUrl>` as a second gateway
 * process, a fourth cell "via gateway (<ref>)" of the seq and inflight rows, interleaved round by round with this
 * build's gateway; the `new/ref` lines give this build's calls/s over the ref's, paired by round (median, and the
 * quartiles of the rounds).
 * --keep-ref keeps the ref's build for the next run; --gateway-ref=PATH uses an already built gateway-server.js.
 * On Linux each gateway's CPU time per call (user + system from /proc/<pid>/stat during that cell's rounds, divided by the
 * calls it carried) is shown too, and its new/ref ratio: far less sensitive to a busy machine than calls/s.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from '../src/index.js';
import { closeWithin, killAll, socketPath, spawnChild, stopChild, type Child } from './children.js';
import { STRING, type Echo, stringPayloadSize } from './echo.js';
import { FloorClient, floorRunner } from './floor.js';
import { againstRef, buildRef, type RefBuild } from './gateway-against.js';
import { idleMemory, openFilesLimit, printMemory, type MemResult } from './idle-memory.js';
import {
  flag,
  fmt,
  inFlight,
  machine,
  measureRunners,
  median,
  num,
  pct,
  printTable,
  quantile,
  sequential,
  type Measured,
  type Runner,
} from './harness.js';

// A before/after comparison pairs rounds: more, shorter rounds pair better on a busy machine.
const COMPARING = againstRef() !== undefined || flag('gateway-ref') !== undefined;
const OPTS = {
  warmupMs: num('warmup-ms', 400),
  rounds: num('rounds', COMPARING ? 21 : 9),
  roundMs: num('round-ms', COMPARING ? 300 : 600),
  inFlight: num('in-flight', 64),
  idleClients: num('idle-clients', 1000),
  clientsPerProcess: num('clients-per-process', 400),
  rows: new Set((flag('rows') ?? (COMPARING ? 'seq,inflight' : 'seq,inflight,mem')).split(',')),
  gatewayCpuProf: flag('gateway-cpu-prof'),
  against: againstRef(),
  keepRef: flag('keep-ref') !== undefined,
  gatewayRef: flag('gateway-ref'),
};

const SOCK_PATH = socketPath('gw-floor');
const HERE = dirname(fileURLToPath(import.meta.url));
const GW_SERVER_JS = join(HERE, 'gateway-server.js');
const RPC_SERVER_JS = join(HERE, 'rpc-server.js'); // its `floor` mode: the raw-socket echo server of rpc.bench

/** Runs a row's runners; `watch[j]` is the pid whose CPU time per call of runner j is reported (the gateway's). */
const measure = (runners: Runner[], watch: Array<number | undefined> = []) => measureRunners(runners, OPTS, watch);

// ---------------------------------------------------------------------------------------------
// Tables

const rpcRows: string[][] = [];
function rpcRow(row: string, path: string, m: Measured | undefined, vs: string, target = '', ok = ''): void {
  rpcRows.push([
    row,
    path,
    m ? `${fmt(m.ops)} ±${fmt(m.spread * 50)}%` : '-',
    m ? fmt(1e6 / m.ops, 1) : '-',
    vs,
    target,
    ok,
  ]);
}
/** The gateway's (or relay's) process CPU time per call, when known. */
const cpuNote = (m: Measured, who = 'gateway') =>
  m.cpuPerCall === undefined ? '' : `; ${who} CPU ${fmt(m.cpuPerCall, 1)} µs/call`;
/** The before/after lines of a row: this build's gateway over the ref's, calls/s paired by round. */
function refRows(row: string, label: string, d: Measured, g: Measured, r: Measured | undefined): void {
  if (r === undefined) return;
  rpcRow(row, `via gateway (${label})`, r, `${pct(r.ops, d.ops)} of direct${cpuNote(r)}`);
  const ratios = g.samples.map((x, i) => x / r.samples[i]);
  const q = (p: number) => quantile(ratios, p);
  rpcRows.push([
    row,
    `new/${label} gateway`,
    '-',
    '-',
    `x${fmt(median(ratios), 3)} calls/s (middle half of rounds ${fmt(q(0.25), 2)}..${fmt(q(0.75), 2)})`,
    '',
    '',
  ]);
  if (g.cpuPerCall !== undefined && r.cpuPerCall !== undefined) {
    rpcRows.push([
      row,
      `new/${label} gateway CPU`,
      '-',
      '-',
      `x${fmt(g.cpuPerCall / r.cpuPerCall, 3)} CPU per call (${fmt(g.cpuPerCall, 2)} vs ${fmt(r.cpuPerCall, 2)} µs)`,
      '',
      '',
    ]);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const strSize = stringPayloadSize();
  const strPayload = randomBytes(strSize);
  const fdLimit = openFilesLimit();
  console.log(`Gateway benchmark: ${machine()}`);
  console.log(
    `payload: echo(string ${STRING.length} chars) = ${strSize} B each way; header 28 B; open files limit (soft) ${fdLimit ?? '?'}`,
  );
  console.log(
    `each RPC cell: warm-up ${OPTS.warmupMs} ms, ${OPTS.rounds} rounds x ${OPTS.roundMs} ms interleaved with the other cells of its row, median (± half the spread)`,
  );

  let direct: Session | undefined;
  let viaGw: Session | undefined;
  let viaRef: Session | undefined;
  let ref: { label: string; script: string; build?: RefBuild } | undefined;
  let floorClient: FloorClient | undefined;
  let relayClient: FloorClient | undefined;
  const kids: Array<Child['child']> = [];
  const memResults: MemResult[] = [];
  try {
    const gwExec = [
      '--expose-gc',
      ...(OPTS.gatewayCpuProf !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${OPTS.gatewayCpuProf || '.'}`] : []),
    ];
    const service = await spawnChild(GW_SERVER_JS, ['service'], { execArgv: ['--expose-gc'] });
    kids.push(service.child);
    const sdUrl = service.ready.sd as string;

    if (OPTS.rows.has('seq') || OPTS.rows.has('inflight')) {
      if (OPTS.gatewayRef !== undefined) ref = { label: 'ref', script: OPTS.gatewayRef };
      else if (OPTS.against !== undefined) {
        const build = buildRef(join(HERE, '..', '..'), OPTS.against, OPTS.keepRef);
        ref = { label: OPTS.against, script: build.gatewayServer, build };
      }
      const [gw, floor, refGw] = await Promise.all([
        spawnChild(GW_SERVER_JS, ['gateway', sdUrl], { execArgv: gwExec }),
        spawnChild(RPC_SERVER_JS, ['floor', SOCK_PATH]),
        ref && spawnChild(ref.script, ['gateway', sdUrl], { execArgv: gwExec }),
      ]);
      kids.push(gw.child, floor.child, ...(refGw ? [refGw.child] : []));
      const relay = await spawnChild(RPC_SERVER_JS, ['relay', floor.ready.tcp as string]);
      kids.push(relay.child);
      const gwUrl = gw.ready.url as string;
      console.log(
        `client pid ${process.pid}; service + SD pid ${service.child.pid} ${sdUrl}; gateway pid ${gw.child.pid} ${gwUrl}; floor server pid ${floor.child.pid} ${floor.ready.tcp}; relay floor pid ${relay.child.pid} ${relay.ready.tcp}`,
      );
      if (ref && refGw)
        console.log(`gateway (${ref.label}) pid ${refGw.child.pid} ${refGw.ready.url as string}: ${ref.script}`);

      direct = await Session.connect(sdUrl, { ipc: false });
      viaGw = await Session.connect(gwUrl, { ipc: false });
      const pDirect = await direct.service<typeof Echo>('Echo');
      const pGw = await viaGw.service<typeof Echo>('Echo');
      viaRef = refGw && (await Session.connect(refGw.ready.url as string, { ipc: false }));
      const pRef = await viaRef?.service<typeof Echo>('Echo');
      if (pRef && (await pRef.echo(STRING)) !== STRING)
        throw new Error('echo via the ref gateway returned something else');
      const refCell = (r: (call: () => Promise<unknown>) => Runner) => (pRef ? [r(() => pRef.echo(STRING))] : []);
      // The CPU per call of the relay floor and of the gateways.
      const watched = [undefined, relay.child.pid, undefined, gw.child.pid, refGw?.child.pid];
      const routeOf = (p: unknown) => Session.route(p) ?? '?';
      const gwPort = new URL(gwUrl).port;
      const sdPort = new URL(sdUrl).port;
      // The direct proxy must reach the service's own address; the gateway's proxy the gateway (its SD channel, reached
      // by the relative `qi:ServiceDirectory` endpoint, or its address), never the service's.
      if (!routeOf(pDirect).startsWith('tcp://') || !routeOf(pDirect).endsWith(`:${sdPort}`))
        throw new Error(`direct Echo route is ${routeOf(pDirect)}, expected ${sdUrl}`);
      if (routeOf(pGw) !== 'qi:ServiceDirectory' && !routeOf(pGw).endsWith(`:${gwPort}`))
        throw new Error(`gateway Echo route is ${routeOf(pGw)}, expected the gateway ${gwUrl}`);
      for (const p of [pDirect, pGw])
        if ((await p.echo(STRING)) !== STRING) throw new Error('echo returned something else');
      console.log(
        `routes: direct ${routeOf(pDirect)}; via gateway ${routeOf(pGw)} (on the session connected to ${gwUrl})`,
      );
      floorClient = await FloorClient.connect(floor.ready.tcp as string);
      relayClient = await FloorClient.connect(relay.ready.tcp as string);
      const f = floorClient;
      const fr = relayClient;

      if (OPTS.rows.has('seq')) {
        const [fl, rl, d, g, r] = await measure(
          [
            floorRunner(f, strPayload, 1),
            floorRunner(fr, strPayload, 1),
            sequential(() => pDirect.echo(STRING)),
            sequential(() => pGw.echo(STRING)),
            ...refCell(sequential),
          ],
          watched,
        );
        // A hop, paired by round (the cells ran back to back in each round): latency(via) - latency(without), in µs
        // and in raw round trips of the same round.
        const hopOf = (via: Measured, without: Measured) => ({
          us: median(via.samples.map((x, i) => 1e6 / x - 1e6 / without.samples[i])),
          rt: median(via.samples.map((x, i) => (1e6 / x - 1e6 / without.samples[i]) / (1e6 / fl.samples[i]))),
        });
        const hop = hopOf(g, d);
        const relayHop = hopOf(rl, fl);
        rpcRow('sequential echo(s)', 'raw socket floor', fl, '-');
        rpcRow('sequential echo(s)', 'raw relay floor', rl, `${pct(rl.ops, fl.ops)} of floor${cpuNote(rl, 'relay')}`);
        rpcRow('sequential echo(s)', 'direct', d, `${pct(d.ops, fl.ops)} of floor`);
        rpcRow('sequential echo(s)', 'via gateway', g, `${pct(g.ops, d.ops)} of direct${cpuNote(g)}`);
        rpcRows.push([
          'relay hop (added)',
          'relay - floor',
          '-',
          `+${fmt(relayHop.us, 1)}`,
          `${fmt(relayHop.rt, 2)} raw round trips: the least a process on the path adds`,
          '',
          '',
        ]);
        rpcRows.push([
          'gateway hop (added)',
          'gateway - direct',
          '-',
          `+${fmt(hop.us, 1)}`,
          `${fmt(hop.rt, 2)} raw round trips (1 = ${fmt(1e6 / fl.ops, 1)} µs); ${fmt(hop.us / relayHop.us, 2)} relay hops`,
          'gateway hop <= 1 raw round trip',
          hop.rt <= 1 ? 'yes' : 'NO',
        ]);
        refRows('sequential echo(s)', ref?.label ?? '', d, g, r);
      }
      if (OPTS.rows.has('inflight')) {
        const k = OPTS.inFlight;
        const [fl, rl, d, g, r] = await measure(
          [
            floorRunner(f, strPayload, k),
            floorRunner(fr, strPayload, k),
            inFlight(() => pDirect.echo(STRING), k),
            inFlight(() => pGw.echo(STRING), k),
            ...refCell((c) => inFlight(c, k)),
          ],
          watched,
        );
        const row = `${k} in flight echo(s)`;
        rpcRow(row, 'raw socket floor', fl, '-');
        rpcRow(row, 'raw relay floor', rl, `${pct(rl.ops, fl.ops)} of floor${cpuNote(rl, 'relay')}`);
        rpcRow(row, 'direct', d, `${pct(d.ops, fl.ops)} of floor`);
        rpcRow(
          row,
          'via gateway',
          g,
          `${pct(g.ops, d.ops)} of direct (${pct(g.ops, fl.ops)} of floor)${cpuNote(g)}`,
          'via gateway >= 75% of direct',
          g.ops >= 0.75 * d.ops ? 'yes' : 'NO',
        );
        refRows(row, ref?.label ?? '', d, g, r);
      }
      floorClient.close();
      relayClient.close();
      floorClient = relayClient = undefined;
      await closeWithin('direct client session', direct, 3000);
      await closeWithin('gateway client session', viaGw, 3000);
      await closeWithin('ref gateway client session', viaRef, 3000);
      direct = viaGw = viaRef = undefined;
      await Promise.all([
        stopChild(gw.child),
        stopChild(floor.child),
        stopChild(relay.child),
        ...(refGw ? [stopChild(refGw.child)] : []),
      ]);
    }

    if (OPTS.rows.has('mem')) {
      let n = OPTS.idleClients;
      // The server under test holds every client socket in one process (the clients are spread over children).
      if (fdLimit !== undefined && fdLimit < n + 100) {
        n = Math.max(10, fdLimit - 100);
        console.log(`note: open files limit ${fdLimit}: measuring ${n} idle clients instead of ${OPTS.idleClients}`);
      }
      const groups = Math.ceil(n / OPTS.clientsPerProcess);
      console.log(
        `memory: ${n} idle clients in ${groups} child process(es) of <= ${Math.ceil(n / groups)}; each server in a fresh process run with --expose-gc, GC forced before each reading`,
      );
      memResults.push(
        await idleMemory(
          'raw socket floor (net server)',
          () => spawnChild(GW_SERVER_JS, ['hold'], { execArgv: ['--expose-gc'] }),
          (c) => c.ready.url as string,
          'raw',
          n,
          OPTS.clientsPerProcess,
        ),
      );
      memResults.push(
        await idleMemory(
          'direct (qi SD + Echo)',
          () => spawnChild(GW_SERVER_JS, ['service'], { execArgv: ['--expose-gc'] }),
          (c) => c.ready.sd as string,
          'qi',
          n,
          OPTS.clientsPerProcess,
        ),
      );
      memResults.push(
        await idleMemory(
          'gateway',
          () => spawnChild(GW_SERVER_JS, ['gateway', sdUrl], { execArgv: ['--expose-gc'] }),
          (c) => c.ready.url as string,
          'qi',
          n,
          OPTS.clientsPerProcess,
        ),
      );
    }

    console.log('');
    if (rpcRows.length > 0) {
      printTable(['row', 'path', 'calls/s', 'µs/call', 'vs', 'target', 'ok'], rpcRows, {
        right: [false, false, true, true, false, false, false],
      });
      console.log('');
    }
    if (memResults.length > 0) {
      printMemory(memResults);
      if (!memResults.every((r) => r.before.gc))
        console.log('warning: a server ran without --expose-gc: no GC forced before readings');
    }
    console.log(
      `\nµs/call = 1e6 / calls/s (mean latency at the median round). gateway hop = µs/call via gateway - µs/call direct, and its size in raw` +
        `\nround trips, both paired by round then the median. memory: (after - before) / clients, process.memoryUsage() of the server` +
        `\nprocess (rss moves by a few MiB on its own: compare heap); "heap left after close" = heapUsed after every client
disconnected - before (a leak shows here). Total ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
  } finally {
    floorClient?.close();
    relayClient?.close();
    await closeWithin('direct client session', direct, 3000);
    await closeWithin('gateway client session', viaGw, 3000);
    await closeWithin('ref gateway client session', viaRef, 3000);
    await Promise.all(kids.map((c) => stopChild(c)));
    killAll();
    ref?.build?.remove();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    killAll();
    process.exit(1);
  },
);
