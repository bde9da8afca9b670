/**
 * RPC benchmark: round trips of a qi call between two processes over TCP loopback and over a unix
 * socket (IPC), and in-process, against a "floor" measured in the same run: a bare socket pair (net
 * server in another process) exchanging the same 28-byte-header frames with the same payload sizes.
 * Run with `npm run bench:rpc`. See bench/README.md ("RPC benchmark") for the method and options.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Session, compile, listenStandalone, type ProxyOf } from '../src/index.js';
import { closeWithin, killAll, socketPath, spawnChild, stopChild, type Child } from './children.js';
import { Echo, STRING, newEcho, stringPayloadSize } from './echo.js';
import { FloorClient, floorRunner } from './floor.js';
import { againstRef, buildRef, type RefBuild } from './gateway-against.js';
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

// ---------------------------------------------------------------------------------------------
// Options

// A before/after comparison pairs rounds: more, shorter rounds pair better on a busy machine.
const AGAINST = againstRef('main');
const OPTS = {
  warmupMs: num('warmup-ms', 400),
  rounds: num('rounds', AGAINST !== undefined ? 15 : 5),
  roundMs: num('round-ms', AGAINST !== undefined ? 400 : 1000),
  inFlight: num('in-flight', 64),
  rows: new Set((flag('rows') ?? (AGAINST !== undefined ? 'seq,inflight,mib' : 'inproc,seq,inflight,mib')).split(',')),
  routes: new Set((flag('routes') ?? 'tcp,ipc').split(',')),
  oursOnly: flag('ours-only') !== undefined,
  serverCpuProf: flag('server-cpu-prof'),
  keepRef: flag('keep-ref') !== undefined,
};

const RAW = randomBytes(1024 * 1024);
type EchoProxy = ProxyOf<typeof Echo>;
/** What the benchmark uses of a build's library (this one's, or the ref's with `--against`). */
type QiLib = Pick<typeof import('../src/index.js'), 'Session' | 'listenStandalone'>;

const SOCK_PATH = socketPath('floor');
const SERVER_JS = join(dirname(fileURLToPath(import.meta.url)), 'rpc-server.js');
const spawnServer = (args: string[], execArgv: string[] = []): Promise<Child> =>
  spawnChild(SERVER_JS, args, { execArgv });
/** Children get 3 s to exit cleanly, then are killed. */
const stop = (child: Child['child']) => stopChild(child, 3000);
/** Ours, its floor and the ref's server, interleaved round by round; `watch[j]`: whose CPU per call runner j reports. */
const measure = (runners: Runner[], watch: Array<number | undefined> = []) => measureRunners(runners, OPTS, watch);

// ---------------------------------------------------------------------------------------------
// Table

const HEAD = [
  'row',
  'route',
  'ours',
  'floor',
  'ratio',
  'server CPU',
  'client CPU',
  'floor CPU srv / cli',
  'target',
  'ok',
];
const RIGHT = [false, false, true, true, true, true, true, true, false, false];
const rows: string[][] = [];
/** The qi server process's CPU time per call (µs), when known. */
const cpuCell = (m: Measured) => (m.cpuPerCall === undefined ? '-' : `${fmt(m.cpuPerCall, 2)} µs/call`);
/** This process's (the client's) CPU time per call (µs). */
const clientCell = (m: Measured) => `${fmt(m.selfCpuPerCall, 2)} µs/call`;

/** The floor's server and client CPU time per call (µs): the cost of moving the bytes alone. */
const floorCpuCell = (f: Measured | undefined) =>
  f === undefined ? '-' : `${f.cpuPerCall === undefined ? '-' : fmt(f.cpuPerCall, 2)} / ${fmt(f.selfCpuPerCall, 2)} µs`;

/** A row of ours against its floor: `ratio` = ours / floor, against the `target` ratio. */
function addRow(
  row: string,
  route: string,
  unit: 'ops/s' | 'MB/s',
  ours: Measured,
  floor: Measured | undefined,
  scale: number,
  target: number,
): void {
  const o = ours.ops * scale;
  const f = floor ? floor.ops * scale : undefined;
  const ratio = f ? o / f : undefined;
  rows.push([
    row,
    route,
    `${fmt(o, unit === 'MB/s' ? 1 : 0)} ${unit} ±${fmt(ours.spread * 50, 0)}%`,
    f ? `${fmt(f, unit === 'MB/s' ? 1 : 0)} ${unit}` : '-',
    f ? pct(o, f) : '-',
    cpuCell(ours),
    clientCell(ours),
    floorCpuCell(floor),
    `>= ${target * 100}% of floor`,
    ratio === undefined ? '?' : ratio >= target ? 'yes' : 'NO',
  ]);
}

