/**
 * The key scenarios of remote access through a real XMPP server, run against each server the tests start
 * (Prosody: test/remote/xmpp.test.ts, ejabberd: test/remote/xmpp-ejabberd.test.ts): a robot (SD,
 * services, gateway, XMPP gateway) logs in as robot@example.test; clients log in with their own accounts
 * and reach it with `xmpp://robot@example.test`. Nothing is mocked: every byte goes through the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, QiConnectError, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RobotWatcher, XmppGateway, closeXmppLinks, type XmppAccount } from '../../src/remote/index.js';
import { calculator } from '../object/fixtures.js';
import { DOMAIN, type XmppServer } from './xmpp-server.js';

/** What the scenarios share with a file's own tests (valid once `before` ran). */
export interface XmppSuite {
  /** The server, or why it does not run here. */
  server: XmppServer | string;
  /** A client account (`name-pw` is its password) with the bytestreams it insists on. */
  account(name: string, bytestreams?: Bytestreams): { xmpp: XmppAccount & { bytestreams: Bytestreams } };
  /** Skips the test when the server does not run here. */
  skipped(t: { skip(m: string): void }): boolean;
  /** Sessions closed at the end. */
  sessions: Session[];
}

type Bytestreams = 'auto' | 'ibb' | 'socks5';

export const ROBOT = `xmpp://robot@${DOMAIN}`;

/**
 * What every XMPP scenario checks on the robot's Calculator (`calc`, served by it) through `c`: a call, a
 * signal emitted with `tag`, a property, and `mib` MiB echoed intact. Returns the echo's milliseconds.
 */
