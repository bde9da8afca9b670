/**
 * XMPP servers that hold bytes back (issue 22): Debian's stock client rate limits (Prosody's mod_limits
 * c2s `10kb/s`, ejabberd's shaper 3,000 B/s), no SOCKS5 proxy. A client with `bytestreams: 'auto'` finds
 * no proxy and falls back to In-Band Bytestreams; a call carrying more than the server lets through in a
 * few heartbeats completes, slowly, without a false "stopped answering". With ejabberd, blocks queue
 * behind each other at the shaper: the stream waits as long as blocks keep being acknowledged (a fixed
 * 30 s per block failed 0.25 MiB calls at the stock rate, after 30 s), and when nothing is, the error
 * names the server setting to raise. The full 0.25 MiB at the stock rates takes minutes:
 * scripts/xmpp-stock.ts.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Gateway, LocalObject, Session, defineObject, listenStandalone, method, t } from '../../src/index.js';
import { XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import { Ejabberd } from '../helpers/ejabberd.js';
import { Prosody } from '../helpers/prosody.js';
import { DOMAIN, stockLimits, type XmppServer } from '../helpers/xmpp-server.js';

const Bulk = defineObject({ methods: { take: method([t.raw], t.int32) } });
const ROBOT = `xmpp://robot@${DOMAIN}`;
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  await closeXmppLinks();
  for (const c of closers.reverse()) await c();
});

/** A robot behind `server` (accounts robot and alice); returns its XMPP gateway. */
async function robotOn(server: XmppServer): Promise<XmppGateway> {
  for (const n of ['robot', 'alice']) server.register(n, `${n}-pw`);
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Bulk', new LocalObject(Bulk, { take: (r) => r.length }));
  const gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  const robot = await XmppGateway.start({
    account: { service: server.service, jid: `robot@${DOMAIN}`, password: 'robot-pw' },
    allow: [`alice@${DOMAIN}`],
    gateway: gw,
  });
  closers.push(
    () => sd.close(),
    () => gw.close(),
    () => robot.close(),
  );
  return robot;
}

const alice = (server: XmppServer, more: object = {}) => ({
  xmpp: { service: server.service, jid: `alice@${DOMAIN}`, password: 'alice-pw', ...more },
});

const stock = stockLimits();

describe("XMPP servers' rate limits", () => {
  // The heartbeat is shorter than the call, longer than one IBB block (~22 KB on the wire) takes.
  for (const [kind, start, rate, heartbeatMs] of [
    ['Prosody', () => Prosody.start({}, { stockLimits: true, proxy65: false }), stock.prosody.bytesPerSecond, 3000],
    ['ejabberd', () => Ejabberd.start({ stockLimits: true, proxy65: false }), stock.ejabberd.rate, 5000],
  ] as const) {
    it(`${kind} as Debian ships it (${rate} B/s per client, no SOCKS5 proxy): 'auto' falls back to IBB, a call longer than the heartbeat (${heartbeatMs} ms) completes`, async (t) => {
      const server = await start();
      if (typeof server === 'string') return t.skip(server);
      closers.push(() => server.stop(true));
      const robot = await robotOn(server);
      const s = await Session.connect(ROBOT, { transports: alice(server), reconnect: false, limits: { heartbeatMs } });
      closers.push(() => s.close());
      assert.equal(robot.metrics.ibb, 1, 'no proxy found: In-Band Bytestreams');
      const bulk = (await s.service('Bulk')) as unknown as { take(b: Buffer): Promise<number> };
      // Past the server's burst (20,000 bytes for both), the heartbeat and 1.5 s more; base64 and XML
      // make ~1.4 bytes on the wire per byte.
      const bytes = Math.round((20_000 + (rate * (heartbeatMs + 1500)) / 1000) / 1.4);
      const t0 = Date.now();
      assert.equal(await bulk.take(Buffer.alloc(bytes, 1)), bytes);
      const ms = Date.now() - t0;
      t.diagnostic(`${bytes} bytes through ${kind}'s stock limit: ${ms} ms`);
      assert.ok(ms > heartbeatMs, `the server throttled it (${ms} ms)`);
    });
  }

  it('ejabberd shaping: blocks wait their turn as long as some are acknowledged; with none, the error names the shaper', async (t) => {
    // Ten times Debian's rate: a 16 KiB block (~22 KB stanza) passes every ~0.7 s; eight in flight take ~6 s.
    const rate = stock.ejabberd.rate * 10;
    const server = await Ejabberd.start({ proxy65: false, shaper: { rate, burstSize: rate } });
    if (typeof server === 'string') return t.skip(server);
    closers.push(() => server.stop(true));
    await robotOn(server);
    const connect = async (ackTimeoutMs: number) => {
      const s = await Session.connect(ROBOT, {
        transports: alice(server, { ibb: { ackTimeoutMs } }),
        reconnect: false,
      });
      closers.push(() => s.close());
      return (await s.service('Bulk')) as unknown as { take(b: Buffer): Promise<number> };
    };
    const big = Buffer.alloc(128 * 1024, 2);
    const t0 = Date.now();
    assert.equal(await (await connect(2000)).take(big), big.length);
    const ms = Date.now() - t0;
    t.diagnostic(`128 KiB at ${rate} B/s, 2 s without acknowledgement allowed: ${ms} ms`);
    assert.ok(ms > 3000, `the blocks waited behind each other longer than 2 s (${ms} ms)`);
    await closeXmppLinks();
    await assert.rejects((await connect(300)).take(big), (e: Error) => {
      assert.match(e.message, /nothing acknowledged for \d+ ms/);
      assert.match(e.message, /ejabberd's `c2s_shaper` shaper/);
      assert.match(e.message, /Prosody's mod_limits/);
      return true;
    });
  });
});
