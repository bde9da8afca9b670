/**
 * Soak: mixed load for a set time across real processes, watching memory, handles and every answer.
 *
 *   npm run soak -- [--minutes N | --seconds N] [--sample-seconds S] [--loads N] [--warmup F]
 *                   [--signal-hz H] [--seed S] [--no-ipc] [--skip TASK,…] [--snapshots DIR] [--verbose]
 *
 * Processes (all forked from this file, each with an IPC channel to this one):
 * - `server`: a standalone ServiceDirectory that also registers the test Calculator; it emits `fired`
 *   (seq, "s<seq>") at a steady rate (--signal-hz, default 100). It also registers `SoakStreams`
 *   (scripts/soak-streams.ts), whose `frames(count, seed)` returns a stream of typed frames, and counts
 *   every QiStream it made until it ended or was closed, and the objects it serves by reference;
 * - `gateway`: a Gateway in front of that SD, open to anonymous clients;
 * - `load` × --loads (default 2): each runs, until told to stop, every kind of traffic both directly
 *   (SD and service, over the unix socket unless --no-ipc) and through the gateway (TCP):
 *   sequential `add`, batches of concurrent `add`, `echoRaw` of 64 KiB–4 MiB, continuous `fired`
 *   subscribers that check every sequence number (no gap, duplicate or reordering), `volume` sets (load 0
 *   only, numbered) and watches (every load, also checked for gaps), objects by reference (`makeCounter`
 *   and `useCounter` with a client object), sessions that connect, call, subscribe once and close again
 *   and again, `slow` calls canceled mid-flight (AbortSignal) or timed out, and `streams`: streams of
 *   20–200 frames of 1–64 KiB opened with a random credit and read with every frame checked (index in
 *   order, size, bytes), read to the end, left early with `break`, or abandoned by closing their whole
 *   session mid-stream. Through the gateway only, `abandon`: sessions that get 1–5 objects by reference
 *   (`makeCounter`), sometimes with one more makeCounter call still on its way, and close without
 *   releasing them (the gateway must terminate them in the service).
 *
 * Every --sample-seconds (default 5, less for short runs) each process runs a full GC and reports its
 * memory (rss, heapUsed, external, arrayBuffers) and `process.getActiveResourcesInfo()` counts; loads
 * also report their counters. The run fails (exit code 1), as soon as it is seen, when:
 * - after the warm-up (--warmup, default the first 20% of the run) a process's heapUsed, as the median of
 *   its last 3 samples, exceeds its baseline (the median of the last 3 warm-up samples) by more than
 *   20% + 10 MiB, or its handle count (median of the last 3) the most seen during the warm-up by more
 *   than 20% + 16;
 * - any call answered a wrong value, any error other than the expected cancellations/timeouts occurred,
 *   a signal or property change was lost, duplicated or reordered, a stream frame was wrong, missing or
 *   reordered, a process crashed or printed a warning (MaxListenersExceeded…);
 * - a stream writer of the service is still open STREAM_RELEASE_MS (30 s) after it was made (its reader
 *   read to the end, broke off or left: it should have been released), or stopped on an error other
 *   than its reader closing;
 * and at the end when the service's aborted + completed slow() calls differ from the calls made
 * (cancellations lost or doubled), when more than 1% (at least 5) of the canceled calls still ran to their
 * end on the service or were answered to the client (only a process held up longer than the call, by a
 * heap snapshot or a stall, may see that), or when, all loads gone, the server or the gateway holds more
 * sockets than before the load began (+4: the gateway keeps its shared upstream connection), the
 * service still serves objects by reference (bound on any of its connections, beyond those of before the
 * load) or the gateway still counts holders of some (`heldObjects`), or a stream is still open, or the
 * service's streams made ≠ ended + closed or ≠ the streams the loads opened.
 *
 * --snapshots DIR writes a heap snapshot of every process at the end of the warm-up and at the end (or
 * at the failure), to compare in Chrome DevTools (Memory → Comparison). --skip leaves traffic kinds out,
 * to tell which one a growth comes from.
 *
 * Nothing is left behind: children exit when this process's IPC channel closes, and this process kills
 * them on exit, SIGINT, SIGTERM and failure; every wait has a bound, and the whole run has a deadline.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { Gateway, QiError, Session, listenStandalone, type AnyProxy } from '../src/index.js';
import { gc } from '../test/helpers/gc.js';
import {
  emptyStreamStats,
  streamRound,
  streamService,
  type StreamLoadStats,
  type StreamServiceStats,
} from './soak-streams.js';
// The Calculator fixture is imported where it is used, by the server and load processes: its module
// imports node:test, whose harness the coordinator must not start (it would print to our stdout).
import type { CalcState } from '../test/object/fixtures.js';

const MiB = 1024 * 1024;
const CALL_TIMEOUT_MS = 30_000;
const SESSION_TIMEOUT_MS = 15_000;
const REPLY_TIMEOUT_MS = 15_000;
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 45_000;
/** Bounds: heapUsed may grow by HEAP_RATIO × baseline + HEAP_SLACK, handles by HANDLE_RATIO × baseline + HANDLE_SLACK. */
const HEAP_RATIO = 0.2;
const HEAP_SLACK = 10 * MiB;
const HANDLE_RATIO = 0.2;
const HANDLE_SLACK = 16;
/** Sockets the server or the gateway may hold after the load, beyond what it held before (shared upstream connections). */
const QUIESCED_SOCKET_SLACK = 4;
/** Samples whose median is compared (the last ones of the warm-up, the last ones of the run). */
const MEDIAN_OF = 3;
/** A stream writer still open this long after it was made was never released. */
const STREAM_RELEASE_MS = 30_000;

// ---------------------------------------------------------------------------------------------------
// Messages between the coordinator and its children.

interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  handles: Record<string, number>;
}

interface LoadStats {
  calls: Record<string, number>;
  /** Payload bytes sent and received by echoRaw. */
  bytes: number;
  /** Unexpected errors by `task:code`. */
  errors: Record<string, number>;
  /** Expected outcomes (cancellations, timeouts) by `task:code`. */
  expected: Record<string, number>;
  wrong: number;
  problems: string[];
  signals: { received: number; expected: number; gaps: number; duplicates: number; subscribers: number };
  property: { sets: number; events: number; gaps: number; duplicates: number };
  connects: { direct: number; gateway: number };
  objects: number;
  /** slow() calls canceled by an AbortSignal or by their timeout. */
  canceled: number;
  /** slow() calls answered before their cancellation or timeout could happen (this process held up). */
  answeredFirst: number;
  streams: StreamLoadStats;
  /** Gateway sessions closed without releasing their objects; the objects they held; those with a makeCounter call still on its way. */
  abandon: { sessions: number; objects: number; inFlight: number };
}

