/**
 * The call traffic of a soak load (see scripts/soak.ts's header): on each route, sequential `add`, batches of
 * concurrent `add`, `echoRaw` of 64 KiB–4 MiB, objects by reference both ways, `slow` calls canceled or timed out,
 * sessions that connect, call, subscribe once and close, and streams; through the gateway, sessions that leave
 * holding objects. Every answer is checked.
 */
import type { AnyProxy, Session } from '../../../src/index.js';
// Types only: the fixtures' module imports node:test, loaded by the load itself when it starts.
import type { counter as makeCounter } from '../../../test/object/fixtures.js';
import { streamRound } from '../../soak-streams.js';
import { CALL_TIMEOUT_MS, SESSION_TIMEOUT_MS, type LoadStats } from '../spec.js';
import { errorKind, sleep, withTimeout, type Random } from '../tools.js';

/** A Calculator proxy (the test fixture's). */
export type Calc = AnyProxy;
/** Directly to the SD and service, or through the gateway. */
export type Route = 'direct' | 'gateway';

/** What the traffic needs from its load. */
export interface LoadContext {
  r: Random;
  stats: LoadStats;
  /** Counts a call of `task`. */
  count(task: string): void;
  /** Reports a wrong value. */
  wrong(task: string, text: string): void;
  /** Reports an unexpected error. */
  unexpected(task: string, e: unknown): void;
  /** Counts an expected outcome (a cancellation, a timeout). */
  expected(task: string, kind: string): void;
  /** Options of every call. */
  opts: { timeoutMs: number };
  /** Bytes the `echoRaw` payloads are cut from. */
  pool: Buffer;
  /** A new session to `url`. */
  connect(url: string): Promise<Session>;
  /** The Calculator of a session. */
  calcOf(s: Session): Promise<Calc>;
  /** The URL of each route. */
  routes: Record<Route, string>;
  /** The load's session and Calculator on each route. */
  main: Record<Route, { session: Session; calc: Calc }>;
  /** Runs a task again and again until the load stops (unless skipped). */
  loop(task: string, body: () => Promise<void>): void;
  /** The test fixture's client-side counter object. */
  counter: typeof makeCounter;
}

/** Starts every kind of call traffic as loops of the load. */
export function callTraffic(ctx: LoadContext): void {
  const { r, stats, count, wrong, unexpected, expected, opts, pool, connect, calcOf, routes, main, loop, counter } =
    ctx;
  const gwUrl = routes.gateway;
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
          if (/before it was sent/.test((e as Error).message)) stats.unsent++; // waited for a lane: never sent
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
}
