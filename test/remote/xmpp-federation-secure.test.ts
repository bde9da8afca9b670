/**
 * Federations with Debian's stock s2s security (issue 23): Prosody's `s2s_secure_auth = true`,
 * ejabberd's `s2s_use_starttls: required` and `s2s_shaper: fast`, each domain's certificate signed by a
 * test CA every server trusts (test/helpers/federation.ts). The scenarios of the other federations
 * (test/helpers/federation-suite.ts) with Prosody<->Prosody and a robot on ejabberd reached from
 * Prosody; then a server whose certificate nobody trusts, and ejabberd's `s2s_shaper` applied.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import {
  Gateway,
  LocalObject,
  QiConnectError,
  Session,
  defineObject,
  listenStandalone,
  method,
  t,
} from '../../src/index.js';
import { XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import { prosodyFederation, startFederation, type Federation } from '../helpers/federation.js';
import { federationSuite } from '../helpers/federation-suite.js';
import { stockLimits, type XmppServer } from '../helpers/xmpp-server.js';

/**
 * robot@a.test online behind a gateway to its own SD (`serve` adds services to it), allowing alice@b.test;
 * returns b.test's server. What it starts is closed by `closers`.
 */
async function robotOnA(
  fed: Federation,
  closers: (() => Promise<unknown>)[],
  serve?: (sd: Session) => Promise<unknown>,
): Promise<XmppServer> {
  const [a, b] = [fed.servers['a.test'], fed.servers['b.test']];
  a.register('robot', 'robot-pw');
  b.register('alice', 'alice-pw');
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  closers.push(() => sd.close());
  await serve?.(sd);
  const gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  closers.push(() => gw.close());
  const robot = await XmppGateway.start({
    account: { service: a.service, jid: 'robot@a.test', password: 'robot-pw' },
    allow: ['alice@b.test'],
    gateway: gw,
  });
  closers.push(() => robot.close());
  return b;
}

federationSuite({ 'a.test': 'prosody', 'b.test': 'prosody' }, { ibb: 2, socks5: 0 }, { stockSecurity: true });
federationSuite({ 'a.test': 'ejabberd', 'b.test': 'prosody' }, { ibb: 2, socks5: 0 }, { stockSecurity: true });

describe("a.test's certificate is self-signed, b.test has s2s_secure_auth = true (Debian's Prosody)", () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    await closeXmppLinks();
    for (const c of closers.reverse()) await c();
  });
  it("alice@b.test's connection to robot@a.test fails saying s2s could not be set up, and what to check", async (tc) => {
    const fed = await prosodyFederation(['a.test', 'b.test'], { stockSecurity: true, untrusted: ['a.test'] });
    if (typeof fed === 'string') return tc.skip(fed);
    const b = await robotOnA(fed, closers);
    const t0 = Date.now();
    const e = await Session.connect('xmpp://robot@a.test', {
      transports: { xmpp: { service: b.service, jid: 'alice@b.test', password: 'alice-pw', bytestreams: 'ibb' } },
      reconnect: false,
    }).then(
      () => assert.fail('connected across an s2s link that s2s_secure_auth should refuse'),
      (e: Error) => e,
    );
    tc.diagnostic(`failed after ${Date.now() - t0} ms: ${e.message}`);
    assert.ok(e instanceof QiConnectError, String(e));
    // Prosody's stanza error: remote-server-timeout, "Remote server's certificate is not trusted".
    assert.match(
      e.message,
      /b\.test's XMPP server could not reach a\.test's over server-to-server \(s2s\) \(remote-server-(timeout|not-found): .*certificate.*\)\. Check the s2s settings of both servers/,
    );
    assert.match(e.message, /s2s_secure_auth/);
    assert.ok(Date.now() - t0 < 10_000, 'refused at once, not after a timeout');
  });
});

describe("ejabberd<->ejabberd with Debian's stock s2s settings and `s2s_shaper` on the s2s listener", () => {
  const Bulk = defineObject({ methods: { take: method([t.raw], t.int32) } });
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    await closeXmppLinks();
    for (const c of closers.reverse()) await c();
  });

  it(`bulk data crosses at the \`fast\` shaper's rate; an impatient stream names \`s2s_shaper\``, async (tc) => {
    const rate = stockLimits().ejabberdS2s.rate;
    const fed = await startFederation(
      { 'a.test': 'ejabberd', 'b.test': 'ejabberd' },
      { stockSecurity: true, s2sShaped: true },
    );
    if (typeof fed === 'string') return tc.skip(fed);
    const b = await robotOnA(fed, closers, (sd) =>
      sd.registerService('Bulk', new LocalObject(Bulk, { take: (r) => r.length })),
    );
    const connect = async (ibb: object) => {
      const s = await Session.connect('xmpp://robot@a.test', {
        transports: {
          xmpp: { service: b.service, jid: 'alice@b.test', password: 'alice-pw', bytestreams: 'ibb', ibb },
        },
        reconnect: false,
      });
      closers.push(() => s.close());
      return (await s.service('Bulk')) as unknown as { take(b: Buffer): Promise<number> };
    };
    // ~1.4 bytes on the wire per byte (base64, stanzas): 3 s of the rate past its burst (one second's worth).
    const bytes = Math.round((rate * 4) / 1.4);
    const bulk = await connect({});
    const t0 = Date.now();
    assert.equal(await bulk.take(Buffer.alloc(bytes, 1)), bytes);
    const ms = Date.now() - t0;
    tc.diagnostic(`${bytes} bytes from b.test to a.test through s2s_shaper (fast, ${rate} B/s): ${ms} ms`);
    assert.ok(ms > 2000, `a.test's s2s_shaper throttled it (${ms} ms)`);
    await closeXmppLinks();
    const impatient = await connect({ ackTimeoutMs: 100 });
    await assert.rejects(impatient.take(Buffer.alloc(bytes, 2)), (e: Error) => {
      assert.match(e.message, /nothing acknowledged for \d+ ms/);
      assert.match(e.message, /ejabberd's `s2s_shaper`/);
      return true;
    });
  });
});
