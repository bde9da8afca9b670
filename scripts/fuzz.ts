/**
 * Long-running fuzzer of the codec, the framing, the connection handshake and a live server: the same
 * targets as test/type/fuzz.test.ts, test/message/fuzz.test.ts and test/channel/fuzz.test.ts, plus
 * structured hostile inputs (deep nesting, multiplying element counts), run round-robin for as long as asked.
 *
 *   npm run fuzz -- [--seconds N] [--seed S] [--hang-ms N] [--target NAME[,NAME…]]
 *
 * `--target` keeps the targets whose name contains one of the given parts (`handshake`, `session`, `type/`…).
 * The handshake and live-socket targets are asynchronous (streams, timers, a real TCP server in the worker):
 * each of their inputs must settle within 3 × --hang-ms, and an exception that escapes to the worker's event
 * loop (uncaught, or an unhandled rejection) is a finding charged to the input running at the time.
 *
 * The targets run in a worker thread. Before each input the worker leaves a description of it in shared
 * memory, so that when an input never finishes (or exhausts memory) this thread can stop the worker and
 * still say which input it was. Prints the inputs run per target and every finding (the input and the
 * error), and exits 1 when there is any: an exception that is not a QiError, a broken oracle, an input that
 * took longer than --hang-ms (default 1000), a hang, or the worker running out of memory.
 */
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  Rng,
  hostileTargets,
  isAsyncTarget,
  messageTargets,
  runTarget,
  runTargetAsync,
  typeTargets,
  type AnyFuzzTarget,
} from '../test/helpers/arbitraries.js';
import { handshakeTargets, liveSocketTargets } from '../test/helpers/fuzz-net.js';

interface Options {
  seconds: number;
  seed: number;
  hangMs: number;
  target?: string;
}

interface Finding {
  target: string;
  input: string;
  detail: string;
  stack?: string;
}

interface Stats {
  target: string;
  inputs: number;
  slowestMs: number;
  /** Time spent running this target's inputs. */
  ms: number;
  /** What an asynchronous target's checkpoints saw (memory, leaks). */
  note?: string;
}

type FromWorker =
  { kind: 'progress'; stats: Stats[] } | { kind: 'finding'; finding: Finding } | { kind: 'done'; stats: Stats[] };

const SLICE_MS = 200;
const REFRESH_MS = 10_000;
const DESC_BYTES = 256 * 1024;
const MAX_FINDINGS_PER_KIND = 3;

/** The options from `argv` (node's util.parseArgs); exits with the usage when they are wrong. */
function parseOptions(argv: string[]): Options {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        seconds: { type: 'string' },
        seed: { type: 'string' },
        'hang-ms': { type: 'string' },
        target: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    return usage((e as Error).message);
  }
  if (v.help) usage();
  const num = (name: 'seconds' | 'seed' | 'hang-ms', dflt: number) => {
    const text = v[name];
    if (text === undefined) return dflt;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) usage(`--${name}: not a number: ${text}`);
    return n;
  };
  return {
    seconds: num('seconds', 60),
    seed: num('seed', (Date.now() ^ (process.pid << 16)) >>> 0) >>> 0,
    hangMs: num('hang-ms', 1000),
    target: v.target,
  };
}

function usage(problem?: string): never {
  if (problem) console.error(problem);
  console.error('usage: node dist/scripts/fuzz.js [--seconds N] [--seed S] [--hang-ms N] [--target NAME[,NAME…]]');
  process.exit(problem ? 2 : 0);
}

function allTargets(seed: number, filter?: string): AnyFuzzTarget[] {
  const targets: AnyFuzzTarget[] = [
    ...typeTargets(seed),
    ...hostileTargets(),
    ...messageTargets(),
    ...handshakeTargets(),
    ...liveSocketTargets(),
  ];
  if (filter === undefined) return targets;
  const parts = filter.split(',').filter((p) => p !== '');
  return targets.filter((t) => parts.some((p) => t.name.includes(p)));
}

// ---------------------------------------------------------------------------------------------------
// Worker: runs the targets round-robin, in slices, until the time is up.
// ---------------------------------------------------------------------------------------------------

