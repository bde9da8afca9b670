/**
 * Stream benchmark: MB/s and chunks/s of a qi stream (QiStream / openStream, pull with credit) from a
 * service in another process over TCP loopback, beside, in the same run:
 *  - the floor: a bare socket from the same process sending the same chunks with the same 28-byte
 *    header, as fast as the socket takes them (no acknowledgement, no flow control but TCP's);
 *  - plain sequential calls returning one chunk each (`chunk(size) -> r`);
 *  - push with credit, the design we did not pick, as a prototype built from an ordinary signal
 *    `data(L seq, r chunk)` and a posted `grant(I n)` (the reader grants half its window at a time).
 * Each cell: the median of interleaved rounds (`--rounds`, `--round-ms`), after a warm-up round.
 * Run: `node dist/bench/stream.bench.js` (or `npm run bench:stream`).
 */
import { fileURLToPath } from 'node:url';
import {
  LocalObject,
  QiStream,
  Session,
  backendOf,
  defineObject,
  listenStandalone,
  method,
  openStream,
  signal,
  stream,
  t,
  type AnyProxy,
} from '../src/index.js';
import { exitWithParent, spawnChild, stopChild } from './children.js';
import { pushFloorRun, servePushFloor, type Run } from './floor.js';
import { machine, measureRunners, num, printTable, type Runner } from './harness.js';

const Source = defineObject({
  methods: {
    stream: method([t.int32], stream(t.raw)),
    chunk: method([t.int32], t.raw),
    push: method([t.int32], t.object),
  },
});
const PushSource = defineObject({
  methods: { grant: method([t.uint32]) },
  signals: { data: signal([t.uint64, t.raw]) },
});

const ROUNDS = num('rounds', 3);
const ROUND_MS = num('round-ms', 600);
const SIZES = [64, 4096, 65_536, 1024 * 1024];

// ---------------------------------------------------------------------------------------------
// The service process: a qi Source and a floor server.

async function child(): Promise<void> {
  const chunks = new Map<number, Buffer>();
  const chunkOf = (size: number) => chunks.get(size) ?? (chunks.set(size, Buffer.alloc(size, 7)), chunks.get(size)!);
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService(
    'Source',
    new LocalObject(Source, {
      stream: (size) => {
        const s = new QiStream(t.raw);
        const c = chunkOf(size);
        void (async () => {
          for (;;) await s.write(c);
        })().catch(() => {});
        return s;
      },
      chunk: (size) => chunkOf(size),
      push: (size) => {
        const c = chunkOf(size);
        let credit = 0;
        let wake: (() => void) | undefined;
        const o: LocalObject<typeof PushSource> = new LocalObject(PushSource, {
          grant: (n) => {
            credit += n;
            wake?.();
          },
        });
        void (async () => {
          for (let seq = 0n; ; seq++) {
            while (credit === 0) await new Promise<void>((r) => (wake = r));
            credit--;
            o.emit('data', seq, c);
          }
        })();
        return o;
      },
    }),
  );
  const floor = await servePushFloor();
  console.log(`READY ${JSON.stringify({ sd: sd.endpoints[0], floor })}`);
  exitWithParent([], 1000);
}

// ---------------------------------------------------------------------------------------------
// The reader side: each runner reads for `ms` from its first chunk and returns chunks and seconds.

async function pullRun(src: AnyProxy, size: number, ms: number, credit: number): Promise<Run> {
  const reader = openStream<Uint8Array>((await src.stream(size)) as object, { credit });
  let n = -1;
  let t0 = 0;
  let now = 0;
  for await (const c of reader) {
    now = performance.now();
    if (c.length !== size) throw new Error('bad chunk');
    if (++n === 0) t0 = now;
    else if (now - t0 >= ms) break;
  }
  return { chunks: n, seconds: (now - t0) / 1000 };
}

