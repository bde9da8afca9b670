/**
 * A soak `load` process: every kind of traffic, directly and through the gateway, until told to stop, checking
 * every answer (see scripts/soak.ts's header for the list).
 */
import { randomBytes } from 'node:crypto';
import { Session, type AnyProxy } from '../../../src/index.js';
import { emptyStreamStats, streamRound } from '../../soak-streams.js';
import type { RoleArgs } from '../args.js';
import { CALL_TIMEOUT_MS, MiB, SESSION_TIMEOUT_MS, STOP_TIMEOUT_MS, type LoadStats } from '../spec.js';
import { describe, errorKind, rng, sleep, takeSample, withTimeout } from '../tools.js';
import { child, send } from './child.js';

type Calc = AnyProxy;

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