interface ServerExtra {
  emitted: number;
  aborted: number;
  slowCompleted: number;
  channels: number;
  droppedEvents: number;
  /** Objects served by reference (not a service's main object) on all the server's connections. */
  objects: number;
  streams: StreamServiceStats;
}

type ToChild = { type: 'sample'; id: number } | { type: 'stop' } | { type: 'snapshot'; id: number; file: string };
type FromChild =
  | { type: 'ready'; info: Record<string, unknown> }
  | { type: 'sample'; id: number; sample: Sample; stats?: LoadStats; extra?: Record<string, unknown> }
  | { type: 'snapshot'; id: number; file: string }
  | { type: 'stopped'; stats?: LoadStats; extra?: Record<string, unknown> }
  | { type: 'fatal'; error: string }
  | { type: 'warning'; warning: string };

// ---------------------------------------------------------------------------------------------------
// Small tools.

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A seeded PRNG (mulberry32): the same seed gives the same sizes, numbers and pauses. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo)) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
}

function errorKind(e: unknown): string {
  if (e instanceof QiError) return e.code;
  if (e instanceof Error) return e.name;
  return typeof e;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

function takeSample(): Sample {
  gc();
  const m = process.memoryUsage();
  const handles: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) handles[r] = (handles[r] ?? 0) + 1;
  return {
    t: Date.now(),
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    handles,
  };
}

const totalHandles = (s: Sample) => Object.values(s.handles).reduce((a, b) => a + b, 0);
const socketHandles = (s: Sample) =>
  Object.entries(s.handles).reduce((a, [k, n]) => a + (/(TCPSocketWrap|PipeWrap|TLSWrap)$/.test(k) ? n : 0), 0);
const mb = (n: number) => (n / MiB).toFixed(1);

// ---------------------------------------------------------------------------------------------------
// Children: the common part.

function send(m: FromChild): void {
  if (process.connected) process.send!(m);
}