async function pushRun(src: AnyProxy, size: number, ms: number, credit: number): Promise<Run> {
  const o = (await src.push(size)) as AnyProxy;
  const b = backendOf(o)!;
  const half = Math.max(1, Math.floor(credit / 2));
  let n = -1;
  let t0 = 0;
  let consumed = 0;
  let expected = 0n;
  let off: (() => Promise<void>) | undefined;
  const run = await new Promise<Run>((resolve, reject) => {
    void o.data
      .connect((seq: unknown, c: unknown) => {
        const now = performance.now();
        if (seq !== expected++ || (c as Uint8Array).length !== size) return reject(new Error('lost or bad chunk'));
        if (++n === 0) t0 = now;
        else if (now - t0 >= ms) return resolve({ chunks: n, seconds: (now - t0) / 1000 });
        if (++consumed === half) {
          consumed = 0;
          b.post('grant', [half]);
        }
      })
      .then((f) => {
        off = f;
        b.post('grant', [credit]);
      }, reject);
  });
  await off?.();
  return run;
}

async function callsRun(src: AnyProxy, size: number, ms: number): Promise<Run> {
  let n = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < ms) {
    const c = (await src.chunk(size)) as Uint8Array;
    if (c.length !== size) throw new Error('bad chunk');
    n++;
    now = performance.now();
  }
  return { chunks: n, seconds: (now - t0) / 1000 };
}

const fmtRate = (x: number) =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0);
const fmtMB = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const sizeName = (s: number) => (s >= 1048576 ? `${s / 1048576} MiB` : s >= 1024 ? `${s / 1024} KiB` : `${s} B`);

async function main(): Promise<void> {
  const service = await spawnChild(fileURLToPath(import.meta.url), ['--child']);
  const ready = service.ready as { sd: string; floor: number };
  const session = await Session.connect(ready.sd, { ipc: false, lpc: false });
  const src = await session.service('Source');
  console.log(`Stream benchmark: ${machine()}; service in another process, TCP loopback`);
  console.log(
    `each cell: median of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms (after a warm-up round); chunk payload only in MB/s (1 MB = 10^6 B)`,
  );
  const subjects: [string, (size: number, ms: number) => Promise<Run>][] = [
    ['floor', (size, ms) => pushFloorRun(ready.floor, size, ms)],
    ['stream', (size, ms) => pullRun(src, size, ms, 16)],
    ['stream c=256', (size, ms) => pullRun(src, size, ms, 256)],
    ['push', (size, ms) => pushRun(src, size, ms, 16)],
    ['calls', (size, ms) => callsRun(src, size, ms)],
  ];
  const rows: string[][] = [['chunk', ...subjects.map(([n]) => n), 'stream/floor', 'stream/calls', 'push/stream']];
  for (const size of SIZES) {
    // Chunks per second of each subject: a warm-up round each, then interleaved rounds (order rotating), median.
    const runners = subjects.map(([, run]): Runner => async (ms) => {
      const x = await run(size, ms);
      return [x.chunks, x.seconds * 1e9];
    });
    const measured = await measureRunners(runners, {
      warmupMs: Math.min(200, ROUND_MS),
      rounds: ROUNDS,
      roundMs: ROUND_MS,
    });
    const m = new Map(subjects.map(([n], i) => [n, measured[i].ops]));
    const cell = (name: string) => `${fmtRate(m.get(name)!)}/s ${fmtMB((m.get(name)! * size) / 1e6)} MB/s`;
    const pct = (a: string, b: string) => `${((m.get(a)! / m.get(b)!) * 100).toFixed(0)}%`;
    const times = (a: string, b: string) => `${(m.get(a)! / m.get(b)!).toFixed(1)}x`;
    rows.push([
      sizeName(size),
      ...subjects.map(([n]) => cell(n)),
      pct('stream', 'floor'),
      times('stream', 'calls'),
      pct('push', 'stream'),
    ]);
    console.log(`  ${sizeName(size)} done`);
  }
  printTable(rows[0], rows.slice(1), { right: rows[0].map((_, i) => i > 0), sep: ' | ', ruleSep: '-|-' });
  console.log(
    'stream = openStream, credit 16 (c=256: credit 256); push = signal + grant prototype, window 16; calls = sequential chunk(size) calls',
  );
  await session.close();
  await stopChild(service.child, 2000);
}

if (process.argv.includes('--child')) await child();
else await main();