async function workerMain(): Promise<void> {
  const { options, shared } = workerData as { options: Options; shared: SharedArrayBuffer };
  const ctrl = new Int32Array(shared, 0, 4);
  const desc = Buffer.from(shared, 16, DESC_BYTES);
  const targets = allTargets(options.seed, options.target);
  const rngs = targets.map((t, i) => new Rng((options.seed + Math.imul(i + 1, 0x9e3779b1)) >>> 0));
  const stats: Stats[] = targets.map((t) => ({ target: t.name, inputs: 0, slowestMs: 0, ms: 0 }));
  const post = (m: FromWorker) => parentPort!.postMessage(m);
  const end = performance.now() + options.seconds * 1000;
  let nextRefresh = performance.now() + REFRESH_MS;
  let refreshes = 0;
  let nextProgress = performance.now() + 5000;
  let current = { target: '?', input: '' };

  // Leave the input where the main thread can read it if this one never returns.
  const describe = (i: number) => (c: { describe(): string }) => {
    const text = c.describe();
    current = { target: targets[i].name, input: text };
    const n = desc.write(text.length > DESC_BYTES / 3 ? text.slice(0, DESC_BYTES / 3) + '…' : text, 0, 'utf8');
    Atomics.store(ctrl, 1, i);
    Atomics.store(ctrl, 2, n);
    Atomics.add(ctrl, 0, 1);
  };
  // Asynchronous targets run servers in this thread: what escapes to the event loop crashes a server
  // process. Report it against the input running then, and go on.
  const escaped = (kind: string) => (e: unknown) => {
    const err = e as Error | undefined;
    post({
      kind: 'finding',
      finding: {
        ...current,
        detail: `${kind}: ${err?.constructor?.name ?? typeof e}: ${err?.message ?? e}`,
        stack: err?.stack,
      },
    });
  };
  process.on('uncaughtException', escaped('uncaught exception'));
  process.on('unhandledRejection', escaped('unhandled rejection'));
  // While an asynchronous input waits, this thread is not stuck: tell the watchdog.
  const alive = setInterval(() => Atomics.add(ctrl, 3, 1), 100);

  while (performance.now() < end) {
    for (let i = 0; i < targets.length && performance.now() < end; i++) {
      const target = targets[i];
      const limits = { maxMs: Math.min(SLICE_MS, end - performance.now()), hangMs: options.hangMs, maxFindings: 50 };
      const t0 = performance.now();
      const run = isAsyncTarget(target)
        ? await runTargetAsync(target, rngs[i], { ...limits, settleMs: 3 * options.hangMs }, describe(i))
        : runTarget(target, rngs[i], limits, describe(i));
      stats[i].ms += performance.now() - t0;
      stats[i].inputs += run.inputs;
      stats[i].slowestMs = Math.max(stats[i].slowestMs, run.slowestMs);
      for (const f of run.findings) {
        const e = f.error as Error | undefined;
        post({ kind: 'finding', finding: { target: f.target, input: f.input, detail: f.detail, stack: e?.stack } });
      }
    }
    if (performance.now() > nextRefresh) {
      // New pools of valid values, so long runs do not mutate the same 200 encodings forever.
      refreshes++;
      for (const t of targets) t.refresh?.((options.seed + refreshes * 7919) >>> 0);
      nextRefresh = performance.now() + REFRESH_MS;
    }
    if (performance.now() > nextProgress) {
      post({ kind: 'progress', stats });
      nextProgress = performance.now() + 5000;
    }
  }
  for (const [i, t] of targets.entries()) {
    if (!isAsyncTarget(t)) continue;
    stats[i].note = t.summary?.();
    await t.teardown?.().catch(escaped('teardown failed'));
  }
  clearInterval(alive);
  post({ kind: 'done', stats });
}

