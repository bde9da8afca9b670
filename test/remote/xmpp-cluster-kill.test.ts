/**
 * A node of a 2-node ejabberd cluster killed (SIGKILL of node A's Erlang VM, as a crash: no clean stop,
 * no `unavailable` sent). The robot is `qi xmpp-gateway --xmpp-service A --xmpp-alternate B`; a client
 * on node B has a session with it and follows its presence. After the kill the robot logs in again through B by itself, the client's
 * session resumes with its subscription, and `qi --xmpp-service A --xmpp-alternate B call …` (node A
 * still dead) reaches the robot through B: the CLI's alternates, for robots and for clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RobotWatcher, closeXmppLinks } from '../../src/remote/index.js';
import { calculator } from '../object/fixtures.js';
import { runQi } from '../helpers/demo-robot.js';
import { DOMAIN, Ejabberd } from '../helpers/ejabberd.js';
import { until } from '../helpers/until.js';
import { startXmppGatewayCli, type XmppGatewayCli } from '../helpers/xmpp-access.js';

let a: Ejabberd | string;
let b: Ejabberd | string;
let sd: Session;
let robot: XmppGatewayCli | undefined;
const calc = calculator();
const ROBOT = `xmpp://robot@${DOMAIN}`;
const onB = (name: string) => ({
  xmpp: {
    service: (b as Ejabberd).service,
    jid: `${name}@${DOMAIN}`,
    password: `${name}-pw`,
    bytestreams: 'ibb' as const,
  },
});

before(async () => {
  a = await Ejabberd.start({ proxy65: false });
  if (typeof a === 'string') return;
  b = await Ejabberd.start({ host: '127.0.0.2', join: a, proxy65: false });
  if (typeof b === 'string') return;
  for (const n of ['robot', 'alice', 'bob']) a.register(n, `${n}-pw`);
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calc);
  robot = startXmppGatewayCli({
    sd: sd.endpoints[0],
    services: [a.service, b.service],
    name: 'robot',
    args: ['--allow', `alice@${DOMAIN}`, '--allow', `bob@${DOMAIN}`, '--open'],
  });
  await robot.online(20_000);
});

after(async () => {
  robot?.child.kill('SIGKILL');
  await closeXmppLinks();
  await sd?.close();
});

describe('a cluster node killed (SIGKILL): robots come back through the other node', () => {
  it('the robot logs in again through B, the session resumes, the CLI reaches it through its alternate', async (t) => {
    const why = typeof a === 'string' ? a : typeof b === 'string' ? b : undefined;
    if (why !== undefined) {
      console.error(`SKIPPED: ${why}`);
      return t.skip(why);
    }
    const [nodeA, nodeB] = [a as Ejabberd, b as Ejabberd];
    // The client follows the robot's presence (its account's): a new login ends the old session at once.
    const watcher = await RobotWatcher.start(onB('alice').xmpp, [`robot@${DOMAIN}`]);
    const s = await Session.connect(ROBOT, {
      transports: onB('alice'),
      reconnect: { minMs: 100, maxMs: 500, callWaitMs: 20_000 },
    });
    // A client that does not follow the robot's presence.
    const blind = await Session.connect(ROBOT, { transports: onB('bob'), reconnect: { minMs: 100, maxMs: 500 } });
    try {
      const cb = (await blind.service('Calculator')) as AnyProxy;
      assert.equal(await cb.add(3, 3), 6);
      await watcher.waitFor(`robot@${DOMAIN}`, true, 5000);
      const login = watcher.list()[0].login;
      const c = (await s.service('Calculator')) as AnyProxy;
      assert.equal(await c.add(1, 1), 2);
      const seen: unknown[][] = [];
      await (c.fired as { connect(f: (...x: unknown[]) => void): Promise<unknown> }).connect((...x) => seen.push(x));
      const t0 = Date.now();
      nodeA.killNow();
      // Back through B: a presence with a new login (B may never say the robot on A went offline).
      await until(
        () => watcher.list().some((r) => r.online && r.login !== login),
        'the robot online again, through B',
        15_000,
        50,
      );
      const back = Date.now() - t0;
      assert.equal(await c.add(2, 2, { timeoutMs: 20_000 }), 4, 'a call after the robot moved');
      const resumed = Date.now() - t0;
      // The blind client learns of the crash from its next call: the stream is gone (the new login has the
      // same full JID, and knows nothing of it); the session then comes back by itself.
      await assert.rejects(cb.add(4, 4), /item-not-found/);
      await until(
        async () => (await cb.add(5, 5, { timeoutMs: 5000 }).catch(() => 0)) === 10,
        'the blind session back',
        10_000,
        100,
      );
      const n = seen.length;
      await until(
        () => (calc.emit('fired', 9, 'after the kill'), seen.length > n),
        'the subscription back',
        10_000,
        100,
      );
      // A client given the dead node first and B as its alternate.
      const r = await runQi(
        [
          '--url',
          ROBOT,
          '--xmpp-service',
          nodeA.service,
          '--xmpp-alternate',
          nodeB.service,
          '--xmpp-jid',
          `bob@${DOMAIN}`,
          '--xmpp-password',
          'bob-pw',
          'call',
          'Calculator.add',
          '20',
          '22',
        ],
        20_000,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^42$/m);
      assert.equal(robot!.child.exitCode, null, `the robot process runs on: ${robot!.stderr()}`);
      t.diagnostic(
        `node A killed: the robot online again through B after ${back} ms, the client's session answered after ${resumed} ms`,
      );
    } finally {
      await blind.close();
      await s.close();
      await watcher.close();
    }
  });
});
