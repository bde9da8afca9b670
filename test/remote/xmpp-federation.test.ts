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
import { after, describe, it } from 'node:test';
import { Gateway, LocalObject, Session, defineObject, listenStandalone, method, t } from '../../src/index.js';
import { XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import { prosodyFederation } from '../helpers/federation.js';
import { federationSuite } from '../helpers/federation-suite.js';
import { stockLimits } from '../helpers/xmpp-server.js';

federationSuite({ 'a.test': 'prosody', 'b.test': 'prosody' });

const ROBOT = 'xmpp://robot@a.test';

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
