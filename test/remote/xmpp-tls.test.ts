/**
 * TLS between our XMPP links and their server, as real servers run it: Prosody requiring encryption on
 * its client port (`c2s_require_encryption = true`, Debian's default) and serving TLS at once on a second
 * one (`xmpps://`), with a certificate for its domain signed by a company CA (the test CA). The certificate
 * is trusted through `tls.ca` (or `QI_XMPP_CA`), or pinned; one that is not trusted, or not valid for the
 * domain, ends the login at once with an error that says how to trust it; a port that does not speak TLS
 * is named; a robot over TLS survives its server's restart. Then ejabberd as Debian ships it: STARTTLS
 * required, a self-signed certificate, pinned.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  Gateway,
  QiTlsError,
  Session,
  certificateFingerprint,
  listenStandalone,
  type AnyProxy,
} from '../../src/index.js';
import { XmppGateway, closeXmppLinks, type XmppAccount } from '../../src/remote/index.js';
import { XmppLink } from '../../src/remote/xmpp/link.js';
import { calculator } from '../object/fixtures.js';
import { domainCertificate, testCerts } from '../helpers/certs.js';
import { DOMAIN, Prosody } from '../helpers/prosody.js';
import { Ejabberd } from '../helpers/ejabberd.js';
import { runQi } from '../helpers/demo-robot.js';
import { calculatorRoundTrip } from '../helpers/xmpp-suite.js';

const ROBOT = `xmpp://robot@${DOMAIN}`;
let server: Prosody | string;
let sd: Session;
let gw: Gateway;
let robot: XmppGateway;
const calc = calculator();
const cert = domainCertificate(DOMAIN);
const fingerprint = certificateFingerprint(cert.cert);
const caFile = join(tmpdir(), `qi-xmpp-ca-${process.pid}.pem`);
const links: XmppLink[] = [];
const sessions: Session[] = [];

const account = (name: string, more: Partial<XmppAccount> = {}): XmppAccount => ({
  service: (server as Prosody).service,
  jid: `${name}@${DOMAIN}`,
  password: `${name}-pw`,
  ...more,
});
const skipped = (t: { skip(m: string): void }) => typeof server === 'string' && (t.skip(server), true);

/** Opens a link and expects it to fail at once (not after the login's 10 s) with a QiTlsError matching `re`. */
async function failsAtOnce(a: XmppAccount, re: RegExp): Promise<QiTlsError> {
  const t0 = Date.now();
  let error: unknown;
  await XmppLink.open(a).then(
    (l) => links.push(l),
    (e: unknown) => (error = e),
  );
  assert.ok(error instanceof QiTlsError, `a QiTlsError, not ${String(error)}`);
  assert.match(error.message, re);
  assert.ok(Date.now() - t0 < 5000, `failed within 5 s (${Date.now() - t0} ms), not at the login's timeout`);
  return error;
}

before(async () => {
  writeFileSync(caFile, testCerts().ca);
  server = await Prosody.start({ c2sTls: cert });
  if (typeof server === 'string') return;
  for (const n of ['robot', 'robot2', 'alice']) server.register(n, `${n}-pw`);
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calc);
  gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  robot = await XmppGateway.start({
    account: account('robot', { tls: { ca: testCerts().ca } }),
    allow: [`alice@${DOMAIN}`],
    gateway: gw,
    keep: { reconnect: { minMs: 200, maxMs: 2000 } },
  });
});

after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(links.map((l) => l.close()));
  await closeXmppLinks();
  await robot?.close();
  await gw?.close();
  await sd?.close();
  rmSync(caFile, { force: true });
});

