/**
 * A world for ROS bridge tests: a real ServiceDirectory, a qi service in another session, the bridge
 * (reaching qi over sockets, as from another process), and real roslib clients over loopback.
 */
import * as roslibModule from 'roslib';
// roslib 2.1's RosLib.d.ts re-exports an extensionless path that NodeNext cannot resolve: take the
// types from its own declaration files (type-only imports, erased from the build).
import type RosT from '../../node_modules/roslib/dist/src/core/Ros.js';
import type ServiceT from '../../node_modules/roslib/dist/src/core/Service.js';
import type TopicT from '../../node_modules/roslib/dist/src/core/Topic.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { WebSocket } from 'ws';
import { QI } from '../helpers/demo-robot.js';
import { LocalObject, Session, defineObject, listenStandalone, method, property, signal, t } from '../../src/index.js';
import { RosBridge, type RosBridgeOptions } from '../../src/bridges/index.js';

/** The real roslib classes, typed. */
export const { Ros, Service, Topic } = roslibModule as unknown as {
  Ros: typeof RosT;
  Service: typeof ServiceT;
  Topic: typeof TopicT;
};
export type Ros = RosT;

export const Point = t.struct('Point', { x: t.int32, y: t.int32 });

export const Calc = defineObject({
  methods: {
    add: method([t.int32, t.int32], t.int32, { paramNames: ['a', 'b'] }),
    norm1: method([Point], t.int32, { paramNames: ['p'] }),
    mirror: method([Point], Point),
    echoRaw: method([t.raw], t.raw),
    big: method([t.int64], t.int64),
    concat: [method([t.string, t.string], t.string), method([t.string, t.int32], t.string)],
    record: method([t.string], t.void, { paramNames: ['text'] }),
    table: method([], t.map(t.string, t.int32)),
    fail: method([t.string], t.void),
    slow: method([t.int32], t.int32),
  },
  signals: { fired: signal([t.int32, t.string]), said: signal([t.string]), moved: signal([Point]) },
  properties: { volume: property(t.float, { initial: 0.5 }) },
});

export const Secret = defineObject({ methods: { launch: method([], t.void) } });

/** Waits for `p` at most `ms`, failing with `what`. */
export function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

export const DEFAULT_ALLOW = ['Calculator.*', 'serve:RosPlanner.*'];