/** Wires a child: exits when the coordinator goes, reports crashes and warnings, answers sample requests. */
function child(handlers: {
  sample(): Omit<Extract<FromChild, { type: 'sample' }>, 'type' | 'id'>;
  stop(): Promise<Omit<Extract<FromChild, { type: 'stopped' }>, 'type'>>;
}): void {
  process.on('disconnect', () => process.exit(3));
  process.on('uncaughtException', (e) => {
    send({ type: 'fatal', error: `uncaught exception: ${e.stack ?? describe(e)}` });
    setTimeout(() => process.exit(4), 100);
  });
  process.on('unhandledRejection', (e) => {
    send({ type: 'fatal', error: `unhandled rejection: ${e instanceof Error ? (e.stack ?? describe(e)) : String(e)}` });
    setTimeout(() => process.exit(4), 100);
  });
  process.on('warning', (w) => send({ type: 'warning', warning: `${w.name}: ${w.message}` }));
  let stopping = false;
  process.on('message', (m: ToChild) => {
    if (m.type === 'sample') send({ type: 'sample', id: m.id, ...handlers.sample() });
    else if (m.type === 'snapshot') send({ type: 'snapshot', id: m.id, file: writeHeapSnapshot(m.file) });
    else if (m.type === 'stop' && !stopping) {
      stopping = true;
      handlers.stop().then(
        (r) => {
          send({ type: 'stopped', ...r });
          setTimeout(() => process.exit(0), 50);
        },
        (e) => {
          send({ type: 'fatal', error: `stopping: ${describe(e)}` });
          setTimeout(() => process.exit(4), 100);
        },
      );
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// The server: SD + Calculator, emitting `fired`.

async function runServer(args: Map<string, string>): Promise<void> {
  const { calculator } = await import('../test/object/fixtures.js');
  const hz = Number(args.get('signal-hz') ?? 100);
  const session = await listenStandalone('tcp://127.0.0.1:0', { ipc: !args.has('no-ipc') });
  const state: CalcState = { aborted: 0, order: [] };
  const calc = calculator(state);
  await session.registerService('Calculator', calc);
  const streams = streamService();
  await session.registerService('SoakStreams', streams.object);
  let emitted = 0;
  let slowCompleted = 0;
  // A steady rate: each tick emits what the clock says is due (timers run late under load), at most
  // a few at once.
  const since = performance.now();
  const emitter = setInterval(
    () => {
      const due = Math.floor(((performance.now() - since) * hz) / 1000);
      for (let n = 0; emitted < due && n < 10; n++) {
        calc.emit('fired', emitted, `s${emitted}`);
        emitted++;
      }
    },
    Math.max(1, 1000 / hz),
  );
  const extra = (): ServerExtra => {
    // Every completed slow() leaves a line in state.order: count them and keep the array empty.
    slowCompleted += state.order.length;
    state.order.length = 0;
    // How many connections the session holds now and the signals it dropped on them (diagnostics), and
    // the objects it serves by reference on them (checked once every load left).
    const channels = (
      session as unknown as { channels?: Set<{ droppedEvents?: number; handlers?: Map<number, unknown> }> }
    ).channels;
    let dropped = 0;
    // Objects served by reference: every object bound on a connection other than a service's main one
    // (object id 1; the channel keys its bindings service × 2^32 + object).
    let objects = 0;
    for (const c of channels ?? []) {
      dropped += c.droppedEvents ?? 0;
      for (const k of c.handlers?.keys() ?? []) if (k % 0x1_0000_0000 !== 1) objects++;
    }
    return {
      emitted,
      aborted: state.aborted,
      slowCompleted,
      channels: channels?.size ?? -1,
      droppedEvents: dropped,
      objects,
      streams: streams.stats(STREAM_RELEASE_MS),
    };
  };
  child({
    sample: () => ({ sample: takeSample(), extra: { ...extra() } }),
    stop: async () => {
      clearInterval(emitter);
      const e = extra();
      await withTimeout(session.close(), SESSION_TIMEOUT_MS, 'closing the server session');
      return { extra: { ...e } };
    },
  });
  send({
    type: 'ready',
    info: { sd: session.endpoints.find((e) => e.startsWith('tcp:')), endpoints: session.endpoints },
  });
}

// ---------------------------------------------------------------------------------------------------
// The gateway.

async function runGateway(args: Map<string, string>): Promise<void> {
  const gw = await Gateway.start({
    sd: args.get('sd')!,
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
    maxConnectionsPerAddress: 10_000,
  });
  const extra = () => ({ ...gw.metrics, upstreamSubscriptions: gw.upstreamSubscriptions, heldObjects: gw.heldObjects });
  child({
    sample: () => ({ sample: takeSample(), extra: extra() }),
    stop: async () => {
      const e = extra();
      await withTimeout(gw.close(), SESSION_TIMEOUT_MS, 'closing the gateway');
      return { extra: e };
    },
  });
  send({ type: 'ready', info: { url: gw.url } });
}

// ---------------------------------------------------------------------------------------------------
// A load generator.

type Calc = AnyProxy;

async function runLoad(args: Map<string, string>): Promise<void> {
  const { counter } = await import('../test/object/fixtures.js');
  const index = Number(args.get('index'));
  const skip = new Set((args.get('skip') ?? '').split(',').filter((x) => x !== ''));
  const sdUrl = args.get('sd')!;
  const gwUrl = args.get('gw')!;
  const r = rng(Number(args.get('seed')) + index * 7919);
  const stats: LoadStats = {
    calls: {},
    bytes: 0,
    errors: {},
    expected: {},
    wrong: 0,
    problems: [],
    signals: { received: 0, expected: 0, gaps: 0, duplicates: 0, subscribers: 0 },
    property: { sets: 0, events: 0, gaps: 0, duplicates: 0 },
    connects: { direct: 0, gateway: 0 },
    objects: 0,
    canceled: 0,
    answeredFirst: 0,
    streams: emptyStreamStats(),
    abandon: { sessions: 0, objects: 0, inFlight: 0 },
  };
  const problem = (text: string) => {
    if (stats.problems.length < 20) stats.problems.push(`load ${index}: ${text}`);
  };
  const count = (task: string) => (stats.calls[task] = (stats.calls[task] ?? 0) + 1);
  const wrong = (task: string, text: string) => {
    stats.wrong++;
    problem(`${task}: wrong value: ${text}`);
  };
  const unexpected = (task: string, e: unknown) => {
    const k = `${task}:${errorKind(e)}`;
    stats.errors[k] = (stats.errors[k] ?? 0) + 1;
    problem(`${task}: ${describe(e)}`);
  };
  const expected = (task: string, kind: string) =>
    (stats.expected[`${task}:${kind}`] = (stats.expected[`${task}:${kind}`] ?? 0) + 1);
  const opts = { timeoutMs: CALL_TIMEOUT_MS };
  const pool = randomBytes(4 * MiB + 64 * 1024);

  const connect = async (url: string) => withTimeout(Session.connect(url), SESSION_TIMEOUT_MS, `connecting to ${url}`);
  const calcOf = async (s: Session) =>
    (await withTimeout(
      s.service('Calculator', { timeoutMs: SESSION_TIMEOUT_MS }),
      SESSION_TIMEOUT_MS,
      'Calculator lookup',
    )) as Calc;
  const routes = { direct: sdUrl, gateway: gwUrl } as const;
  type Route = keyof typeof routes;
  const sessions: Session[] = [];
  const open = async (route: Route) => {
    const s = await connect(routes[route]);
    sessions.push(s);
    return { session: s, calc: await calcOf(s) };
  };
  // One session per route for calls, one per route for signal and property subscribers (kept apart so
  // that large answers never queue in front of the signals they carry).
  const main = { direct: await open('direct'), gateway: await open('gateway') };
  const subs = { direct: await open('direct'), gateway: await open('gateway') };

  let running = true;
  const loops: Promise<void>[] = [];
  /** Runs `body` again and again until stopped; an error thrown by `body` is unexpected. */
  const loop = (task: string, body: () => Promise<void>) => {
    if (skip.has(task.split('.')[0])) return;
    loops.push(
      (async () => {
        while (running) {
          try {
            await body();
          } catch (e) {
            unexpected(task, e);
            await sleep(100);
          }
        }
      })(),
    );
  };
  const int = () => r.int(-(2 ** 30), 2 ** 30);

  for (const route of ['direct', 'gateway'] as const) {
    const calc = main[route].calc;

    loop(`add.${route}`, async () => {
      const a = int();
      const b = int();
      const sum = await calc.add(a, b, opts);
      count(`add.${route}`);
      if (sum !== a + b) wrong(`add.${route}`, `add(${a}, ${b}) = ${String(sum)}`);
    });

    loop(`concurrent.${route}`, async () => {
      const pairs = Array.from({ length: 64 }, () => [int(), int()] as const);
      // One bound for the whole batch: a timer per call would make the handle count swing with the batches.
      const sums = await withTimeout(
        Promise.all(pairs.map(([a, b]) => calc.add(a, b))),
        CALL_TIMEOUT_MS,
        `a batch of ${pairs.length} add calls`,
      );
      for (let i = 0; i < pairs.length; i++) {
        count(`concurrent.${route}`);
        if (sums[i] !== pairs[i][0] + pairs[i][1])
          wrong(`concurrent.${route}`, `add(${pairs[i][0]}, ${pairs[i][1]}) = ${String(sums[i])}`);
      }
      await sleep(5);
    });

    loop(`large.${route}`, async () => {
      // Log-uniform between 64 KiB and 4 MiB.
      const size = Math.round(64 * 1024 * 2 ** (r.next() * 6));
      const offset = r.int(0, pool.length - size);
      const sent = pool.subarray(offset, offset + size);
      const back = (await calc.echoRaw(sent, opts)) as Uint8Array;
      count(`large.${route}`);
      stats.bytes += 2 * size;
      if (!Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(sent))
        wrong(`large.${route}`, `echoRaw of ${size} bytes came back different (${back.byteLength} bytes)`);
      await sleep(r.int(0, 20));
    });

    loop(`objects.${route}`, async () => {
      const start = r.int(0, 1_000_000);
      const c = (await calc.makeCounter(start, opts)) as Calc;
      const one = await c.increment(opts);
      const value = await c.value(opts);
      if (one !== start + 1 || value !== start + 1)
        wrong(`objects.${route}`, `makeCounter(${start}): increment ${String(one)}, value ${String(value)}`);
      const mine = r.int(0, 1_000_000);
      const used = await calc.useCounter(counter(mine), opts);
      if (used !== mine + 2) wrong(`objects.${route}`, `useCounter(counter(${mine})) = ${String(used)}`);
      count(`objects.${route}`);
      stats.objects += 2;
      await sleep(r.int(0, 10));
    });

    loop(`cancel.${route}`, async () => {
      const timeout = r.next() < 0.2;
      const ms = r.int(300, 600);
      const ac = new AbortController();
      const abortAfter = r.int(10, 90);
      const timer = timeout ? undefined : setTimeout(() => ac.abort(), abortAfter);
      try {
        const v = await calc.slow(
          ms,
          timeout ? { timeoutMs: abortAfter } : { signal: ac.signal, timeoutMs: CALL_TIMEOUT_MS },
        );
        // An answer is right only when it was read before the abort (or the timeout) happened here: when
        // this process (or the service) was held up for longer than the call (a heap snapshot, a stall).
        if (v !== ms || ac.signal.aborted)
          wrong(
            `cancel.${route}`,
            `slow(${ms}) ${timeout ? 'with a timeout' : 'canceled'} after ${abortAfter} ms answered ${String(v)}`,
          );
        else {
          expected(`cancel.${route}`, 'answered-first');
          stats.answeredFirst++;
        }
      } catch (e) {
        const k = errorKind(e);
        if (k === (timeout ? 'ERR_QI_TIMEOUT' : 'ERR_QI_CANCELED')) {
          expected(`cancel.${route}`, k);
          stats.canceled++;
        } else unexpected(`cancel.${route}`, e);
      } finally {
        clearTimeout(timer);
      }
      count(`cancel.${route}`);
      await sleep(r.int(0, 30));
    });

    loop(`churn.${route}`, async () => {
      const s = await connect(routes[route]);
      try {
        stats.connects[route]++;
        const c = await calcOf(s);
        const a = int();
        const b = int();
        const sum = await c.add(a, b, opts);
        count(`churn.${route}`);
        if (sum !== a + b) wrong(`churn.${route}`, `add(${a}, ${b}) = ${String(sum)}`);
        if (stats.connects[route] % 2 === 0) {
          // Subscribe, take one signal, unsubscribe.
          const ac = new AbortController();
          const timer = setTimeout(
            () => ac.abort(new Error(`no fired signal within ${SESSION_TIMEOUT_MS} ms`)),
            SESSION_TIMEOUT_MS,
          );
          try {
            const [seq, text] = (await c.fired.once({ signal: ac.signal })) as [number, string];
            if (text !== `s${seq}`) wrong(`churn.${route}`, `fired(${seq}, ${JSON.stringify(text)})`);
          } finally {
            clearTimeout(timer);
          }
        }
      } finally {
        await withTimeout(s.close(), SESSION_TIMEOUT_MS, 'closing a churn session');
      }
      await sleep(r.int(10, 40));
    });

    loop(`streams.${route}`, async () => {
      await streamRound(
        {
          stats: stats.streams,
          r,
          wrong,
          session: main[route].session,
          connect: () => connect(routes[route]),
          close: (s) => withTimeout(s.close(), SESSION_TIMEOUT_MS, 'closing a stream session'),
          lookupTimeoutMs: SESSION_TIMEOUT_MS,
          callTimeoutMs: CALL_TIMEOUT_MS,
        },
        `streams.${route}`,
      );
      count(`streams.${route}`);
      await sleep(r.int(0, 30));
    });
  }

  // Sessions through the gateway that take objects by reference and leave without releasing them: the
  // gateway must terminate them in the service (checked at the end: the service serves none).
  loop('abandon', async () => {
    const s = await connect(gwUrl);
    const held: Calc[] = [];
    let onItsWay: Promise<unknown> | undefined;
    try {
      const c = await calcOf(s);
      const n = r.int(1, 6);
      for (let i = 0; i < n; i++) {
        const start = r.int(0, 1_000_000);
        const o = (await c.makeCounter(start, opts)) as Calc;
        const one = await o.increment(opts);
        if (one !== start + 1) wrong('abandon', `makeCounter(${start}).increment() = ${String(one)}`);
        held.push(o);
      }
      // Now and then one more object is on its way back when the session closes.
      if (r.next() < 0.3) {
        onItsWay = c.makeCounter(0, opts).catch(() => undefined);
        stats.abandon.inFlight++;
      }
    } finally {
      await withTimeout(s.close(), SESSION_TIMEOUT_MS, 'closing an abandoning session');
    }
    await onItsWay;
    count('abandon');
    stats.abandon.sessions++;
    // Referenced until after the close: the proxies were not collected (hence not released) before it.
    stats.abandon.objects += held.length;
    held.length = 0;
    await sleep(r.int(10, 50));
  });

  // Continuous subscribers: every sequence number must come, once, in order.
  const offs: (() => Promise<void>)[] = [];
  const subscribers: { first?: number; last?: number; received: number }[] = [];
  for (const route of skip.has('signals') ? [] : (['direct', 'gateway'] as const)) {
    const sub = { received: 0 } as (typeof subscribers)[number];
    subscribers.push(sub);
    const off = await withTimeout(
      subs[route].calc.fired.connect((...args: unknown[]) => {
        const [seq, text] = args as [number, string];
        stats.signals.received++;
        sub.received++;
        if (text !== `s${seq}`) wrong(`signals.${route}`, `fired(${seq}, ${JSON.stringify(text)})`);
        if (sub.last !== undefined && seq !== sub.last + 1) {
          if (seq <= sub.last) {
            stats.signals.duplicates++;
            problem(`signals.${route}: ${seq} after ${sub.last} (duplicate or reordered)`);
          } else {
            stats.signals.gaps++;
            problem(`signals.${route}: ${seq} after ${sub.last}: ${seq - sub.last - 1} lost`);
          }
        }
        sub.first ??= seq;
        sub.last = Math.max(seq, sub.last ?? seq);
      }),
      SESSION_TIMEOUT_MS,
      'subscribing to fired',
    );
    offs.push(off);
    stats.signals.subscribers++;
  }

  // Property: load 0 sets numbered values (k/8, exact in a float) one after the other; every load
  // watches on both routes and checks that the numbers follow each other.
  const K = 4096;
  for (const route of skip.has('property') ? [] : (['direct', 'gateway'] as const)) {
    let last: number | undefined;
    const off = await withTimeout(
      subs[route].calc.volume.watch((v: unknown) => {
        stats.property.events++;
        const k = (v as number) * 8;
        if (!Number.isInteger(k) || k < 0 || k >= K) {
          wrong(`watch.${route}`, `volume ${String(v)}`);
          return;
        }
        if (last !== undefined) {
          const step = (k - last + K) % K;
          if (step === 0 || step > K / 2) {
            stats.property.duplicates++;
            problem(`watch.${route}: volume ${k}/8 after ${last}/8 (duplicate or reordered)`);
          } else if (step > 1) {
            stats.property.gaps++;
            problem(`watch.${route}: volume ${k}/8 after ${last}/8: ${step - 1} changes lost`);
          }
        }
        last = k;
      }),
      SESSION_TIMEOUT_MS,
      'watching volume',
    );
    offs.push(off);
  }
  if (index === 0) {
    let k = 0;
    loop('property', async () => {
      k = (k + 1) % K;
      const route: Route = k % 2 ? 'direct' : 'gateway';
      const calc = main[route].calc;
      await withTimeout(calc.volume.set(k / 8), CALL_TIMEOUT_MS, 'volume.set');
      stats.property.sets++;
      const got = await withTimeout(calc.volume.get(), CALL_TIMEOUT_MS, 'volume.get');
      count('property');
      if (got !== k / 8) wrong('property', `volume set to ${k / 8} then read ${String(got)}`);
      await sleep(r.int(5, 15));
    });
  }

  const snapshot = (): LoadStats => {
    stats.signals.expected = subscribers.reduce((a, s) => a + (s.first === undefined ? 0 : s.last! - s.first + 1), 0);
    return structuredClone(stats);
  };
  child({
    sample: () => ({ sample: takeSample(), stats: snapshot() }),
    stop: async () => {
      running = false;
      await withTimeout(Promise.all(loops), STOP_TIMEOUT_MS - 10_000, `load ${index}: finishing its loops`);
      // Let the last signals in flight arrive before counting them.
      await sleep(200);
      const final = snapshot();
      for (const off of offs) await withTimeout(off(), SESSION_TIMEOUT_MS, 'unsubscribing');
      await withTimeout(Promise.all(sessions.map((s) => s.close())), SESSION_TIMEOUT_MS, 'closing the load sessions');
      return { stats: final };
    },
  });
  send({ type: 'ready', info: { index } });
}

// ---------------------------------------------------------------------------------------------------
// The coordinator.

interface Options {
  seconds: number;
  sampleSeconds: number;
  loads: number;
  warmup: number;
  signalHz: number;
  seed: number;
  ipc: boolean;
  skip: string;
  snapshots?: string;
  verbose: boolean;
}

const MAX_SECONDS = 24 * 3600;
const TASKS = ['add', 'concurrent', 'large', 'objects', 'cancel', 'churn', 'signals', 'property', 'streams', 'abandon'];

function usage(problem?: string): never {
  if (problem) console.error(problem);
  console.error(
    'usage: node dist/scripts/soak.js [--minutes N (default 10) | --seconds N] [--sample-seconds S] [--loads N (default 2)]\n' +
      '                                 [--warmup F (default 0.2)] [--signal-hz H (default 100)] [--seed S] [--no-ipc] [--snapshots DIR] [--verbose]\n' +
      `                                 [--skip TASK,… (${TASKS.join(', ')})]`,
  );
  process.exit(problem ? 2 : 0);
}

function parseOptions(argv: string[]): Options {
  let seconds = 600;
  let sampleSeconds: number | undefined;
  const o = {
    loads: 2,
    warmup: 0.2,
    signalHz: 100,
    seed: (Date.now() ^ (process.pid << 8)) >>> 0,
    ipc: true,
    skip: '',
    verbose: false,
  } as Omit<Options, 'seconds' | 'sampleSeconds'> & { snapshots?: string };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (min: number, max: number) => {
      const v = argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < min || n > max)
        usage(`${a} needs a number between ${min} and ${max}, not ${v}`);
      return n;
    };
    if (a === '--minutes') seconds = num(0.01, MAX_SECONDS / 60) * 60;
    else if (a === '--seconds') seconds = num(1, MAX_SECONDS);
    else if (a === '--sample-seconds') sampleSeconds = num(0.2, 3600);
    else if (a === '--loads') o.loads = Math.round(num(1, 16));
    else if (a === '--warmup') o.warmup = num(0, 0.9);
    else if (a === '--signal-hz') o.signalHz = num(1, 1000);
    else if (a === '--seed') o.seed = num(0, 2 ** 32) >>> 0;
    else if (a === '--no-ipc') o.ipc = false;
    else if (a === '--skip') {
      o.skip = argv[++i] ?? usage('--skip needs a list');
      for (const k of o.skip.split(','))
        if (!TASKS.includes(k)) usage(`--skip: no task ${k} (tasks: ${TASKS.join(', ')})`);
    } else if (a === '--snapshots') o.snapshots = argv[++i] ?? usage('--snapshots needs a directory');
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  // Short runs sample more often, so that the warm-up and the end each have several samples.
  return { ...o, seconds, sampleSeconds: sampleSeconds ?? Math.min(5, Math.max(0.5, seconds / 10)) };
}

class Child {
  readonly process: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (m: FromChild) => void>();
  private readonly output: string[] = [];
  readonly warnings: string[] = [];
  fatal: string | undefined;
  stopped: Extract<FromChild, { type: 'stopped' }> | undefined;
  private readyWaiter: ((m: Extract<FromChild, { type: 'ready' }>) => void) | undefined;
  private stopWaiter: (() => void) | undefined;
  private exitWaiters: (() => void)[] = [];
  exited = false;
  /** Expected to exit (told to stop, or killed by us). */
  leaving = false;

  constructor(
    readonly name: string,
    args: string[],
    private readonly onTrouble: (child: Child, what: string) => void,
    verbose: boolean,
  ) {
    // Run as a test's subprocess, node:test (imported by the fixtures) would report to the test runner.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    this.process = fork(fileURLToPath(import.meta.url), args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    const keep = (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === '') continue;
        this.output.push(line);
        if (this.output.length > 40) this.output.shift();
        if (verbose) console.error(`[${this.name}] ${line}`);
      }
    };
    this.process.stdout!.on('data', keep);
    this.process.stderr!.on('data', keep);
    this.process.on('message', (m: FromChild) => {
      if (m.type === 'ready') this.readyWaiter?.(m);
      else if (m.type === 'sample' || m.type === 'snapshot') {
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
      } else if (m.type === 'stopped') {
        this.stopped = m;
        this.stopWaiter?.();
      } else if (m.type === 'fatal') {
        this.fatal ??= m.error;
        this.onTrouble(this, m.error);
      } else if (m.type === 'warning') {
        this.warnings.push(m.warning);
        this.onTrouble(this, `warning: ${m.warning}`);
      }
    });
    this.process.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.exitWaiters) w();
      if (!this.leaving) this.onTrouble(this, `exited unexpectedly (code ${code}, signal ${signal})`);
    });
    this.process.on('error', (e) => this.onTrouble(this, `process error: ${describe(e)}`));
  }

  /** The last lines the child printed. */
  get tail(): string {
    return this.output.map((l) => `    ${l}`).join('\n');
  }

  ready(): Promise<Record<string, unknown>> {
    return withTimeout(
      new Promise<Record<string, unknown>>((resolve, reject) => {
        this.readyWaiter = (m) => resolve(m.info);
        this.process.once('exit', (code) =>
          reject(new Error(`${this.name} exited (code ${code}) before being ready:\n${this.tail}`)),
        );
      }),
      READY_TIMEOUT_MS,
      `${this.name} getting ready`,
    );
  }

  private request<T extends FromChild>(m: { type: 'sample' } | { type: 'snapshot'; file: string }): Promise<T> {
    const id = this.nextId++;
    return withTimeout(
      new Promise<T>((resolve, reject) => {
        if (!this.process.connected) return reject(new Error(`${this.name} is gone`));
        this.waiting.set(id, resolve as (m: FromChild) => void);
        this.process.send({ ...m, id } satisfies ToChild);
      }),
      REPLY_TIMEOUT_MS,
      `${this.name} answering a ${m.type} request`,
    ).finally(() => this.waiting.delete(id));
  }

  sample() {
    return this.request<Extract<FromChild, { type: 'sample' }>>({ type: 'sample' });
  }

  snapshot(file: string) {
    return this.request<Extract<FromChild, { type: 'snapshot' }>>({ type: 'snapshot', file });
  }

  /** Asks the child to finish and exit; kills it if it has not within `ms`. */
  async stop(ms = STOP_TIMEOUT_MS): Promise<void> {
    this.leaving = true;
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.exitWaiters.push(r));
    const stopped = new Promise<void>((r) => (this.stopWaiter = r));
    if (this.process.connected) this.process.send({ type: 'stop' } satisfies ToChild);
    try {
      await withTimeout(
        Promise.all([stopped, exited]).then(() => {}),
        ms,
        `${this.name} stopping`,
      );
    } catch (e) {
      this.kill();
      await withTimeout(exited, 5000, `${this.name} dying`).catch(() => {});
      throw e;
    }
  }

  kill(): void {
    this.leaving = true;
    if (!this.exited) this.process.kill('SIGKILL');
  }
}

