/**
 * A federation (issue 23): two Prosody servers for the domains a.test and b.test, joined by
 * server-to-server connections (s2s: TLS and dialback, as Debian ships Prosody) on loopback, each
 * finding the other through DNS SRV records of the test's own DNS server (test/helpers/federation.ts).
 * robot@a.test logs in to A, alice@b.test to B and reaches the robot across s2s: presence (a roster
 * subscription across servers), calls, a signal, a property and a few MiB through In-Band Bytestreams
 * and through B's SOCKS5 proxy; mallory@b.test is refused. Then Debian's stock s2s rate limit
 * (mod_limits `s2sin`, 30 kB/s): a payload past its burst crosses, slowly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Gateway,
  LocalObject,
  QiConnectError,
  Session,
  defineObject,
  listenStandalone,
  method,
  t,
  type AnyProxy,
} from '../../src/index.js';
import { RobotWatcher, XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import { calculator } from '../object/fixtures.js';
import { prosodyFederation, type Federation } from '../helpers/federation.js';
import { stockLimits } from '../helpers/xmpp-server.js';

let fed: Federation | string;
let sd: Session;
let gw: Gateway;
let robot: XmppGateway;
const calc = calculator();
const sessions: Session[] = [];
const ROBOT = 'xmpp://robot@a.test';
const onB = (name: string, bytestreams: 'auto' | 'ibb' | 'socks5' = 'auto') => ({
  xmpp: {
    service: (fed as Federation).servers['b.test'].service,
    jid: `${name}@b.test`,
    password: `${name}-pw`,
    bytestreams,
  },
});

before(async () => {
  fed = await prosodyFederation(['a.test', 'b.test']);
  if (typeof fed === 'string') return;
  fed.servers['a.test'].register('robot', 'robot-pw');
  for (const n of ['alice', 'mallory']) fed.servers['b.test'].register(n, `${n}-pw`);
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calc);
  gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  robot = await XmppGateway.start({
    account: { service: fed.servers['a.test'].service, jid: 'robot@a.test', password: 'robot-pw' },
    allow: ['alice@b.test'],
    gateway: gw,
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
  if (typeof fed !== 'string') return false;
  console.error(`SKIPPED: ${fed}`);
  t.skip(fed);
  return true;
}

describe('qi across a federation: robot@a.test reached by alice@b.test (Prosody s2s)', () => {
  it("alice follows the robot's presence across servers; mallory is refused", async (t) => {
    if (skipped(t)) return;
    const t0 = Date.now();
    const watcher = await RobotWatcher.start(onB('alice').xmpp, ['robot@a.test']);
    try {
      const up = await watcher.waitFor('robot@a.test', true, 10_000);
      t.diagnostic(`robot@a.test seen online from b.test after ${Date.now() - t0} ms (s2s set up on the way)`);
      assert.equal(up.address, 'robot@a.test/qi');
      assert.equal(up.services, 1, 'the robot announces its number of services');
    } finally {
      await watcher.close();
    }
    await assert.rejects(
      Session.connect(ROBOT, { transports: onB('mallory'), reconnect: false }),
      (e: unknown) =>
        e instanceof QiConnectError && /refused mallory@b\.test: it is not in the robot's allowlist/.test(e.message),
    );
    const asked = await (fed as Federation).dns.asked();
    assert.ok(asked.includes('_xmpp-server._tcp.a.test SRV'), `B looked a.test up: ${asked.join(', ')}`);
  });

  // 'auto' finds B's proxy: the robot on a.test connects to it (its address is reachable), alice activates it.
  for (const [kind, asked, mib] of [
    ['ibb', 'ibb', 2],
    ['socks5', 'auto', 5],
  ] as const) {
    it(`calls, a signal, a property and ${mib} MiB across s2s through ${kind === 'ibb' ? 'In-Band Bytestreams' : "B's proxy65 ('auto')"}`, async (t) => {
      if (skipped(t)) return;
      const before = robot.metrics[kind];
      const s = await Session.connect(ROBOT, { transports: onB('alice', asked), reconnect: false });
      sessions.push(s);
      assert.equal(robot.metrics[kind], before + 1, `the session went through ${kind}`);
      const c = (await s.service('Calculator')) as AnyProxy;
      assert.equal(await c.add(40, 2), 42);
      const got = (c.fired as { once(): Promise<unknown[]> }).once();
      await new Promise((r) => setTimeout(r, 100));
      calc.emit('fired', 5, 'across s2s');
      assert.deepEqual(await got, [5, 'across s2s']);
      assert.equal(await (c.volume as { get(): Promise<number> }).get(), 0.5);
      const big = Buffer.alloc(mib * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
      const t0 = Date.now();
      assert.ok(((await c.echoRaw(big)) as Buffer).equals(big));
      t.diagnostic(`${mib} MiB each way, robot on a.test, client on b.test (${kind}): ${Date.now() - t0} ms`);
      await s.close();
    });
  }
});

describe("Debian's stock s2s rate limit (Prosody mod_limits `s2sin`), a SOCKS5 proxy the robot cannot reach", () => {
  const stock = stockLimits().prosodyS2s;
  const Bulk = defineObject({ methods: { take: method([t.raw], t.int32) } });
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of closers.reverse()) await c();
  });

  it(`'auto' falls back to IBB saying why; a payload past the burst crosses at ${stock.rate}; an impatient stream names the setting`, async (t) => {
    // b.test's proxy announces an address where nothing listens (as a proxy on a private network would be for robots elsewhere).
    const slow = await prosodyFederation(['a.test', 'b.test'], { s2sinRate: stock.rate, proxyAddress: '127.0.0.3' });
    if (typeof slow === 'string') return t.skip(slow);
    const [a, b] = [slow.servers['a.test'], slow.servers['b.test']];
    a.register('robot', 'robot-pw');
    b.register('alice', 'alice-pw');
    const bsd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    closers.push(() => bsd.close());
    await bsd.registerService('Bulk', new LocalObject(Bulk, { take: (r) => r.length }));
    const bgw = await Gateway.start({ sd: bsd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
    closers.push(() => bgw.close());
    const slowRobot = await XmppGateway.start({
      account: { service: a.service, jid: 'robot@a.test', password: 'robot-pw' },
      allow: ['alice@b.test'],
      gateway: bgw,
    });
    closers.push(() => slowRobot.close());
    const connect = async (more: object, heartbeatMs?: number) => {
      const s = await Session.connect(ROBOT, {
        transports: { xmpp: { service: b.service, jid: 'alice@b.test', password: 'alice-pw', ...more } },
        reconnect: false,
        limits: heartbeatMs === undefined ? undefined : { heartbeatMs },
      });
      closers.push(() => s.close());
      return (await s.service('Bulk')) as unknown as { take(b: Buffer): Promise<number> };
    };
    // Past the burst (2 s of the rate), the heartbeat and 1.5 s more; ~1.4 bytes on the wire per byte.
    const heartbeatMs = 3000;
    const bytes = Math.round((stock.bytesPerSecond * (2 + (heartbeatMs + 1500) / 1000)) / 1.4);
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const bulk = await connect({}, heartbeatMs);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.deepEqual([slowRobot.metrics.socks5, slowRobot.metrics.ibb], [0, 1], "b.test's proxy unreachable: IBB");
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0].message,
      /^SOCKS5 to robot@a\.test\/qi through the bytestream proxy proxy\.b\.test \(127\.0\.0\.3:\d+\) failed: robot@a\.test\/qi could not reach proxy\.b\.test at 127\.0\.0\.3:\d+ \(.*ECONNREFUSED.*\)\. Using In-Band Bytestreams .* proxy65_address/,
    );
    const t0 = Date.now();
    assert.equal(await bulk.take(Buffer.alloc(bytes, 1)), bytes);
    const ms = Date.now() - t0;
    t.diagnostic(`${bytes} bytes from b.test to a.test through s2sin at ${stock.rate}: ${ms} ms`);
    assert.ok(ms > heartbeatMs, `A's s2sin limit throttled it (${ms} ms)`);
    await closeXmppLinks();
    await new Promise((r) => setTimeout(r, 2500)); // the limit's burst back, for the login and the first calls
    const impatient = await connect({ ibb: { ackTimeoutMs: 300 } });
    await assert.rejects(impatient.take(Buffer.alloc(bytes, 2)), (e: Error) => {
      assert.match(e.message, /nothing acknowledged for \d+ ms/);
      assert.match(e.message, /`limits\.s2sin\.rate`/);
      return true;
    });
  });
});
