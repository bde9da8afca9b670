/**
 * Who may reach which robot, and a robot cut off, on a real Prosody:
 * - roster groups: the robot lets in the contacts of a group of its own roster (here a group Prosody's
 *   mod_groups shares with its members); a JID in no group is refused at the bytestream offer, before any
 *   qi byte, and a member lists the robot without ever asking to follow it;
 * - provisioning: a robot whose account is deleted (`prosodyctl shell user delete`), or whose password
 *   changes (`prosodyctl shell user password`), is cut off with a reason naming the account and stops
 *   logging in; `qi xmpp-gateway` exits; clients see it leave.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Gateway, QiAuthError, QiConnectError, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RobotWatcher, XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import { calculator } from '../object/fixtures.js';
import { QI, firstMatch } from '../helpers/demo-robot.js';
import { DOMAIN, Prosody } from '../helpers/prosody.js';

let server: Prosody | string;
let sd: Session;
let gw: Gateway;
const robots: XmppGateway[] = [];
const kids: ChildProcess[] = [];

const acct = (name: string, password = `${name}-pw`) => ({
  service: (server as Prosody).service,
  jid: `${name}@${DOMAIN}`,
  password,
});
const via = (name: string) => ({
  transports: { xmpp: { ...acct(name), bytestreams: 'ibb' as const } },
  reconnect: false,
});

before(async () => {
  const groups = join(tmpdir(), `qi-groups-${process.pid}.txt`);
  writeFileSync(groups, `[operators]\nop1@${DOMAIN}\nop2@${DOMAIN}\nbox@${DOMAIN}\n`);
  server = await Prosody.start({
    modules: ['groups', 'admin_socket', 'admin_shell'],
    config: `groups_file = "${groups}"`,
  });
  if (typeof server === 'string') return;
  for (const n of ['box', 'op1', 'op2', 'alice', 'doomed', 'moved']) server.register(n, `${n}-pw`);
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

describe('fleet access (Prosody)', () => {
  it('lets in the roster group, refuses a JID in no group before any qi byte; members see it online', async (t) => {
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
    // op2 never asked to follow box: the shared group makes them contacts.
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

  it('a robot whose account is deleted is cut off: qi xmpp-gateway exits naming it, a client sees it leave', async (t) => {
    if (typeof server === 'string') return t.skip(server);
    const p = server;
    const gateway = spawn(
      process.execPath,
      [QI, 'xmpp-gateway', '--sd', sd.endpoints[0], '--xmpp-service', p.service, '--xmpp-jid', `doomed@${DOMAIN}`],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, QI_XMPP_PASSWORD: 'doomed-pw' },
      },
    );
    kids.push(gateway);
    gateway.stdout.resume();
    let stderr = '';
    gateway.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => gateway.once('exit', r));
    // Without --allow nor --allow-group it refuses to start: the second run is the real one.
    assert.equal(await exited, 2, 'usage error without --allow');
    assert.match(stderr, /--allow-group/);
    const real = spawn(
      process.execPath,
      [
        QI,
        'xmpp-gateway',
        '--sd',
        sd.endpoints[0],
        '--xmpp-service',
        p.service,
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
      p.ctl('shell', 'user', 'delete', `doomed@${DOMAIN}`);
      await offline;
      const code = await Promise.race([gone, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
      assert.equal(code, 3, `exits with the connection code, at once (${Date.now() - t0} ms): ${err}`);
      assert.match(
        err,
        /refused doomed@example\.test \(the server ended the session, not-authorized: Account deleted\)/,
      );
      assert.match(err, /It no longer logs in/);
      await assert.rejects(c.add(2, 2, { timeoutMs: 5000 }), 'the client session ended with the robot');
      assert.equal(s.isConnected, false);
      await s.close();
    } finally {
      await w.close();
    }
  });

  it('a robot whose password changes tries once more, is refused, and stops: no endless reconnect loop', async (t) => {
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
    server.ctl('shell', 'user', 'password', `moved@${DOMAIN}`, 'new-pw');
    for (let i = 0; i < 100 && refused === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(refused instanceof QiAuthError, 'refused');
    assert.match(refused.message, /refused moved@example\.test \(authentication failed, not-authorized/);
    await assert.rejects(c.add(1, 1), 'the session through it ended');
    const attempts = moved.link.keeper.counts.attempts;
    await new Promise((r) => setTimeout(r, 1000)); // ten times the longest backoff
    assert.equal(moved.link.keeper.counts.attempts, attempts, 'no login attempt after the refusal');
    assert.equal(attempts, 1, 'one login again (after the server reset the session), refused');
    await s.close();
  });
});