export async function world(options: Partial<RosBridgeOptions> = {}) {
  const sd = await listenStandalone('tcp://127.0.0.1:0');
  const url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
  const provider = await Session.connect(url);
  const recorded: string[] = [];
  const calc: LocalObject<typeof Calc> = new LocalObject(Calc, {
    add: (a, b) => a + b,
    norm1: (p) => Math.abs(p.x) + Math.abs(p.y),
    mirror: (p) => ({ x: -p.x, y: -p.y }),
    echoRaw: (r) => r,
    big: (n) => n * 2n,
    concat: (a: string, b: string | number) => `${a}+${b}`,
    record: (text) => void recorded.push(text),
    table: () =>
      new Map([
        ['one', 1],
        ['two', 2],
      ]),
    fail: (why) => {
      throw new Error(`failed on purpose: ${why}`);
    },
    slow: (ms, ctx) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => resolve(ms), ms);
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('canceled'))), {
          once: true,
        });
      }),
  });
  await provider.registerService('Calculator', calc);
  await provider.registerService('Secret', new LocalObject(Secret, { launch: () => {} }));
  const warnings: string[] = [];
  const bridge = await RosBridge.start({
    sd: url,
    listen: 'ws://127.0.0.1:0',
    allow: DEFAULT_ALLOW,
    insecureUnauthenticated: true,
    sessionOptions: { lpc: false },
    onWarning: (m) => warnings.push(m),
    ...options,
  });
  const clients: Ros[] = [];
  const sockets: WebSocket[] = [];
  return {
    sd,
    url,
    provider,
    calc,
    recorded,
    bridge,
    warnings,
    /** A roslib client connected to the bridge. */
    async ros(): Promise<Ros> {
      const ros = new Ros({});
      const opened = new Promise<void>((resolve, reject) => {
        ros.once('connection', () => resolve());
        ros.once('error', (e) =>
          reject(new Error(`roslib could not connect: ${String((e as { message?: string }).message ?? e)}`)),
        );
      });
      await ros.connect(bridge.endpoint!);
      await within(opened, 'roslib connection');
      clients.push(ros);
      return ros;
    },
    /** A raw WebSocket to the bridge, collecting the JSON it receives. */
    async raw(headers: Record<string, string> = {}) {
      const ws = new WebSocket(bridge.endpoint!, { headers });
      sockets.push(ws);
      const received: Record<string, unknown>[] = [];
      const waiters: (() => void)[] = [];
      ws.on('message', (d) => {
        received.push(JSON.parse(String(d)) as Record<string, unknown>);
        for (const w of waiters.splice(0)) w();
      });
      await within(
        new Promise<void>(
          (resolve, reject) => (
            ws.once('open', () => resolve()),
            ws.once('error', reject),
            ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))
          ),
        ),
        'raw WebSocket',
      );
      return {
        ws,
        received,
        send: (x: unknown) => ws.send(typeof x === 'string' ? x : JSON.stringify(x)),
        /** The next received message matching `pred` (already received ones included). */
        async next(pred: (m: Record<string, unknown>) => boolean, what: string) {
          return within(
            (async () => {
              for (;;) {
                const i = received.findIndex(pred);
                if (i >= 0) return received.splice(i, 1)[0];
                await new Promise<void>((r) => waiters.push(r));
              }
            })(),
            what,
          );
        },
      };
    },
    async close() {
      for (const c of clients) c.close();
      for (const s of sockets) s.terminate();
      await bridge.close();
      await provider.close();
      await sd.close();
    },
  };
}

/** Calls a ROS service through roslib: resolves with the response values, rejects with the failure text. */
export function callService<T = Record<string, unknown>>(
  ros: Ros,
  name: string,
  args: unknown,
  timeoutS?: number,
): Promise<T> {
  const service = new Service<unknown, T>({ ros, name, serviceType: 'qi/Any' });
  return within(
    new Promise<T>((resolve, reject) => service.callService(args, resolve, (e) => reject(new Error(e)), timeoutS)),
    `call_service ${name}`,
  );
}

/** Subscribes through roslib; `next()` gives the next message. */
export function subscribe<T = Record<string, unknown>>(
  ros: Ros,
  name: string,
  options: { throttle_rate?: number } = {},
) {
  const topic = new Topic<T>({ ros, name, messageType: 'qi/Any', reconnect_on_close: false, ...options });
  const queue: T[] = [];
  const waiters: (() => void)[] = [];
  topic.subscribe((m) => {
    queue.push(m);
    for (const w of waiters.splice(0)) w();
  });
  return {
    topic,
    queue,
    async next(what = name): Promise<T> {
      return within(
        (async () => {
          while (queue.length === 0) await new Promise<void>((r) => waiters.push(r));
          return queue.shift()!;
        })(),
        `message on ${what}`,
      );
    },
  };
}

/** The status message the bridge sends for the operation `id`. */
export function statusOf(ros: Ros, id: string): Promise<{ level: string; msg: string }> {
  return within(
    new Promise((resolve) => ros.once(`status:${id}`, (m) => resolve(m as unknown as { level: string; msg: string }))),
    `status of ${id}`,
  );
}

export { until } from '../helpers/until.js';

/** The first line a child prints (its --json summary), within 10 s. */
export function firstLine(child: ChildProcess, what: () => string): Promise<string> {
  let out = '';
  const line = new Promise<string>((resolve) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
  });
  return within(line, what(), 10_000);
}

/** `qi --json ARGS` kept running: its first line (named `what` with its stderr if it does not come) and its exit code. */
export function qiJson(what: string, ...args: string[]) {
  const child = spawn(process.execPath, [QI, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, exited, line: () => firstLine(child, () => `${what}'s first line (stderr: ${stderr})`) };
}
