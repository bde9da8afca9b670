/**
 * RPC benchmark: round trips of a qi call between two processes over TCP loopback and over a unix
 * socket (IPC), and in-process, against a "floor" measured in the same run: a bare socket pair (net
 * server in another process) exchanging the same 28-byte-header frames with the same payload sizes.
 * Run with `npm run bench:rpc`. See bench/README.md ("RPC benchmark") for the method and options.
 */
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session, compile, listenStandalone } from '../src/index.js';
import { closeWithin, killAll, socketPath, spawnChild, stopChild, type Child } from './children.js';
import { Echo, STRING, newEcho, stringPayloadSize } from './echo.js';
import { FloorClient, floorRunner } from './floor.js';
import {
  flag,
  fmt,
  inFlight,
  machine,
  measureRunners,
  num,
  pct,
  printTable,
  sequential,
  type Measured,
  type Runner,
} from './harness.js';

// ---------------------------------------------------------------------------------------------
// Options

const OPTS = {
  warmupMs: num('warmup-ms', 400),
  rounds: num('rounds', 5),
  roundMs: num('round-ms', 1000),
  inFlight: num('in-flight', 64),
  rows: new Set((flag('rows') ?? 'inproc,seq,inflight,mib').split(',')),
  routes: new Set((flag('routes') ?? 'tcp,ipc').split(',')),
  oursOnly: flag('ours-only') !== undefined,
  serverCpuProf: flag('server-cpu-prof'),
};

const RAW = randomBytes(1024 * 1024);

const SOCK_PATH = socketPath('floor');
const SERVER_JS = join(dirname(fileURLToPath(import.meta.url)), 'rpc-server.js');
const spawnServer = (args: string[], execArgv: string[] = []): Promise<Child> =>
  spawnChild(SERVER_JS, args, { execArgv });
/** Children get 3 s to exit cleanly, then are killed. */
const stop = (child: Child['child']) => stopChild(child, 3000);
/** Ours and its floor, interleaved round by round. */
const measure = (runners: Runner[]) => measureRunners(runners, OPTS);

// ---------------------------------------------------------------------------------------------
// Table

const HEAD = ['row', 'route', 'ours', 'floor', 'ratio', 'target', 'ok'];
const RIGHT = [false, false, true, true, true, false, false];
const rows: string[][] = [];

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
    `>= ${target * 100}% of floor`,
    ratio === undefined ? '?' : ratio >= target ? 'yes' : 'NO',
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
  const floors: FloorClient[] = [];
  const kids: Array<Child['child']> = [];
  try {
    sd = await listenStandalone('tcp://127.0.0.1:0');
    const sdUrl = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    await sd.registerService('Echo', newEcho());

    const profArgs =
      OPTS.serverCpuProf !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${OPTS.serverCpuProf || '.'}`] : [];
    const [qi, floor] = await Promise.all([
      spawnServer(['qi', sdUrl], profArgs),
      OPTS.oursOnly ? undefined : spawnServer(['floor', SOCK_PATH]),
    ]);
    kids.push(qi.child);
    if (floor) kids.push(floor.child);
    console.log(
      `SD ${sdUrl} (pid ${process.pid}, also the client); qi server pid ${qi.child.pid}${floor ? `, floor server pid ${floor.child.pid} ${floor.ready.tcp} ${floor.ready.unix}` : ''}`,
    );

    client = await Session.connect(sdUrl);
    const local = await sd.service<typeof Echo>('Echo');
    const remote = {
      tcp: await client.service<typeof Echo>('EchoTcp'),
      ipc: await client.service<typeof Echo>('EchoIpc'),
    };
    const routeOf = (p: unknown) => Session.route(p) ?? '?';
    if (routeOf(local) !== 'local') throw new Error(`in-process proxy route is ${routeOf(local)}, expected local`);
    if (!routeOf(remote.tcp).startsWith('tcp://'))
      throw new Error(`EchoTcp route is ${routeOf(remote.tcp)}, expected tcp://`);
    if (!routeOf(remote.ipc).startsWith('unix:'))
      throw new Error(`EchoIpc route is ${routeOf(remote.ipc)}, expected unix:`);
    for (const p of [local, remote.tcp, remote.ipc]) {
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
        '<= 2 µs/call',
        us <= 2 ? 'yes' : 'NO',
      ]);
    }
    if (OPTS.rows.has('seq')) {
      for (const r of routes) {
        const p = remote[r];
        const f = floorOf[r];
        const res = await measure([sequential(() => p.echo(STRING)), ...(f ? [floorRunner(f, strPayload, 1)] : [])]);
        addRow('sequential echo(s)', routeOf(p), 'ops/s', res[0], res[1], 1, 0.7);
      }
    }
    if (OPTS.rows.has('inflight')) {
      for (const r of routes) {
        const p = remote[r];
        const f = floorOf[r];
        const res = await measure([
          inFlight(() => p.echo(STRING), OPTS.inFlight),
          ...(f ? [floorRunner(f, strPayload, OPTS.inFlight)] : []),
        ]);
        addRow(`${OPTS.inFlight} in flight echo(s)`, routeOf(p), 'ops/s', res[0], res[1], 1, 0.4);
      }
    }
    if (OPTS.rows.has('mib')) {
      for (const r of routes) {
        const p = remote[r];
        const f = floorOf[r];
        const res = await measure([sequential(() => p.echoRaw(RAW)), ...(f ? [floorRunner(f, rawPayload, 1)] : [])]);
        addRow('1 MiB echoRaw(r)', routeOf(p), 'MB/s', res[0], res[1], RAW.length / 1e6, 0.7);
      }
    }
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
