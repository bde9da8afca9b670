/**
 * A soak `load` process: every kind of traffic, directly and through the gateway, until told to stop, checking
 * every answer (see scripts/soak.ts's header for the list). Here: its sessions, counters and loops, the continuous
 * `fired` subscribers and `volume` watchers (and, load 0, the numbered `volume` sets); the calls are in
 * load-calls.ts.
 */
import { randomBytes } from 'node:crypto';
import { Session } from '../../../src/index.js';
import { emptyStreamStats } from '../../soak-streams.js';
import type { RoleArgs } from '../args.js';
import { CALL_TIMEOUT_MS, MiB, SESSION_TIMEOUT_MS, STOP_TIMEOUT_MS, type LoadStats } from '../spec.js';
import { describe, errorKind, rng, sleep, takeSample, withTimeout } from '../tools.js';
import { child, send } from './child.js';
import { callTraffic, type Calc, type Route } from './load-calls.js';

/** Runs a load until the coordinator stops it. */
export async function runLoad(args: RoleArgs): Promise<void> {
  const { counter } = await import('../../../test/object/fixtures.js');
  const index = args.index;
  const skip = new Set(args.skip.split(',').filter((x) => x !== ''));
  const sdUrl = args.sd;
  const gwUrl = args.gw;
  const r = rng(args.seed + index * 7919);
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
    unsent: 0,
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
  const routes: Record<Route, string> = { direct: sdUrl, gateway: gwUrl };
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

  callTraffic({
    r,
    stats,
    count,
    wrong,
    unexpected,
    expected,
    opts,
    pool,
    connect,
    calcOf,
    routes,
    main,
    loop,
    counter,
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