describe('XMPP over TLS (Prosody requiring encryption, a company CA)', () => {
  it('robot and client log in with STARTTLS trusting the CA given: call, signal, property, 1 MiB', async (t) => {
    if (skipped(t)) return;
    const s = await Session.connect(ROBOT, {
      transports: { xmpp: account('alice', { tls: { ca: testCerts().ca } }) },
      reconnect: false,
    });
    sessions.push(s);
    await calculatorRoundTrip((await s.service('Calculator')) as AnyProxy, calc, 'over tls', 1);
  });

  it('a server whose certificate is not trusted ends the login at once, naming the fingerprint and the options', async (t) => {
    if (skipped(t)) return;
    const e = await failsAtOnce(
      account('alice'),
      /The certificate of xmpp:\/\/127\.0\.0\.1:\d+ \(example\.test\) is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)\..*\{ tls: \{ ca \} \} on the XMPP account \(or QI_XMPP_CA/,
    );
    assert.equal(e.fingerprint, fingerprint);
    assert.ok(e.message.includes(fingerprint), 'the fingerprint to pin is in the message');
  });

  it('a pinned fingerprint is trusted (and a wrong one refused), whatever signed the certificate', async (t) => {
    if (skipped(t)) return;
    links.push(await XmppLink.open(account('alice', { resource: 'pinned', tls: { fingerprint } })));
    await failsAtOnce(
      account('alice', { tls: { fingerprint: 'AB'.repeat(32) } }),
      /does not match the pinned fingerprint\. It is [0-9A-F:]+; expected AB:AB:.*something is between you and the XMPP server/,
    );
  });

  it('checks the certificate against the domain (servername): one for another domain is refused', async (t) => {
    if (skipped(t)) return;
    await failsAtOnce(
      account('alice', { tls: { ca: testCerts().ca, servername: 'other.test' } }),
      /is not trusted \(ERR_TLS_CERT_ALTNAME_INVALID\)/,
    );
  });

  it('xmpps:// speaks TLS at once; xmpps:// to a STARTTLS port fails at once, naming which is which', async (t) => {
    if (skipped(t)) return;
    const p = server as Prosody;
    const l = await XmppLink.open({
      ...account('alice', { resource: 'direct' }),
      service: p.tlsService,
      tls: { fingerprint },
    });
    links.push(l);
    assert.match(l.jid, /^alice@example\.test\/direct$/);
    await failsAtOnce(
      { ...account('alice'), service: p.service.replace('xmpp:', 'xmpps:'), tls: { fingerprint } },
      /TLS with the XMPP server xmpps:\/\/127\.0\.0\.1:\d+ failed \(wrong version number\)\. xmpps:\/\/ is for a port that speaks TLS at once/,
    );
    await failsAtOnce({ ...account('alice'), service: p.tlsService }, /is not trusted/);
  });

  it('QI_XMPP_CA names the CA file for programs and the qi command; without it, qi names --xmpp-ca', async (t) => {
    if (skipped(t)) return;
    const flags = ['--xmpp-service', (server as Prosody).service, '--xmpp-jid', `alice@${DOMAIN}`];
    const env = { QI_XMPP_PASSWORD: 'alice-pw' };
    const ok = await runQi([...flags, '--url', ROBOT, 'services'], 20_000, { ...env, QI_XMPP_CA: caFile });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /Calculator/);
    const flag = await runQi([...flags, '--xmpp-ca', caFile, '--url', ROBOT, 'services'], 20_000, env);
    assert.equal(flag.code, 0, flag.stderr);
    const refused = await runQi([...flags, '--url', ROBOT, 'services'], 20_000, env);
    assert.equal(refused.code, 3);
    assert.match(refused.stderr, /is not trusted.*run again with --xmpp-ca FILE.*--xmpp-fingerprint [0-9A-F:]{95}/s);
    const missing = await runQi([...flags, '--url', ROBOT, 'services'], 20_000, {
      ...env,
      QI_XMPP_CA: '/nonexistent/ca.pem',
    });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /QI_XMPP_CA names \/nonexistent\/ca\.pem, which cannot be read/);
  });

  it('qi xmpp-gateway on a server it does not trust stops at once, naming --xmpp-ca (it does not wait for the server)', async (t) => {
    if (skipped(t)) return;
    const robot2 = ['--xmpp-service', (server as Prosody).service, '--xmpp-jid', `robot2@${DOMAIN}`];
    const args = ['xmpp-gateway', '--sd', sd.endpoints[0], ...robot2, '--allow', `alice@${DOMAIN}`, '--open'];
    const t0 = Date.now();
    const r = await runQi(args, 20_000, { QI_XMPP_PASSWORD: 'robot2-pw' });
    assert.equal(r.code, 3, r.stderr);
    assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms`);
    assert.match(r.stderr, /is not trusted.*run again with --xmpp-ca FILE/s);
    assert.doesNotMatch(r.stderr, /Trying again/);
  });

  it('robot and client over TLS survive their server restarting: both log in again, calls go through', async (t) => {
    if (skipped(t)) return;
    const s = await Session.connect(ROBOT, {
      transports: { xmpp: account('alice', { resource: 'restart', tls: { fingerprint } }) },
      reconnect: { minMs: 200, maxMs: 1000, callWaitMs: 30_000 },
    });
    sessions.push(s);
    const c = (await s.service('Calculator')) as AnyProxy;
    assert.equal(await c.add(1, 1), 2);
    await (server as Prosody).restart();
    assert.equal(await c.add(2, 3, { timeoutMs: 30_000 }), 5, 'a call after the restart');
  });

  it('a certificate that changes while a link is online: its logins again fail, it says why, and it is back once trusted', async (t) => {
    if (skipped(t)) return;
    const p = server as Prosody;
    const errors: QiTlsError[] = [];
    const l = await XmppLink.open(account('alice', { resource: 'watch', tls: { fingerprint } }), {
      reconnect: { minMs: 100, maxMs: 400 },
      onLoginError: (e) => errors.push(e),
    });
    links.push(l);
    const other = domainCertificate(DOMAIN);
    const install = (c: { cert: string; key: string }) => {
      writeFileSync(join(p.dir, `${DOMAIN}.crt`), c.cert);
      writeFileSync(join(p.dir, `${DOMAIN}.key`), c.key);
    };
    try {
      install(other);
      await p.restart();
      for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(errors.length > 0, 'told of the failed login');
      assert.match(errors[0].message, /does not match the pinned fingerprint/);
      await assert.rejects(l.whenOnline(200), /the last login failed: The certificate of .* does not match/);
    } finally {
      install(cert);
      await p.restart();
    }
    await l.whenOnline(10_000);
    assert.equal(l.loginError, undefined);
  });
});

describe("XMPP over TLS (ejabberd: STARTTLS required, a self-signed certificate as Debian's)", () => {
  const own = domainCertificate(DOMAIN, false);
  const pin = certificateFingerprint(own.cert);
  let e: Ejabberd | string = 'not started';
  let robotOnE: XmppGateway | undefined;

  const certfile = join(tmpdir(), `qi-ejabberd-c2s-${process.pid}.pem`);
  before(async () => {
    writeFileSync(certfile, own.cert + own.key);
    e = await Ejabberd.start({ c2sTls: { certfile } });
    if (typeof e === 'string') return;
    for (const n of ['robot', 'alice']) e.register(n, `${n}-pw`);
    robotOnE = await XmppGateway.start({
      account: { service: e.service, jid: `robot@${DOMAIN}`, password: 'robot-pw', tls: { fingerprint: pin } },
      allow: [`alice@${DOMAIN}`],
      gateway: gw,
    });
  });
  after(async () => {
    await robotOnE?.close();
    if (typeof e !== 'string') await e.stop(true);
    rmSync(certfile, { force: true });
  });

  it('robot and client pin the certificate: call, signal, property, 1 MiB; unpinned, the login fails at once', async (t) => {
    if (typeof e === 'string') return t.skip(e);
    const alice = { service: e.service, jid: `alice@${DOMAIN}`, password: 'alice-pw' };
    const s = await Session.connect(ROBOT, {
      transports: { xmpp: { ...alice, resource: 'pinned', tls: { fingerprint: pin } } },
      reconnect: false,
    });
    sessions.push(s);
    await calculatorRoundTrip((await s.service('Calculator')) as AnyProxy, calc, 'over ejabberd tls', 1);
    const refused = await failsAtOnce(alice, /is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
    assert.equal(refused.fingerprint, pin);
  });
});
