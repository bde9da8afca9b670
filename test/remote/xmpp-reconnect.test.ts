/**
 * The robot's XMPP connection goes silent or drops, against a real Prosody on loopback (issue 20). The
 * robot reaches the server through a {@link FaultRelay} that can swallow every byte (the network gone
 * without a FIN) or cut every connection; a client (alice) reaches the robot with `xmpp://` straight
 * through the server, calls in a loop and listens to a signal; a watcher follows the robot's presence.
 * Shown: the robot notices the silence by its pings, logs in again by itself with backoff, announces its
 * presence again (the watcher sees it go and come back), the client's session resumes with every call
 * accounted for and the gap reported, and many reconnections leave listener and stream counts flat.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RobotWatcher, XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import type { Client } from '../../src/remote/xmpp/xmpp-types.js';
import { calculator } from '../object/fixtures.js';
import { DOMAIN, Prosody } from '../helpers/prosody.js';
import { FaultRelay } from '../helpers/relay.js';

let server: Prosody | string;
let relay: FaultRelay;
let sd: Session;
let gw: Gateway;
let robot: XmppGateway;
const calc = calculator();
const ROBOT = `xmpp://robot@${DOMAIN}`;
const account = (name: string) => ({
  service: (server as Prosody).service,
  jid: `${name}@${DOMAIN}`,
  password: `${name}-pw`,
});

before(async () => {
  server = await Prosody.start();
  if (typeof server === 'string') return;
  for (const n of ['robot', 'alice']) server.register(n, `${n}-pw`);
  relay = await FaultRelay.start(`tcp://127.0.0.1:${server.port}`);
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calc);
  gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  robot = await XmppGateway.start({
    account: { ...account('robot'), service: `xmpp://127.0.0.1:${new URL(relay.url).port}` },
    allow: [`alice@${DOMAIN}`],
    gateway: gw,
    keep: { pingMs: 300, pingTimeoutMs: 300, reconnect: { minMs: 100, maxMs: 800, jitter: 0.5 } },
  });
});

after(async () => {
  await closeXmppLinks();
  await robot?.close();
  await gw?.close();
  await sd?.close();
});

function skipped(t: { skip(m: string): void }): boolean {
  if (typeof server !== 'string') return false;
  t.skip(server);
  return true;
}

const until = async (what: string, ok: () => boolean, ms: number) => {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - t0;
};

/** Listeners on the XMPP connection object and its socket, and streams tracked. */
function footprint(x: XmppGateway): Record<string, number> {
  const c = x.link.xmpp as Client & { socket?: NodeJS.EventEmitter | null };
  const count = (e: NodeJS.EventEmitter) => e.eventNames().reduce((n, ev) => n + e.listenerCount(ev), 0);
  return { client: count(c), socket: c.socket ? count(c.socket) : -1, tracked: x.link.trackedCount };
}