interface Row {
  elapsed: number;
  samples: Map<string, Sample>;
  loads: LoadStats[];
  server?: ServerExtra;
  gateway?: Record<string, unknown>;
}

function sumStats(all: LoadStats[]) {
  const calls = all.reduce((a, s) => a + Object.values(s.calls).reduce((x, y) => x + y, 0), 0);
  const merge = (pick: (s: LoadStats) => Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const s of all) for (const [k, v] of Object.entries(pick(s))) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const add = <K extends string>(pick: (s: LoadStats) => Record<K, number>) => {
    const out = {} as Record<K, number>;
    for (const s of all) for (const [k, v] of Object.entries(pick(s)) as [K, number][]) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    calls,
    byTask: merge((s) => s.calls),
    bytes: all.reduce((a, s) => a + s.bytes, 0),
    errors: merge((s) => s.errors),
    expected: merge((s) => s.expected),
    wrong: all.reduce((a, s) => a + s.wrong, 0),
    problems: all.flatMap((s) => s.problems),
    signals: add((s) => s.signals),
    property: add((s) => s.property),
    connects: add((s) => s.connects),
    objects: all.reduce((a, s) => a + s.objects, 0),
    canceled: all.reduce((a, s) => a + s.canceled, 0),
    answeredFirst: all.reduce((a, s) => a + s.answeredFirst, 0),
    streams: add((s) => s.streams),
    abandon: add((s) => s.abandon),
  };
}