// ---------------------------------------------------------------------------------------------------
// Main thread: starts the worker, watches for hangs, prints the report.
// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const names = allTargets(options.seed, options.target).map((t) => t.name);
  if (names.length === 0) usage(`no target matches ${options.target}`);
  console.log(
    `qimessaging fuzz: seed ${options.seed}, ${options.seconds} s, ${names.length} targets, an input slower than ${options.hangMs} ms is a finding`,
  );

  const shared = new SharedArrayBuffer(16 + DESC_BYTES);
  const ctrl = new Int32Array(shared, 0, 4);
  const desc = Buffer.from(shared, 16, DESC_BYTES);
  const findings = new Map<string, { count: number; examples: Finding[] }>();
  let stats: Stats[] = names.map((target) => ({ target, inputs: 0, slowestMs: 0, ms: 0 }));
  let finished = false;

  const record = (f: Finding) => {
    // One kind per cause: times, ports, counts and the details in parentheses vary from one input to the next.
    const first = f.detail
      .split('\n')[0]
      .replace(/ \(.*$/, '')
      .replace(/\d+(\.\d+)? ms/g, 'N ms')
      .replace(/:\d{2,5}\b/g, ':PORT')
      .replace(/after \d+ inputs/, 'after N inputs');
    const kind = `${f.target}: ${first.slice(0, 200)}`;
    let k = findings.get(kind);
    if (!k) findings.set(kind, (k = { count: 0, examples: [] }));
    k.count++;
    if (k.examples.length < MAX_FINDINGS_PER_KIND) k.examples.push(f);
  };
  const currentInput = (): Finding => ({
    target: names[Atomics.load(ctrl, 1)] ?? '?',
    input: desc.toString('utf8', 0, Atomics.load(ctrl, 2)),
    detail: '',
  });

  const worker = new Worker(new URL(import.meta.url), {
    workerData: { options, shared },
    resourceLimits: { maxOldGenerationSizeMb: 1024 },
  });
  worker.on('message', (m: FromWorker) => {
    if (m.kind === 'finding') record(m.finding);
    else {
      stats = m.stats;
      if (m.kind === 'done') {
        finished = true;
        void worker.terminate(); // whatever the targets left behind (sockets closing, timers) is not waited for
      } else
        process.stdout.write(
          `  … ${stats.reduce((s, x) => s + x.inputs, 0)} inputs, ${findings.size} kinds of finding\n`,
        );
    }
  });

  // Watchdog: an input that has not returned after this long is reported as a hang and the run stops.
  const stuckMs = Math.max(5 * options.hangMs, 5000);
  let lastCount = -1;
  let lastAlive = -1;
  let lastChange = performance.now();
  const started = performance.now();
  const watchdog = setInterval(() => {
    // Progress: a new input, or (asynchronous targets) an event loop still turning while an input waits.
    const count = Atomics.load(ctrl, 0);
    const alive = Atomics.load(ctrl, 3);
    if (count !== lastCount || alive !== lastAlive) {
      lastCount = count;
      lastAlive = alive;
      lastChange = performance.now();
    } else if (!finished && performance.now() - lastChange > stuckMs) {
      record({ ...currentInput(), detail: `hang: no result after ${stuckMs} ms (worker stopped)` });
      void worker.terminate();
    }
  }, 100);

  const exitCode = await new Promise<number>((resolve) => {
    worker.on('error', (e: Error & { code?: string }) => {
      const what =
        e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'out of memory (over 1 GB of heap)' : `worker crashed: ${e.stack ?? e}`;
      record({ ...currentInput(), detail: what });
    });
    worker.on('exit', resolve);
  });
  clearInterval(watchdog);
  const seconds = (performance.now() - started) / 1000;

  console.log('');
  console.log(
    `${'target'.padEnd(24)} ${'inputs'.padStart(10)} ${'seconds'.padStart(8)} ${'inputs/s'.padStart(10)} ${'slowest'.padStart(10)}`,
  );
  for (const s of stats) {
    const perSecond = s.ms > 0 ? s.inputs / (s.ms / 1000) : 0;
    console.log(
      `${s.target.padEnd(24)} ${String(s.inputs).padStart(10)} ${(s.ms / 1000).toFixed(1).padStart(8)} ${perSecond.toFixed(0).padStart(10)} ${(s.slowestMs.toFixed(1) + ' ms').padStart(10)}`,
    );
  }
  console.log(
    `${'total'.padEnd(24)} ${String(stats.reduce((a, s) => a + s.inputs, 0)).padStart(10)}   in ${seconds.toFixed(1)} s`,
  );
  for (const s of stats) if (s.note) console.log(`${s.target}: ${s.note}`);

  if (!finished && findings.size === 0) record({ ...currentInput(), detail: `worker exited early (code ${exitCode})` });
  if (findings.size === 0) {
    console.log('\nno findings');
    return;
  }
  console.log(`\n${findings.size} kind(s) of finding:`);
  for (const [kind, { count, examples }] of findings) {
    console.log(`\n* ${kind}  (×${count})`);
    for (const f of examples) {
      console.log(
        `  input: ${f.input.length > 2000 ? f.input.slice(0, 2000) + `… (${f.input.length} chars)` : f.input}`,
      );
      if (f.stack) console.log(`  ${f.stack.split('\n').slice(0, 6).join('\n  ')}`);
    }
  }
  console.log(
    `\nrerun with --seed ${options.seed}: each target then draws the same input sequence (how far it gets depends on speed)`,
  );
  process.exitCode = 1;
}

if (isMainThread) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
} else {
  workerMain().catch((e) => {
    // A target that cannot even start (its server does not listen…): say so, and end the run.
    parentPort!.postMessage({
      kind: 'finding',
      finding: {
        target: '?',
        input: '',
        detail: `the fuzzer failed: ${(e as Error)?.message ?? e}`,
        stack: (e as Error)?.stack,
      },
    } satisfies FromWorker);
    process.exit(1);
  });
}