export async function calculatorRoundTrip(
  c: AnyProxy,
  calc: ReturnType<typeof calculator>,
  tag: string,
  mib: number,
): Promise<number> {
  assert.equal(await c.add(40, 2), 42);
  const got = (c.fired as { once(): Promise<unknown[]> }).once();
  await new Promise((r) => setTimeout(r, 100));
  calc.emit('fired', 5, tag);
  assert.deepEqual(await got, [5, tag]);
  assert.equal(await (c.volume as { get(): Promise<number> }).get(), 0.5);
  const big = Buffer.alloc(mib * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  const t0 = Date.now();
  assert.ok(((await c.echoRaw(big)) as Buffer).equals(big));
  return Date.now() - t0;
}

/**
 * Declares the scenarios against the server `start` gives (`name` in the titles); `more` adds a file's
 * own tests in the same describe, with the same robot.
 */
export function xmppSuite(
  name: string,
  start: () => Promise<XmppServer | string>,
  more?: (suite: XmppSuite) => void,
): void {
  let sd: Session;
  let gw: Gateway;
  let robot: XmppGateway;
  const calc = calculator();
  const server = (): XmppServer => suite.server as XmppServer;
  const suite: XmppSuite = {
    server: 'not started',
    sessions: [],
    account: (n, bytestreams = 'auto') => ({
      xmpp: { service: server().service, jid: `${n}@${DOMAIN}`, password: `${n}-pw`, bytestreams },
    }),
    skipped(t) {
      if (typeof suite.server !== 'string') return false;
      console.error(`SKIPPED: ${suite.server}`);
      t.skip(suite.server);
      return true;
    },
  };
  const { account, skipped, sessions } = suite;
  const startRobot = () =>
    XmppGateway.start({
      account: { service: server().service, jid: `robot@${DOMAIN}`, password: 'robot-pw' },
      allow: [`alice@${DOMAIN}`],
      gateway: gw,
      // Back within 2 s of a server restart (ejabberd takes ~3 s to start; the default pace could wait 8 s more).
      keep: { reconnect: { minMs: 200, maxMs: 2000 } },
    });

  before(async () => {
    suite.server = await start();
    if (typeof suite.server === 'string') return;
    for (const n of ['robot', 'alice', 'mallory']) suite.server.register(n, `${n}-pw`);
    sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    await sd.registerService('Calculator', calc);
    gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
    robot = await startRobot();
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await closeXmppLinks();
    await robot?.close();
    await gw?.close();
    await sd?.close();
  });

  describe(`qi through an XMPP server (${name})`, () => {
    more?.(suite);

    for (const kind of ['ibb', 'socks5'] as const) {
      it(`calls a method, gets a signal and a property, and passes 5 MiB through ${kind === 'ibb' ? 'In-Band Bytestreams' : 'the SOCKS5 proxy'}`, async (t) => {
        if (skipped(t)) return;
        const before = robot.metrics[kind];
        const s = await Session.connect(ROBOT, { transports: account('alice', kind), reconnect: false });
        sessions.push(s);
        assert.equal(robot.metrics[kind], before + 1, `the session went through ${kind}`);
        assert.deepEqual(
          (await s.services()).map((i) => i.name),
          ['ServiceDirectory', 'Calculator'],
        );
        const c = (await s.service('Calculator')) as AnyProxy;
        assert.match(Session.route(c)!, /^xmpp:\/\/robot@example\.test\/qi$/);
        const ms = await calculatorRoundTrip(c, calc, 'over xmpp', 5);
        t.diagnostic(`5 MiB each way through ${name} (${kind}): ${ms} ms`);
      });
    }

    it("refuses a JID that is not in the robot's allowlist, and says so", async (t) => {
      if (skipped(t)) return;
      await assert.rejects(
        Session.connect(ROBOT, { transports: account('mallory'), reconnect: false }),
        (e: unknown) =>
          e instanceof QiConnectError &&
          /refused mallory@example\.test: it is not in the robot's allowlist/.test(e.message),
      );
      assert.ok(robot.metrics.refused >= 1);
    });

    it('recovers when the XMPP server restarts mid-session: robot and client log in again, calls go through', async (t) => {
      if (skipped(t)) return;
      const s = await Session.connect(ROBOT, {
        transports: account('alice'),
        reconnect: { minMs: 200, maxMs: 1000, callWaitMs: 30_000 },
      });
      sessions.push(s);
      const c = (await s.service('Calculator')) as AnyProxy;
      assert.equal(await c.add(1, 1), 2);
      const seen: unknown[][] = [];
      await (c.fired as { connect(f: (...a: unknown[]) => void): Promise<unknown> }).connect((...a) => seen.push(a));
      await server().restart();
      assert.equal(await c.add(2, 2, { timeoutMs: 30_000 }), 4, 'a call after the restart');
      for (let i = 0; i < 100 && seen.length === 0; i++) {
        calc.emit('fired', 9, 'after the server restart');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(seen[0], [9, 'after the server restart'], 'the subscription came back');
    });

    it('lists the robots that are online and sees one go away and come back (presence)', async (t) => {
      if (skipped(t)) return;
      const watcher = await RobotWatcher.start({ ...account('alice').xmpp }, [`robot@${DOMAIN}`]);
      try {
        const up = await watcher.waitFor(`robot@${DOMAIN}`, true, 5000);
        assert.equal(up.address, `robot@${DOMAIN}/qi`);
        assert.equal(up.services, 1, 'the robot announces its number of services');
        assert.deepEqual(
          watcher.list().map((r) => [r.jid, r.online]),
          [[`robot@${DOMAIN}`, true]],
        );
        const gone = watcher.waitFor(`robot@${DOMAIN}`, false, 5000);
        await robot.close();
        assert.equal((await gone).online, false);
        const back = watcher.waitFor(`robot@${DOMAIN}`, true, 5000);
        robot = await startRobot();
        assert.equal((await back).online, true);
      } finally {
        await watcher.close();
      }
      // A JID the robot does not allow cannot follow it.
      const nosy = await RobotWatcher.start({ ...account('mallory').xmpp }, [`robot@${DOMAIN}`]);
      try {
        await assert.rejects(nosy.waitFor(`robot@${DOMAIN}`, true, 1000), /not seen online/);
      } finally {
        await nosy.close();
      }
    });

    it('says when the robot is not online', async (t) => {
      if (skipped(t)) return;
      await assert.rejects(
        Session.connect(`xmpp://nobody@${DOMAIN}`, {
          transports: account('alice'),
          reconnect: false,
          connectTimeoutMs: 3000,
        }),
        (e: unknown) => e instanceof QiConnectError && /is not online/.test(e.message),
      );
    });
  });
}