async function coordinate(o: Options): Promise<number> {
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
    const server = spawn('sd+service', [
      '--role',
      'server',
      '--signal-hz',
      String(o.signalHz),
      ...(o.ipc ? [] : ['--no-ipc']),
    ]);
    const { sd } = (await server.ready()) as { sd: string };
    const gateway = spawn('gateway', ['--role', 'gateway', '--sd', sd]);
    const { url: gw } = (await gateway.ready()) as { url: string };
    const daemons = [server, gateway];
    idle = new Map();
    for (const d of daemons) {
      const m = await d.sample();
      idle.set(d.name, m.sample);
      if (d === server) idleServer = m.extra as unknown as ServerExtra;
    }

    const loads = Array.from({ length: o.loads }, (_, i) =>
      spawn(`load ${i}`, [
        '--role',
        'load',
        '--index',
        String(i),
        '--sd',
        sd,
        '--gw',
        gw,
        '--seed',
        String(o.seed),
        ...(o.skip ? ['--skip', o.skip] : []),
      ]),
    );
    await Promise.all(loads.map((l) => l.ready()));
    const loadStart = Date.now();
    console.log(`sd ${sd}, gateway ${gw}; load running\n`);
    console.log(header());

    const names = children.map((c) => c.name);
    const warmupEnd = o.seconds * o.warmup;
    const baseline = new Map<string, { heap: number; handles: number }>();
    let snapshotted = false;
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

      // Correctness, at once.
      const s = sumStats(row.loads);
      if (
        s.wrong > 0 ||
        Object.keys(s.errors).length > 0 ||
        s.signals.gaps + s.signals.duplicates + s.property.gaps + s.property.duplicates > 0
      ) {
        fail(
          `load: ${s.wrong} wrong values, errors ${JSON.stringify(s.errors)}, signals ${JSON.stringify(s.signals)}, property ${JSON.stringify(s.property)}\n${s.problems.map((p) => `    ${p}`).join('\n')}`,
        );
        break;
      }
      const st = row.server.streams;
      if (st.overdue > 0 || st.writerErrors > 0) {
        fail(
          `sd+service: ${st.overdue} stream writer(s) still open over ${STREAM_RELEASE_MS / 1000} s after they were made (never released; the oldest ${(st.oldestMs / 1000).toFixed(0)} s), ${st.writerErrors} writer error(s) ${JSON.stringify(st.writerProblems)}`,
        );
        break;
      }
      // Memory and handles, once past the warm-up.
      const past = rows.filter((x) => x.elapsed > warmupEnd);
      const during = rows.filter((x) => x.elapsed <= warmupEnd);
      if (baseline.size === 0 && past.length > 0 && during.length > 0) {
        for (const n of names) {
          const last = during.slice(-MEDIAN_OF).map((x) => x.samples.get(n)!);
          // Handles come and go with the work in flight (a timer per pending call, a socket per churning
          // client): the most seen during the warm-up is their baseline.
          const handles = Math.max(...during.map((x) => totalHandles(x.samples.get(n)!)));
          baseline.set(n, { heap: median(last.map((x) => x.heapUsed)), handles });
        }
        if (!snapshotted) {
          snapshotted = true;
          await snapshots('baseline');
        }
      }
      if (baseline.size > 0 && past.length >= MEDIAN_OF) {
        for (const n of names) {
          const b = baseline.get(n)!;
          const last = rows.slice(-MEDIAN_OF).map((x) => x.samples.get(n)!);
          const heap = median(last.map((x) => x.heapUsed));
          const handles = median(last.map(totalHandles));
          const heapBound = b.heap * (1 + HEAP_RATIO) + HEAP_SLACK;
          const handleBound = b.handles * (1 + HANDLE_RATIO) + HANDLE_SLACK;
          if (heap > heapBound)
            fail(
              `${n}: heapUsed ${mb(heap)} MiB (median of the last ${MEDIAN_OF} samples) is over its bound ${mb(heapBound)} MiB (baseline ${mb(b.heap)} MiB + 20% + 10 MiB)`,
            );
          if (handles > handleBound)
            fail(
              `${n}: ${handles} handles (median of the last ${MEDIAN_OF} samples) is over its bound ${handleBound.toFixed(0)} (baseline ${b.handles}, the most during the warm-up, + 20% + ${HANDLE_SLACK}); last: ${JSON.stringify(last[last.length - 1].handles)}`,
            );
        }
      }
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
  if (finalLoads.length > 0) {
    if (s.wrong > 0 || Object.keys(s.errors).length > 0)
      fail(
        `load: ${s.wrong} wrong values, unexpected errors ${JSON.stringify(s.errors)}\n${s.problems.map((p) => `    ${p}`).join('\n')}`,
      );
    if (s.signals.gaps + s.signals.duplicates > 0 || s.signals.received !== s.signals.expected)
      fail(
        `signals: received ${s.signals.received} of ${s.signals.expected} (gaps ${s.signals.gaps}, duplicates ${s.signals.duplicates})`,
      );
    if (s.property.gaps + s.property.duplicates > 0)
      fail(`property watches: ${s.property.gaps} gaps, ${s.property.duplicates} duplicates`);
  }
  if (finalServer !== undefined && finalLoads.length === o.loads) {
    // Every slow() call is canceled while the service still runs it; only a process held up for longer
    // than the call (see answeredFirst) lets one run to its end. Each either ended or was aborted, once.
    const slowCalls = (s.byTask['cancel.direct'] ?? 0) + (s.byTask['cancel.gateway'] ?? 0);
    const tolerance = Math.max(5, Math.ceil(slowCalls * 0.01));
    if (finalServer.aborted + finalServer.slowCompleted !== slowCalls)
      fail(
        `sd+service: ${finalServer.aborted} slow() calls aborted + ${finalServer.slowCompleted} ended ≠ ${slowCalls} made (cancellations lost or doubled)`,
      );
    if (finalServer.slowCompleted > s.answeredFirst + tolerance)
      fail(
        `sd+service: ${finalServer.slowCompleted} canceled slow() calls ran to their end (the clients saw ${s.answeredFirst} answered first)`,
      );
    if (s.answeredFirst > tolerance)
      fail(
        `load: ${s.answeredFirst} slow() calls were answered although canceled or timed out first (more than ${tolerance})`,
      );
  }
  if (finalServer !== undefined && finalLoads.length === o.loads) {
    // Every stream the service made was released: read to its end, or closed by a reader that broke off
    // or left; the loads opened as many as it made.
    const st = finalServer.streams;
    const sl = s.streams;
    if (st.open > 0)
      fail(
        `sd+service: ${st.open} stream writer(s) still open once every load left (the oldest made ${(st.oldestMs / 1000).toFixed(0)} s ago)`,
      );
    if (st.made !== st.ended + st.closed + st.open)
      fail(`sd+service: ${st.made} streams made ≠ ${st.ended} ended + ${st.closed} closed + ${st.open} open`);
    if (st.made !== sl.opened) fail(`sd+service: made ${st.made} streams, the loads opened ${sl.opened}`);
    if (st.ended < sl.completed || st.ended > sl.completed + sl.brokenOff + sl.sessionClosed)
      fail(
        `sd+service: ${st.ended} streams ended, the loads read ${sl.completed} to their end (and left ${sl.brokenOff + sl.sessionClosed} early)`,
      );
    if (st.writerErrors > 0)
      fail(`sd+service: ${st.writerErrors} stream writer error(s): ${st.writerProblems.join('; ')}`);
  }
  if (finalServer !== undefined && idleServer !== undefined) {
    // All loads gone: no object by reference is left in the service, nor counted by the gateway.
    if (finalServer.objects > idleServer.objects)
      fail(
        `sd+service: serves ${finalServer.objects} object(s) by reference once every load left (${idleServer.objects} before the load): released by nobody`,
      );
  }
  if (finalGateway !== undefined && finalGateway.heldObjects !== 0)
    fail(`gateway: heldObjects ${String(finalGateway.heldObjects)} once every load left (expected 0)`);
  if (idle && quiesced) {
    for (const [n, before] of idle) {
      const after = quiesced.get(n)!;
      if (socketHandles(after) > socketHandles(before) + QUIESCED_SOCKET_SLACK) {
        fail(
          `${n}: ${socketHandles(after)} sockets once every load left, ${socketHandles(before)} before the load: ${JSON.stringify(after.handles)}`,
        );
      }
    }
  }
  for (const c of children)
    if (c.warnings.length > 0) fail(`${c.name} printed warnings: ${c.warnings.slice(0, 3).join('; ')}`);

  console.log('\n' + summary(o, loadSeconds, rows, s, idle, quiesced, finalServer, finalGateway));
  if (failures.length > 0) {
    console.log(`\nFAIL (${failures.length}):`);
    for (const f of failures) console.log(`  - ${f}`);
    return 1;
  }
  console.log(`\nPASS (${elapsed().toFixed(1)} s in all)`);
  return 0;
}