/**
 * The before/after lines of a row (`--against`): the ref's server as a row of its own, then this build's
 * server over the ref's, calls/s paired by round (median and middle half) and CPU per call.
 */
function refRows(
  row: string,
  label: string,
  unit: 'ops/s' | 'MB/s',
  ours: Measured,
  ref: Measured,
  scale: number,
): void {
  const digits = unit === 'MB/s' ? 1 : 0;
  rows.push([
    row,
    `server (${label})`,
    `${fmt(ref.ops * scale, digits)} ${unit} ±${fmt(ref.spread * 50, 0)}%`,
    '-',
    '-',
    cpuCell(ref),
    clientCell(ref),
    '',
    '',
    '',
  ]);
  const ratios = ours.samples.map((x, i) => x / ref.samples[i]);
  const q = (p: number) => quantile(ratios, p);
  const cpu =
    ours.cpuPerCall !== undefined && ref.cpuPerCall !== undefined
      ? `CPU x${fmt(ours.cpuPerCall / ref.cpuPerCall, 3)}`
      : '-';
  rows.push([
    row,
    `new/${label}`,
    `x${fmt(median(ratios), 3)} (${fmt(q(0.25), 2)}..${fmt(q(0.75), 2)})`,
    '-',
    '-',
    cpu,
    `x${fmt(ours.selfCpuPerCall / ref.selfCpuPerCall, 3)}`,
    '',
    '',
    '',
  ]);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const strSize = stringPayloadSize();
  const rawSize = compile('(r)').encode([RAW]).length;
  const strPayload = randomBytes(strSize);
  const rawPayload = randomBytes(rawSize);
  console.log(`RPC benchmark: ${machine()}`);
  console.log(
    `payloads: echo(string ${STRING.length} chars) = ${strSize} B each way; echoRaw(1 MiB) = ${rawSize} B each way; header 28 B`,
  );
  console.log(
    `each cell: warm-up ${OPTS.warmupMs} ms, ${OPTS.rounds} rounds x ${OPTS.roundMs} ms interleaved with its floor, median (± half the spread)`,
  );

  let sd: Session | undefined;
  let client: Session | undefined;
  let refSd: Session | undefined;
  let refClient: Session | undefined;
  let refBuild: RefBuild | undefined;
  let refLib: QiLib | undefined;
  const floors: FloorClient[] = [];
  const kids: Array<Child['child']> = [];
  try {
    sd = await listenStandalone('tcp://127.0.0.1:0');
    const sdUrl = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    await sd.registerService('Echo', newEcho());

    const profArgs =
      OPTS.serverCpuProf !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${OPTS.serverCpuProf || '.'}`] : [];
    // --against: the ref's rpc-server registers the same names, so it gets an SD (and a client session) of its own.
    if (AGAINST !== undefined) {
      refBuild = buildRef(join(dirname(SERVER_JS), '..', '..'), AGAINST, OPTS.keepRef);
      // The ref's own library in this process: its SD, and below its client session (both sides are the ref's).
      refLib = (await import(pathToFileURL(join(refBuild.benchDir, '..', 'src', 'index.js')).href)) as QiLib;
      refSd = await refLib.listenStandalone('tcp://127.0.0.1:0');
    }
    const refSdUrl = refSd?.endpoints.find((e) => e.startsWith('tcp://'));
    const [qi, floor, refQi] = await Promise.all([
      spawnServer(['qi', sdUrl], profArgs),
      OPTS.oursOnly ? undefined : spawnServer(['floor', SOCK_PATH]),
      refBuild && spawnChild(join(refBuild.benchDir, 'rpc-server.js'), ['qi', refSdUrl!]),
    ]);
    kids.push(qi.child);
    if (floor) kids.push(floor.child);
    if (refQi) {
      kids.push(refQi.child);
      console.log(`qi server of ${AGAINST} (${refBuild!.commit.slice(0, 12)}): pid ${refQi.child.pid}, SD ${refSdUrl}`);
    }
    console.log(
      `SD ${sdUrl} (pid ${process.pid}, also the client); qi server pid ${qi.child.pid}${floor ? `, floor server pid ${floor.child.pid} ${floor.ready.tcp} ${floor.ready.unix}` : ''}`,
    );

    client = await Session.connect(sdUrl);
    const local = await sd.service<typeof Echo>('Echo');
    const remote = {
      tcp: await client.service<typeof Echo>('EchoTcp'),
      ipc: await client.service<typeof Echo>('EchoIpc'),
    };
    if (refSdUrl !== undefined) refClient = await refLib!.Session.connect(refSdUrl);
    const ref = refClient && {
      tcp: await refClient.service<typeof Echo>('EchoTcp'),
      ipc: await refClient.service<typeof Echo>('EchoIpc'),
    };
    const routeOf = (p: unknown) => Session.route(p) ?? '?';
    if (routeOf(local) !== 'local') throw new Error(`in-process proxy route is ${routeOf(local)}, expected local`);
    if (!routeOf(remote.tcp).startsWith('tcp://'))
      throw new Error(`EchoTcp route is ${routeOf(remote.tcp)}, expected tcp://`);
    if (!routeOf(remote.ipc).startsWith('unix:'))
      throw new Error(`EchoIpc route is ${routeOf(remote.ipc)}, expected unix:`);
    const refRoute = (p: unknown) => refLib!.Session.route(p) ?? '?';
    if (ref && (!refRoute(ref.tcp).startsWith('tcp://') || !refRoute(ref.ipc).startsWith('unix:')))
      throw new Error(`the ref's routes are ${refRoute(ref.tcp)} and ${refRoute(ref.ipc)}, expected tcp:// and unix:`);
    for (const p of [local, remote.tcp, remote.ipc, ...(ref ? [ref.tcp, ref.ipc] : [])]) {
      if ((await p.echo(STRING)) !== STRING) throw new Error('echo returned something else');
      if (!Buffer.from(await p.echoRaw(RAW)).equals(RAW)) throw new Error('echoRaw returned something else');
    }
    const floorOf: Record<'tcp' | 'ipc', FloorClient | undefined> = { tcp: undefined, ipc: undefined };
    if (floor) {
      floorOf.tcp = await FloorClient.connect(floor.ready.tcp as string);
      floorOf.ipc = await FloorClient.connect(floor.ready.unix as string);
      floors.push(floorOf.tcp, floorOf.ipc);
    }
    const routes = (['tcp', 'ipc'] as const).filter((r) => OPTS.routes.has(r));
    console.log('');

    if (OPTS.rows.has('inproc')) {
      const [r] = await measure([sequential(() => local.echo(STRING), 64)]);
      const us = 1e6 / r.ops;
      rows.push([
        'in-process echo(s)',
        routeOf(local),
        `${fmt(r.ops)} ops/s ±${fmt(r.spread * 50)}%`,
        '-',
        `${fmt(us, 2)} µs/call`,
        '-',
        clientCell(r),
        '-',
        '<= 2 µs/call',
        us <= 2 ? 'yes' : 'NO',
      ]);
    }
    /** One row per route: ours, its floor and the ref's server (if any), interleaved; server CPU per call. */
    const row = async (
      name: string,
      unit: 'ops/s' | 'MB/s',
      scale: number,
      target: number,
      runner: (p: EchoProxy) => Runner,
      floorPayload: Buffer,
      k: number,
    ) => {
      for (const r of routes) {
        const p = remote[r];
        const f = floorOf[r];
        const rp = ref?.[r];
        const [ours, ...rest] = await measure(
          [runner(p), ...(f ? [floorRunner(f, floorPayload, k)] : []), ...(rp ? [runner(rp)] : [])],
          [qi.child.pid, ...(f ? [floor!.child.pid] : []), refQi?.child.pid],
        );
        addRow(name, routeOf(p), unit, ours, f && rest[0], scale, target);
        if (rp) refRows(name, AGAINST!, unit, ours, rest[rest.length - 1], scale);
      }
    };
    if (OPTS.rows.has('seq'))
      await row('sequential echo(s)', 'ops/s', 1, 0.7, (p) => sequential(() => p.echo(STRING)), strPayload, 1);
    if (OPTS.rows.has('inflight'))
      await row(
        `${OPTS.inFlight} in flight echo(s)`,
        'ops/s',
        1,
        0.6,
        (p) => inFlight(() => p.echo(STRING), OPTS.inFlight),
        strPayload,
        OPTS.inFlight,
      );
    if (OPTS.rows.has('mib'))
      await row(
        '1 MiB echoRaw(r)',
        'MB/s',
        RAW.length / 1e6,
        0.8,
        (p) => sequential(() => p.echoRaw(RAW)),
        rawPayload,
        1,
      );
    printTable(HEAD, rows, { right: RIGHT });
    console.log(
      `\nratio = ours / floor. MB/s = 1 MiB payload bytes (each way) per second, 1 MB = 1e6 B. Total ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
  } finally {
    // Children first: they unregister their services while the SD is still up, and a session's close()
    // waits for its listeners, which wait for every peer connection to end.
    for (const f of floors) f.close();
    await Promise.all(kids.map(stop));
    killAll();
    await closeWithin('client session', client, 3000);
    await closeWithin('SD session', sd, 3000);
    await closeWithin('ref client session', refClient, 3000);
    await closeWithin('ref SD session', refSd, 3000);
    refBuild?.remove();
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
