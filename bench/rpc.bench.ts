/**
 * RPC benchmark: round trips of a qi call between two processes over TCP loopback and over a unix
 * socket (IPC), and in-process, against a "floor" measured in the same run: a bare socket pair (net
 * server in another process) exchanging the same 28-byte-header frames with the same payload sizes.
 * Run with `npm run bench:rpc`. See bench/README.md ("RPC benchmark") for the method and options.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { LocalObject, Session, compile, defineObject, listenStandalone, method, t } from '../src/index.js';

const Echo = defineObject({
  methods: {
    echo: method([t.string], t.string),
    echoRaw: method([t.raw], t.raw),
  },
});

// ---------------------------------------------------------------------------------------------
// Options

function flag(name: string): string | undefined {
  const a = process.argv.find((x) => x === `--${name}` || x.startsWith(`--${name}=`));
  if (a === undefined) return undefined;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : '';
}
const num = (name: string, dflt: number) => (flag(name) !== undefined ? Number(flag(name)) : dflt);

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

const STRING = 'qi echo payload, 32 chars long..'; // 32 ASCII chars
const RAW = randomBytes(1024 * 1024);

// ---------------------------------------------------------------------------------------------
// Child processes: every one is killed at the end, also on error or signal.

const children = new Set<ChildProcess>();
const SOCK_PATH = join(tmpdir(), `qi-bench-floor-${process.pid}.sock`);
function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(SOCK_PATH, { force: true });
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

const SERVER_JS = join(dirname(fileURLToPath(import.meta.url)), 'rpc-server.js');

function spawnServer(
  args: string[],
  execArgv: string[] = [],
): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawn(process.execPath, [...execArgv, SERVER_JS, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rpc-server ${args[0]} not ready after 15 s`)), 15_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`rpc-server ${args[0]} exited before ready (code ${code}, signal ${signal})`));
    });
    child.once('error', reject);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (!line.startsWith('READY ')) return process.stdout.write(`[rpc-server] ${line}\n`);
      clearTimeout(timer);
      resolve({ child, ready: JSON.parse(line.slice(6)) });
    });
  });
}

/** Asks a child to exit (closing its stdin: it exits cleanly, so --cpu-prof writes), SIGKILL after 3 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------------------------
// The floor's client side: same framing, writes of one tick batched as MessageStream does (small frames
// joined into one write per tick, big ones written as they are), replies counted by parsing the header
// only. Callbacks, no promises, no copy of the reply payload: the bare cost of moving the bytes.

const HEADER = 28;

class FloorClient {
  private readonly queue: Array<() => void> = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private id = 0;
  private readonly head = Buffer.allocUnsafe(HEADER);
  private headLen = 0;
  private need = 0; // bytes missing from the reply body in progress

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('error', () => {});
  }

  static connect(url: string): Promise<FloorClient> {
    return new Promise((resolve, reject) => {
      const s = url.startsWith('unix:')
        ? net.connect({ path: url.slice(5) })
        : net.connect({ host: '127.0.0.1', port: Number(new URL(url).port) });
      s.setNoDelay?.(true);
      s.once('error', reject);
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new FloorClient(s));
      });
    });
  }

  private readonly flush = () => {
    const out = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (out.length === 1) this.socket.write(out[0]);
    else if (bytes <= 64 * 1024) this.socket.write(Buffer.concat(out, bytes));
    else {
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
  };

  private write(b: Buffer): void {
    if (this.pending.length === 0) process.nextTick(this.flush);
    this.pending.push(b);
    this.pendingBytes += b.length;
  }

  call(payload: Buffer, done: () => void): void {
    const small = payload.length <= 16 * 1024;
    const b = Buffer.allocUnsafe(small ? HEADER + payload.length : HEADER);
    b.writeUInt32BE(0x42dead42, 0);
    b.writeUInt32LE(++this.id >>> 0, 4);
    b.writeUInt32LE(payload.length, 8);
    b.writeUInt16LE(0, 12); // version
    b[14] = 1; // Call
    b[15] = 0;
    b.writeUInt32LE(2, 16); // service
    b.writeUInt32LE(1, 20); // object
    b.writeUInt32LE(100, 24); // action
    if (small) {
      payload.copy(b, HEADER);
      this.write(b);
    } else {
      this.write(b);
      this.write(payload);
    }
    this.queue.push(done);
  }

  private complete(): void {
    this.queue.shift()!();
  }

  private onData(chunk: Buffer): void {
    const n = chunk.length;
    let p = 0;
    while (p < n) {
      if (this.need > 0) {
        const take = Math.min(this.need, n - p);
        this.need -= take;
        p += take;
        if (this.need === 0) this.complete();
        continue;
      }
      if (this.headLen === 0 && n - p >= HEADER) {
        const size = chunk.readUInt32LE(p + 8);
        p += HEADER;
        if (n - p >= size) {
          p += size;
          this.complete();
        } else {
          this.need = size - (n - p);
          p = n;
        }
        continue;
      }
      const take = Math.min(HEADER - this.headLen, n - p);
      chunk.copy(this.head, this.headLen, p, p + take);
      this.headLen += take;
      p += take;
      if (this.headLen === HEADER) {
        this.headLen = 0;
        this.need = this.head.readUInt32LE(8);
        if (this.need === 0) this.complete();
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Timing: each runner runs for ~ms and returns [operations completed, elapsed ns].

type Runner = (ms: number) => Promise<[number, number]>;
const now = process.hrtime.bigint;
const deadline = (ms: number) => now() + BigInt(Math.round(ms * 1e6));

/** One call at a time; the clock is read every `batch` calls. */
function sequential(call: () => Promise<unknown>, batch = 1): Runner {
  return async (ms) => {
    const t0 = now();
    const end = t0 + BigInt(Math.round(ms * 1e6));
    let n = 0;
    let t: bigint;
    do {
      for (let i = 0; i < batch; i++) await call();
      n += batch;
    } while ((t = now()) < end);
    return [n, Number(t - t0)];
  };
}