function header(): string {
  return [
    '    t |  calls/s |  MB/s | strm MB/s | sig/s | conn/s | err | sd+svc heap/rss MiB hdl | gateway heap/rss MiB hdl | loads heap(max) hdl(max)',
    '------+----------+-------+-----------+-------+--------+-----+-------------------------+--------------------------+-------------------------',
  ].join('\n');
}

function line(row: Row, prev: Row | undefined): string {
  const s = sumStats(row.loads);
  const p = prev ? sumStats(prev.loads) : undefined;
  const dt = prev ? row.elapsed - prev.elapsed : row.elapsed;
  const rate = (now: number, before: number | undefined) => (now - (before ?? 0)) / dt;
  const conns = s.connects.direct + s.connects.gateway;
  const errs = Object.values(s.errors).reduce((a, b) => a + b, 0) + s.wrong;
  const d = (n: string) => {
    const x = row.samples.get(n)!;
    return `${mb(x.heapUsed).padStart(6)} ${mb(x.rss).padStart(6)} ${String(totalHandles(x)).padStart(5)}`;
  };
  const loads = [...row.samples].filter(([n]) => n.startsWith('load'));
  const lheap = Math.max(...loads.map(([, x]) => x.heapUsed));
  const lhdl = Math.max(...loads.map(([, x]) => totalHandles(x)));
  return (
    `${row.elapsed.toFixed(0).padStart(5)} | ${rate(s.calls, p?.calls).toFixed(0).padStart(8)} | ${(rate(s.bytes, p?.bytes) / 1e6).toFixed(1).padStart(5)} | ${(rate(s.streams.bytes, p?.streams.bytes) / 1e6).toFixed(1).padStart(9)} | ` +
    `${rate(s.signals.received, p?.signals.received).toFixed(0).padStart(5)} | ${rate(
      conns,
      p ? p.connects.direct + p.connects.gateway : 0,
    )
      .toFixed(1)
      .padStart(6)} | ${String(errs).padStart(3)} | ` +
    `${d('sd+service').padStart(23)} | ${d('gateway').padStart(24)} | ${mb(lheap).padStart(9)} ${String(lhdl).padStart(9)}`
  );
}

