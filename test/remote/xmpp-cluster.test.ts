/**
 * A clustered XMPP service (issue 23): two nodes of Debian's ejabberd on loopback (127.0.0.1 and
 * 127.0.0.2), joined with `ejabberdctl join_cluster`, one domain. The robot logs in to node A (node B
 * given as an alternate address), clients to node B: presence, a call, a signal, a property and 5 MiB
 * through In-Band Bytestreams and through ejabberd's proxy65 cross the cluster. Node A is then stopped
 * mid-session: the robot logs in again through node B, a watcher on B sees it go and come back, and the
 * client's session resumes with its subscription.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RobotWatcher, XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import { calculator } from '../object/fixtures.js';
import { Ejabberd } from '../helpers/ejabberd.js';
import { DOMAIN } from '../helpers/xmpp-server.js';
import { until } from '../helpers/until.js';
import { calculatorRoundTrip } from '../helpers/xmpp-suite.js';

let a: Ejabberd | string;
let b: Ejabberd | string;
let sd: Session;
let gw: Gateway;
let robot: XmppGateway;
const calc = calculator();
const sessions: Session[] = [];
const ROBOT = `xmpp://robot@${DOMAIN}`;
const onB = (name: string, bytestreams: 'auto' | 'ibb' | 'socks5' = 'auto') => ({
  xmpp: { service: (b as Ejabberd).service, jid: `${name}@${DOMAIN}`, password: `${name}-pw`, bytestreams },
});

before(async () => {
  a = await Ejabberd.start();
  if (typeof a === 'string') return;
  b = await Ejabberd.start({ host: '127.0.0.2', join: a });
  if (typeof b === 'string') return;
  for (const n of ['robot', 'alice']) a.register(n, `${n}-pw`);
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calc);
  gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  robot = await XmppGateway.start({
    account: { service: a.service, alternates: [b.service], jid: `robot@${DOMAIN}`, password: 'robot-pw' },
    allow: [`alice@${DOMAIN}`],
    gateway: gw,
    keep: { reconnect: { minMs: 200, maxMs: 1000 } },
  });
});

after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await closeXmppLinks();
  await robot?.close();
  await gw?.close();
  await sd?.close();
});

function skipped(t: { skip(m: string): void }): boolean {
  const why = typeof a === 'string' ? a : typeof b === 'string' ? b : undefined;
  if (why === undefined) return false;
  console.error(`SKIPPED: ${why}`);
  t.skip(why);
  return true;
}

describe('qi through a 2-node ejabberd cluster: robot on node A, clients on node B', () => {
  it('the nodes form one cluster: an account made on A logs in on B', (t) => {
    if (skipped(t)) return;
    const nodes = (a as Ejabberd).ctl('list_cluster');
    assert.match(nodes, /qi-ejabberd@127\.0\.0\.1/);
    assert.match(nodes, /qi-ejabberd@127\.0\.0\.2/);
  });

  for (const kind of ['ibb', 'socks5'] as const) {
    it(`calls, a signal, a property and 5 MiB across the cluster through ${kind === 'ibb' ? 'In-Band Bytestreams' : "B's proxy65"}`, async (t) => {
      if (skipped(t)) return;
      const before = robot.metrics[kind];
      const s = await Session.connect(ROBOT, { transports: onB('alice', kind), reconnect: false });
      sessions.push(s);
      assert.equal(robot.metrics[kind], before + 1, `the session went through ${kind}`);
      const c = (await s.service('Calculator')) as AnyProxy;
      const ms = await calculatorRoundTrip(c, calc, 'across the cluster', 5);
      t.diagnostic(`5 MiB each way, robot on A, client on B (${kind}): ${ms} ms`);
      await s.close();
    });
  }

  it('node A stops mid-session: the robot logs in again through B, presence goes down and up, the session resumes', async (t) => {
    if (skipped(t)) return;
    const watcher = await RobotWatcher.start(onB('alice').xmpp, [`robot@${DOMAIN}`]);
    const s = await Session.connect(ROBOT, {
      transports: onB('alice'),
      reconnect: { minMs: 100, maxMs: 500, callWaitMs: 20_000 },
    });
    sessions.push(s);
    try {
      await watcher.waitFor(`robot@${DOMAIN}`, true, 5000);
      const c = (await s.service('Calculator')) as AnyProxy;
      assert.equal(await c.add(1, 1), 2);
      const seen: unknown[][] = [];
      await (c.fired as { connect(f: (...x: unknown[]) => void): Promise<unknown> }).connect((...x) => seen.push(x));
      const seenAt: Record<string, number> = {};
      watcher.on('change', (r: { online: boolean }) => (seenAt[r.online ? 'online' : 'offline'] ??= Date.now()));
      const offline = watcher.waitFor(`robot@${DOMAIN}`, false, 15_000);
      const t0 = Date.now();
      await (a as Ejabberd).stop();
      await offline;
      await watcher.waitFor(`robot@${DOMAIN}`, true, 15_000);
      const down = seenAt.offline - t0;
      const up = seenAt.online - t0;
      assert.equal(robot.link.xmpp.options.service, (b as Ejabberd).service, 'the robot is on node B now');
      assert.equal(await c.add(2, 2, { timeoutMs: 20_000 }), 4, 'a call after the robot moved');
      const n = seen.length;
      await until(
        () => (calc.emit('fired', 9, 'after the move'), seen.length > n),
        'the subscription back',
        10_000,
        100,
      );
      t.diagnostic(
        `node A stopped: the watcher on B saw the robot offline after ${down} ms, online again after ${up} ms`,
      );
    } finally {
      await watcher.close();
    }
  });
});
