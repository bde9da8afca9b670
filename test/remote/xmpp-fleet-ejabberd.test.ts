/**
 * Provisioning and access on a real ejabberd (Debian's 23.01), as xmpp-fleet-access.test.ts does on Prosody:
 * - accounts made with `ejabberdctl register`, and many at once through the ReST API (`mod_http_api`);
 * - a shared roster group (`ejabberdctl srg_create` / `srg_user_add`): the robot lets in its members, with
 *   no roster subscription made by hand; a JID in no group is refused before any qi byte;
 * - an account removed (`ejabberdctl unregister`) while the robot is online: `qi xmpp-gateway` exits 3
 *   naming the account, a client sees it leave; a password changed (`ejabberdctl change_password`): the
 *   robot is cut off and stops logging in.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { Gateway, QiAuthError, QiConnectError, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RobotWatcher, XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import { calculator } from '../object/fixtures.js';
import { QI, firstMatch } from '../helpers/demo-robot.js';
import { DOMAIN, Ejabberd } from '../helpers/ejabberd.js';

let server: Ejabberd | string;
let sd: Session;
let gw: Gateway;
const robots: XmppGateway[] = [];
const kids: ChildProcess[] = [];

const acct = (name: string, password = `${name}-pw`) => ({
  service: (server as Ejabberd).service,
  jid: `${name}@${DOMAIN}`,
  password,
});
const via = (name: string) => ({
  transports: { xmpp: { ...acct(name), bytestreams: 'ibb' as const } },
  reconnect: false,
});

before(async () => {
  server = await Ejabberd.start({ sharedRoster: true, api: true, proxy65: false });
  if (typeof server === 'string') return;
  for (const n of ['box', 'op1', 'op2', 'alice', 'doomed', 'moved']) server.register(n, `${n}-pw`);
  // One shared roster group whose members see each other (it displays itself).
  server.ctl('srg_create', 'operators', DOMAIN, 'operators', 'who may reach box', 'operators');
  for (const n of ['op1', 'op2', 'box']) server.ctl('srg_user_add', n, DOMAIN, 'operators', DOMAIN);
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
  gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
});

after(async () => {
  kids.forEach((k) => k.kill('SIGKILL'));
  await closeXmppLinks();
  for (const r of robots) await r.close();
  await gw?.close();
  await sd?.close();
});

describe('fleet access (ejabberd)', () => {
  it('makes accounts through the ReST API, many per second, where each ejabberdctl starts a node', async (t) => {
    if (typeof server === 'string') return t.skip(server);
    const e = server;
    let t0 = Date.now();
    e.register('one-by-ctl', 'x');
    const ctlMs = Date.now() - t0;
    t0 = Date.now();
    const names = Array.from({ length: 50 }, (_, i) => `api${i}`);
    await e.api(names.map((n) => ['register', { user: n, host: DOMAIN, password: `${n}-pw` }]));
    const apiMs = Date.now() - t0;
    t.diagnostic(`ejabberdctl register: ${ctlMs} ms for one; ReST API: ${apiMs} ms for 50`);
    assert.match(e.ctl('registered_users', DOMAIN), /^api49$/m);
    // An account made through the API logs in.
    const w = await RobotWatcher.start(acct('api49'), []);
    await w.close();
  });

  it('lets in a shared roster group, refuses a JID in no group before any qi byte; members see it online', async (t) => {
    if (typeof server === 'string') return t.skip(server);
    const box = await XmppGateway.start({ account: acct('box'), allow: [], allowGroups: ['operators'], gateway: gw });
    robots.push(box);
    const s = await Session.connect(`xmpp://box@${DOMAIN}`, via('op1'));
    assert.equal(await ((await s.service('Calculator')) as AnyProxy).add(2, 3), 5);
    await s.close();
    const before = { ...box.metrics };
    await assert.rejects(
      Session.connect(`xmpp://box@${DOMAIN}`, via('alice')),
      (e: unknown) =>
        e instanceof QiConnectError &&
        /refused alice@example\.test: it is not in the robot's allowlist/.test(e.message),
    );
    assert.equal(box.metrics.refused, before.refused + 1);
    assert.equal(box.metrics.sessions, before.sessions, 'no session opened for alice: no qi byte flowed');
    const w = await RobotWatcher.start(acct('op2'), [], {}, { groups: ['operators'] });
    try {
      await w.waitFor(`box@${DOMAIN}`, true, 5000);
      assert.deepEqual(
        w.list().map((r) => [r.jid, r.online]),
        [
          [`box@${DOMAIN}`, true],
          [`op1@${DOMAIN}`, false],
        ],
        'the group listed, box online',
      );
    } finally {
      await w.close();
    }
  });

  it('an account removed with ejabberdctl unregister: qi xmpp-gateway exits 3 naming it, a client sees it leave', async (t) => {
    if (typeof server === 'string') return t.skip(server);
    const e = server;
    const real = spawn(
      process.execPath,
      [
        QI,
        'xmpp-gateway',
        '--sd',
        sd.endpoints[0],
        '--xmpp-service',
        e.service,
        '--xmpp-jid',
        `doomed@${DOMAIN}`,
        '--allow',
        `alice@${DOMAIN}`,
        '--open',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QI_XMPP_PASSWORD: 'doomed-pw' } },
    );
    kids.push(real);
    let err = '';
    real.stderr!.on('data', (d) => (err += d));
    const gone = new Promise<number | null>((r) => real.once('exit', r));
    await firstMatch(real, /(Robot online as \S+)/, 'qi xmpp-gateway', 15_000);
    const w = await RobotWatcher.start(acct('alice'), [`doomed@${DOMAIN}`]);
    try {
      await w.waitFor(`doomed@${DOMAIN}`, true, 5000);
      const s = await Session.connect(`xmpp://doomed@${DOMAIN}`, via('alice'));
      const c = (await s.service('Calculator')) as AnyProxy;
      assert.equal(await c.add(2, 2), 4);
      const offline = w.waitFor(`doomed@${DOMAIN}`, false, 5000);
      const t0 = Date.now();
      e.ctl('unregister', 'doomed', DOMAIN);
      await offline;
      const code = await Promise.race([gone, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
      assert.equal(code, 3, `exits with the connection code, at once (${Date.now() - t0} ms): ${err}`);
      // ejabberd ends the session with `conflict: User removed`; the login again is refused.
      assert.match(
        err,
        /refused doomed@example\.test \(authentication failed, not-authorized: Invalid username or password\)/,
      );
      assert.match(err, /It no longer logs in/);
      await assert.rejects(c.add(2, 2, { timeoutMs: 5000 }), 'the client session ended with the robot');
      assert.equal(s.isConnected, false);
      await s.close();
    } finally {
      await w.close();
    }
  });

  it('a password changed with ejabberdctl change_password: the robot is cut off, refused, and stops', async (t) => {
    if (typeof server === 'string') return t.skip(server);
    let refused: QiAuthError | undefined;
    const moved = await XmppGateway.start({
      account: acct('moved'),
      allow: [`alice@${DOMAIN}`],
      gateway: gw,
      keep: { reconnect: { minMs: 50, maxMs: 100 } },
      onRefused: (e) => (refused = e),
    });
    robots.push(moved);
    const s = await Session.connect(`xmpp://moved@${DOMAIN}`, via('alice'));
    const c = (await s.service('Calculator')) as AnyProxy;
    assert.equal(await c.add(1, 1), 2);
    // ejabberd keeps the sessions of an account whose password changes: kick_user ends them.
    server.ctl('change_password', 'moved', DOMAIN, 'new-pw');
    server.ctl('kick_user', 'moved', DOMAIN);
    for (let i = 0; i < 100 && refused === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(refused instanceof QiAuthError, 'refused');
    assert.match(refused.message, /refused moved@example\.test \(authentication failed, not-authorized/);
    await assert.rejects(c.add(1, 1), 'the session through it ended');
    assert.equal(moved.link.keeper.counts.attempts, 1, 'one login again (after the kick), refused');
    const attempts = moved.link.keeper.counts.attempts;
    await new Promise((r) => setTimeout(r, 1000)); // ten times the longest backoff
    assert.equal(moved.link.keeper.counts.attempts, attempts, 'no login attempt after the refusal');
    await s.close();
  });
});