function summary(
  o: Options,
  seconds: number,
  rows: Row[],
  s: ReturnType<typeof sumStats>,
  idle: Map<string, Sample> | undefined,
  quiesced: Map<string, Sample> | undefined,
  server: ServerExtra | undefined,
  gateway: Record<string, unknown> | undefined,
): string {
  const out: string[] = [];
  const per = (n: number) => (seconds > 0 ? n / seconds : 0);
  out.push(`summary: ${seconds.toFixed(0)} s of load, ${o.loads} load process(es), seed ${o.seed}`);
  out.push(
    `  calls      ${s.calls} (${per(s.calls).toFixed(0)}/s): ${Object.entries(s.byTask)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push(`  payload    ${(s.bytes / 1e6).toFixed(0)} MB moved by echoRaw (${(per(s.bytes) / 1e6).toFixed(1)} MB/s)`);
  out.push(
    `  signals    emitted ${server?.emitted ?? '?'}; received ${s.signals.received} by ${s.signals.subscribers} continuous subscribers, expected ${s.signals.expected} (gaps ${s.signals.gaps}, duplicates ${s.signals.duplicates}); dropped by sd ${server?.droppedEvents ?? '?'}, by gateway ${String(gateway?.droppedEvents ?? '?')}`,
  );
  out.push(
    `  property   ${s.property.sets} sets, ${s.property.events} watch events (gaps ${s.property.gaps}, duplicates ${s.property.duplicates})`,
  );
  out.push(
    `  connects   ${s.connects.direct} direct + ${s.connects.gateway} through the gateway (${per(s.connects.direct + s.connects.gateway).toFixed(1)}/s)`,
  );
  out.push(`  objects    ${s.objects} by reference`);
  const st = server?.streams;
  out.push(
    `  streams    ${s.streams.opened} opened: ${s.streams.completed} read to the end, ${s.streams.brokenOff} left with break, ${s.streams.sessionClosed} with their session closed mid-stream; ` +
      `${s.streams.chunks} frames checked, ${(s.streams.bytes / 1e6).toFixed(0)} MB (${(per(s.streams.bytes) / 1e6).toFixed(1)} MB/s); ` +
      `the service made ${st?.made ?? '?'}, ended ${st?.ended ?? '?'}, closed ${st?.closed ?? '?'}, open at the end ${st?.open ?? '?'}, writer errors ${st?.writerErrors ?? '?'}`,
  );
  out.push(
    `  abandon    ${s.abandon.sessions} gateway sessions closed holding ${s.abandon.objects} objects (${s.abandon.inFlight} with a makeCounter on its way); at the end the service serves ${server?.objects ?? '?'} object(s) by reference, the gateway counts ${String(gateway?.heldObjects ?? '?')} held`,
  );
  out.push(
    `  cancel     ${s.canceled} calls canceled or timed out mid-flight, ${s.answeredFirst} answered first; the service aborted ${server?.aborted ?? '?'}, ran ${server?.slowCompleted ?? '?'} to their end`,
  );
  out.push(
    `  errors     unexpected ${JSON.stringify(s.errors)}, wrong values ${s.wrong}; expected ${JSON.stringify(s.expected)}`,
  );
  if (gateway) out.push(`  gateway    ${JSON.stringify(gateway)}`);
  if (rows.length > 0) {
    out.push(
      '  memory (after a full GC; first sample → last sample of the load; handles: idle → loaded → after the load)',
    );
    const first = rows[0].samples;
    const last = rows[rows.length - 1].samples;
    const past = rows.filter((r) => r.elapsed > o.seconds * o.warmup);
    for (const [n, a] of first) {
      const b = last.get(n);
      if (!b) continue;
      // Growth after the warm-up, in MiB per minute (least squares over the samples).
      const trend =
        past.length >= 2
          ? ` (${slope(past.map((r) => [r.elapsed / 60, r.samples.get(n)!.heapUsed / MiB])) >= 0 ? '+' : ''}${slope(past.map((r) => [r.elapsed / 60, r.samples.get(n)!.heapUsed / MiB])).toFixed(2)} MiB/min after the warm-up)`
          : '';
      const i = idle?.get(n);
      const q = quiesced?.get(n);
      const hdl = `${i ? `${totalHandles(i)} → ` : ''}${totalHandles(a)}..${totalHandles(b)}${q ? ` → ${totalHandles(q)} (sockets ${socketHandles(i!)} → ${socketHandles(q)})` : ''}`;
      out.push(
        `    ${n.padEnd(10)} heapUsed ${mb(a.heapUsed)} → ${mb(b.heapUsed)} MiB${trend}, rss ${mb(a.rss)} → ${mb(b.rss)}, external ${mb(a.external)} → ${mb(b.external)}, arrayBuffers ${mb(a.arrayBuffers)} → ${mb(b.arrayBuffers)}; handles ${hdl}`,
      );
    }
  }
  out.push(
    `  bounds     heapUsed ≤ baseline + ${HEAP_RATIO * 100}% + ${HEAP_SLACK / MiB} MiB, handles ≤ baseline + ${HANDLE_RATIO * 100}% + ${HANDLE_SLACK} (median of the last ${MEDIAN_OF} samples; baselines: heap the median of the last ${MEDIAN_OF} samples of the ${Math.round(o.warmup * 100)}% warm-up, handles the most seen in it); sockets after the load ≤ idle + ${QUIESCED_SOCKET_SLACK}`,
  );
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------

function roleArgs(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) m.set(a.slice(2), '');
    else m.set(a.slice(2), argv[++i]);
  }
  return m;
}

const argv = process.argv.slice(2);
if (argv[0] === '--role') {
  const args = roleArgs(argv);
  if (!process.connected) {
    console.error('soak: --role is for the processes the soak starts itself');
    process.exit(2);
  }
  const role = args.get('role');
  const run = role === 'server' ? runServer : role === 'gateway' ? runGateway : role === 'load' ? runLoad : undefined;
  if (run === undefined) process.exit(2);
  run(args).catch((e: unknown) => {
    send({ type: 'fatal', error: `starting ${role}: ${e instanceof Error ? (e.stack ?? describe(e)) : String(e)}` });
    setTimeout(() => process.exit(4), 100);
  });
} else {
  coordinate(parseOptions(argv)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`soak: ${describe(e)}`);
      process.exit(1);
    },
  );
}