/** `k` calls outstanding; each completion starts the next one until the deadline. */
function inFlight(call: () => Promise<unknown>, k: number): Runner {
  return async (ms) => {
    const t0 = now();
    const end = deadline(ms);
    let n = 0;
    const worker = async () => {
      do {
        await call();
        n++;
      } while (now() < end);
    };
    await Promise.all(Array.from({ length: k }, worker));
    return [n, Number(now() - t0)];
  };
}

function floorRunner(c: FloorClient, payload: Buffer, k: number): Runner {
  return (ms) =>
    new Promise((resolve) => {
      const t0 = now();
      const end = deadline(ms);
      let n = 0;
      let outstanding = 0;
      let stopped = false;
      const done = () => {
        n++;
        outstanding--;
        if (!stopped && now() >= end) stopped = true;
        if (!stopped) {
          outstanding++;
          c.call(payload, done);
        } else if (outstanding === 0) {
          resolve([n, Number(now() - t0)]);
        }
      };
      for (let i = 0; i < k; i++) {
        outstanding++;
        c.call(payload, done);
      }
    });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Warms each runner up, then runs them in interleaved rounds (order rotating); median ops/s and spread of each. */
async function measure(runners: Runner[]): Promise<Array<{ ops: number; spread: number }>> {
  for (const r of runners) await r(OPTS.warmupMs);
  const samples: number[][] = runners.map(() => []);
  for (let round = 0; round < OPTS.rounds; round++) {
    for (let k = 0; k < runners.length; k++) {
      const j = (k + round) % runners.length;
      const [n, ns] = await runners[j](OPTS.roundMs);
      samples[j].push((n * 1e9) / ns);
    }
  }
  return samples.map((s) => {
    const m = median(s);
    return { ops: m, spread: (Math.max(...s) - Math.min(...s)) / m };
  });
}

// ---------------------------------------------------------------------------------------------
// Table

interface Row {
  row: string;
  route: string;
  ours: string;
  floor: string;
  ratio: string;
  target: string;
  ok: string;
}
const rows: Row[] = [];
const fmt = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function printTable(): void {
  const cols: Array<[keyof Row, string, 'l' | 'r']> = [
    ['row', 'row', 'l'],
    ['route', 'route', 'l'],
    ['ours', 'ours', 'r'],
    ['floor', 'floor', 'r'],
    ['ratio', 'ratio', 'r'],
    ['target', 'target', 'l'],
    ['ok', 'ok', 'l'],
  ];
  const w = cols.map(([k, h]) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (cols[i][2] === 'r' ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ');
  console.log(line(cols.map((c) => c[1])));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(cols.map(([k]) => r[k])));
}

function addRow(
  row: string,
  route: string,
  unit: 'ops/s' | 'MB/s',
  ours: { ops: number; spread: number },
  floor: { ops: number } | undefined,
  scale: number,
  target: number,
): void {
  const o = ours.ops * scale;
  const f = floor ? floor.ops * scale : undefined;
  const ratio = f ? o / f : undefined;
  rows.push({
    row,
    route,
    ours: `${fmt(o, unit === 'MB/s' ? 1 : 0)} ${unit} ±${fmt(ours.spread * 50, 0)}%`,
    floor: f ? `${fmt(f, unit === 'MB/s' ? 1 : 0)} ${unit}` : '-',
    ratio: ratio ? `${fmt(ratio * 100, 0)}%` : '-',
    target: `>= ${target * 100}% of floor`,
    ok: ratio === undefined ? '?' : ratio >= target ? 'yes' : 'NO',
  });
}

// ---------------------------------------------------------------------------------------------

/** Closes a session, but never waits more than `ms` for it (reported on stderr). */
async function closeWithin(what: string, s: Session | undefined, ms: number): Promise<void> {
  if (s === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    s.close().then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms))),
  ]);
  clearTimeout(timer);
  if (timedOut) console.error(`warning: ${what}.close() did not finish within ${ms} ms`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const strSize = compile('(s)').encode([STRING]).length;
  const rawSize = compile('(r)').encode([RAW]).length;
  const strPayload = randomBytes(strSize);
  const rawPayload = randomBytes(rawSize);
  console.log(`RPC benchmark: node ${process.version}, ${cpus().length} CPU(s) ${cpus()[0]?.model ?? ''}`);
  console.log(
    `payloads: echo(string ${STRING.length} chars) = ${strSize} B each way; echoRaw(1 MiB) = ${rawSize} B each way; header 28 B`,
  );
  console.log(
    `each cell: warm-up ${OPTS.warmupMs} ms, ${OPTS.rounds} rounds x ${OPTS.roundMs} ms interleaved with its floor, median (± half the spread)`,
  );

  let sd: Session | undefined;
  let client: Session | undefined;
  const floors: FloorClient[] = [];
  const kids: ChildProcess[] = [];
  try {
    sd = await listenStandalone('tcp://127.0.0.1:0');
    const sdUrl = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    await sd.registerService('Echo', new LocalObject(Echo, { echo: (s) => s, echoRaw: (r) => r }));

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
      rows.push({
        row: 'in-process echo(s)',
        route: routeOf(local),
        ours: `${fmt(r.ops)} ops/s ±${fmt(r.spread * 50)}%`,
        floor: '-',
        ratio: `${fmt(us, 2)} µs/call`,
        target: '<= 2 µs/call',
        ok: us <= 2 ? 'yes' : 'NO',
      });
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
    printTable();
    console.log(
      `\nratio = ours / floor. MB/s = 1 MiB payload bytes (each way) per second, 1 MB = 1e6 B. Total ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
  } finally {
    // Children first: they unregister their services while the SD is still up, and a session's close()
    // waits for its listeners, which wait for every peer connection to end.
    for (const f of floors) f.close();
    await Promise.all(kids.map(stopChild));
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