describe("the robot's XMPP connection goes silent or drops (Prosody through a fault relay)", () => {
  it('notices the silence, logs in again with backoff, the watcher and the client see it go and come back', async (t) => {
    if (skipped(t)) return;
    const watcher = await RobotWatcher.start(account('alice'), [`robot@${DOMAIN}`]);
    const session = await Session.connect(ROBOT, {
      transports: { xmpp: account('alice') },
      reconnect: { minMs: 50, maxMs: 400, callWaitMs: 10_000 },
    });
    const timer = setInterval(() => calc.emit('fired', 1, 'tick'), 20);
    try {
      await watcher.waitFor(`robot@${DOMAIN}`, true, 5000);
      const c = (await session.service('Calculator')) as AnyProxy;
      let received = 0;
      const gaps: string[] = [];
      await (c.fired as { connect(f: () => void, o: object): Promise<unknown> }).connect(() => received++, {
        onGap: (g: { reason: string }) => gaps.push(g.reason),
      });
      let made = 0;
      let answered = 0;
      const failed: string[] = [];
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          made++;
          try {
            assert.equal(await c.add(made, 1, { timeoutMs: 10_000 }), made + 1);
            answered++;
          } catch (e) {
            failed.push((e as Error).message);
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await until('calls answered', () => answered > 10, 5000);

      const lost = robot.link.keeper.counts.lost;
      const offline = watcher.waitFor(`robot@${DOMAIN}`, false, 10_000);
      const down = Date.now();
      relay.mode = 'blackhole';
      const detect = await until('the robot notices', () => robot.link.keeper.counts.lost > lost, 5000);
      await offline;
      const seenOff = Date.now() - down;
      await new Promise((r) => setTimeout(r, 1000)); // away for a while: attempts swallowed too
      const online = watcher.waitFor(`robot@${DOMAIN}`, true, 10_000);
      const before = answered;
      const up = Date.now();
      relay.mode = 'pass';
      await online;
      const seenOn = Date.now() - up;
      const firstCall = await until('a call answered again', () => answered > before, 15_000);
      const receivedAt = received;
      await until('the signal again', () => received > receivedAt + 5, 5000);
      stop = true;
      await loop;
      t.diagnostic(
        `silence noticed in ${detect} ms, watcher saw offline ${seenOff} ms after the cut; online again ${seenOn} ms after the network is back, first call answered ${firstCall} ms after; ${made} calls: ${answered} answered, ${failed.length} failed; gaps ${gaps.length}`,
      );
      assert.equal(answered + failed.length, made, 'every call answered or failed');
      // The call in flight when the robot's connection went fails (the client sees its session close);
      // calls made while the robot is away wait for it.
      assert.ok(failed.length <= 2, failed.join('\n'));
      for (const f of failed)
        assert.match(f, /closed while Calculator\.add was waiting|XMPP connection .* was lost|went offline|not online/);
      assert.ok(gaps.length >= 1, 'the gap is reported');
      assert.ok(robot.link.keeper.counts.attempts >= 1);
    } finally {
      clearInterval(timer);
      await session.close();
      await watcher.close();
    }
  });

  it('reconnects after cuts without growing listeners, timers or tracked streams', async (t) => {
    if (skipped(t)) return;
    const session = await Session.connect(ROBOT, {
      transports: { xmpp: account('alice') },
      reconnect: { minMs: 50, maxMs: 400, callWaitMs: 10_000 },
    });
    try {
      const c = (await session.service('Calculator')) as AnyProxy;
      assert.equal(await c.add(1, 1), 2);
      const cycle = async () => {
        const back = robot.link.keeper.counts.reconnected;
        relay.cutNow();
        await until('back online', () => robot.link.keeper.counts.reconnected > back, 10_000);
        assert.equal(await c.add(2, 2, { timeoutMs: 10_000 }), 4);
      };
      for (let i = 0; i < 3; i++) await cycle();
      const first = footprint(robot);
      const handles = process.getActiveResourcesInfo().length;
      for (let i = 0; i < 10; i++) await cycle();
      const last = footprint(robot);
      t.diagnostic(`after 3 reconnections ${JSON.stringify(first)}, after 13 ${JSON.stringify(last)}`);
      assert.deepEqual(last, first, 'listener and stream counts are flat');
      assert.ok(process.getActiveResourcesInfo().length <= handles + 2, 'active handles do not grow');
    } finally {
      await session.close();
    }
  });

  it('logs in again with growing waits while the server is down, and is back after it restarts', async (t) => {
    if (skipped(t)) return;
    const k = robot.link.keeper;
    const attempts = k.counts.attempts;
    const back = k.counts.reconnected;
    const stopped = Date.now();
    await (server as Prosody).stop();
    await until('loss noticed', () => k.downSince !== undefined, 5000);
    await new Promise((r) => setTimeout(r, 3000));
    const tried = k.counts.attempts - attempts;
    // 100 ms doubling to 800 ms, jitter down to half: at most 100+200+400+800+800… → ≤ 12 in 3 s
    assert.ok(tried >= 2 && tried <= 12, `${tried} attempts in 3 s`);
    const restarted = Date.now();
    await (server as Prosody).restart();
    const ms = await until('online again', () => k.counts.reconnected > back, 10_000);
    t.diagnostic(
      `${tried} attempts while the server was down ${restarted - stopped} ms; online ${Date.now() - restarted} ms after the restart began (${ms} ms after it listened)`,
    );
  });
});
