/**
 * Who may reach a robot, and a robot cut off, run against each XMPP server the tests start (Prosody:
 * test/remote/xmpp-fleet-access.test.ts, ejabberd: test/remote/xmpp-fleet-ejabberd.test.ts), and
 * `qi xmpp-gateway` as a child process (also test/remote/xmpp-cluster-kill.test.ts). What differs between
 * the servers (how an account is removed or its password changed, the reason the server gives) is a
 * parameter; every scenario asserts the same.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before } from 'node:test';
import { Gateway, QiAuthError, QiConnectError, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RobotWatcher, XmppGateway, closeXmppLinks, type XmppAccount } from '../../src/remote/index.js';
import { calculator } from '../object/fixtures.js';
import { QI, firstMatch } from './demo-robot.js';
import { DOMAIN, type XmppServer } from './xmpp-server.js';

/** A `qi xmpp-gateway` process. */
export interface XmppGatewayCli {
  child: ChildProcess;
  /** What it wrote on stderr so far. */
  stderr(): string;
  /** Its exit code, once it exits. */
  exited: Promise<number | null>;
  /** Resolves once it says it is online; rejects after `ms` with what it printed. */
  online(ms: number): Promise<string>;
}

/**
 * Spawns `qi xmpp-gateway` for the SD `sd`, logging in as `name@example.test` (password `name-pw`, given in
 * QI_XMPP_PASSWORD) on `services[0]`, the others its `--xmpp-alternate`s, with `args` after (`--allow …`).
 * Hand the child to what kills it at the end before waiting for it to be online.
 */
export function startXmppGatewayCli(o: {
  sd: string;
  services: string[];
  name: string;
  args: string[];
}): XmppGatewayCli {
  const [service, ...alternates] = o.services;
  const child = spawn(
    process.execPath,
    [
      QI,
      'xmpp-gateway',
      '--sd',
      o.sd,
      '--xmpp-service',
      service,
      ...alternates.flatMap((a) => ['--xmpp-alternate', a]),
      '--xmpp-jid',
      `${o.name}@${DOMAIN}`,
      ...o.args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, QI_XMPP_PASSWORD: `${o.name}-pw` } },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const online = (ms: number) => firstMatch(child, /(Robot online as \S+)/, 'qi xmpp-gateway', ms);
  return { child, stderr: () => stderr, exited, online };
}

/** What the access scenarios share with a file's own tests (valid once `before` ran). */
export interface FleetAccess<S extends XmppServer> {
  /** The server, or why it does not run here. */
  server: S | string;
  sd: Session;
  gw: Gateway;
  /** The account `name@example.test` (password `name-pw` unless given). */
  acct(name: string, password?: string): XmppAccount;
  /** Client options that log in as `name` and insist on In-Band Bytestreams, without reconnecting. */
  via(name: string): { transports: { xmpp: XmppAccount & { bytestreams: 'ibb' } }; reconnect: false };
  /** Robots and processes closed at the end. */
  robots: XmppGateway[];
  kids: ChildProcess[];
}

/**
 * Declares the `before`/`after` of a file: the server `start` gives, with the accounts box, op1, op2,
 * alice, doomed and moved (`prepare` adds what the server needs more, e.g. a shared roster group
 * `operators` of op1, op2 and box), an SD with a Calculator and a gateway in front of it.
 */
export function fleetAccess<S extends XmppServer>(
  start: () => Promise<S | string>,
  prepare?: (server: S) => void,
): FleetAccess<S> {
  const f: FleetAccess<S> = {
    server: 'not started',
    sd: undefined as unknown as Session,
    gw: undefined as unknown as Gateway,
    acct: (name, password = `${name}-pw`) => ({
      service: (f.server as S).service,
      jid: `${name}@${DOMAIN}`,
      password,
    }),
    via: (name) => ({ transports: { xmpp: { ...f.acct(name), bytestreams: 'ibb' } }, reconnect: false }),
    robots: [],
    kids: [],
  };
  before(async () => {
    f.server = await start();
    if (typeof f.server === 'string') return;
    for (const n of ['box', 'op1', 'op2', 'alice', 'doomed', 'moved']) f.server.register(n, `${n}-pw`);
    prepare?.(f.server);
    f.sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    await f.sd.registerService('Calculator', calculator());
    f.gw = await Gateway.start({ sd: f.sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  });
  after(async () => {
    f.kids.forEach((k) => k.kill('SIGKILL'));
    await closeXmppLinks();
    for (const r of f.robots) await r.close();
    await f.gw?.close();
    await f.sd?.close();
  });
  return f;
}

/**
 * The robot box lets in the members of its roster group `operators` (op1, op2, box); alice, in no group,
 * is refused at the bytestream offer, before any qi byte; op2, which never asked to follow box, lists it
 * online (the shared group makes them contacts).
 */
export async function groupAccessScenario<S extends XmppServer>(f: FleetAccess<S>): Promise<void> {
  const box = await XmppGateway.start({ account: f.acct('box'), allow: [], allowGroups: ['operators'], gateway: f.gw });
  f.robots.push(box);
  const s = await Session.connect(`xmpp://box@${DOMAIN}`, f.via('op1'));
  assert.equal(await ((await s.service('Calculator')) as AnyProxy).add(2, 3), 5);
  await s.close();
  const before = { ...box.metrics };
  await assert.rejects(
    Session.connect(`xmpp://box@${DOMAIN}`, f.via('alice')),
    (e: unknown) =>
      e instanceof QiConnectError && /refused alice@example\.test: it is not in the robot's allowlist/.test(e.message),
  );
  assert.equal(box.metrics.refused, before.refused + 1);
  assert.equal(box.metrics.sessions, before.sessions, 'no session opened for alice: no qi byte flowed');
  const w = await RobotWatcher.start(f.acct('op2'), [], {}, { groups: ['operators'] });
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
}

/**
 * `qi xmpp-gateway` as doomed, with alice calling through it and following its presence; `remove` takes
 * the account away. Alice sees it leave, the process exits 3 at once with `reason` on stderr and says it
 * no longer logs in, and alice's session ends.
 */
export async function accountRemovedScenario<S extends XmppServer>(
  f: FleetAccess<S>,
  remove: () => void,
  reason: RegExp,
): Promise<void> {
  const robot = startXmppGatewayCli({
    sd: f.sd.endpoints[0],
    services: [(f.server as S).service],
    name: 'doomed',
    args: ['--allow', `alice@${DOMAIN}`, '--open'],
  });
  f.kids.push(robot.child);
  await robot.online(15_000);
  const w = await RobotWatcher.start(f.acct('alice'), [`doomed@${DOMAIN}`]);
  try {
    await w.waitFor(`doomed@${DOMAIN}`, true, 5000);
    const s = await Session.connect(`xmpp://doomed@${DOMAIN}`, f.via('alice'));
    const c = (await s.service('Calculator')) as AnyProxy;
    assert.equal(await c.add(2, 2), 4);
    const offline = w.waitFor(`doomed@${DOMAIN}`, false, 5000);
    const t0 = Date.now();
    remove();
    await offline;
    const code = await Promise.race([robot.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
    assert.equal(code, 3, `exits with the connection code, at once (${Date.now() - t0} ms): ${robot.stderr()}`);
    assert.match(robot.stderr(), reason);
    assert.match(robot.stderr(), /It no longer logs in/);
    await assert.rejects(c.add(2, 2, { timeoutMs: 5000 }), 'the client session ended with the robot');
    assert.equal(s.isConnected, false);
    await s.close();
  } finally {
    await w.close();
  }
}

/**
 * The robot moved (reconnecting every 50-100 ms) with alice calling through it; `change` changes its
 * password and ends its sessions. It logs in once more (`again` says why it does), is refused, stops
 * there, and alice's session ends.
 */
export async function passwordChangedScenario<S extends XmppServer>(
  f: FleetAccess<S>,
  change: () => void,
  again: string,
): Promise<void> {
  let refused: QiAuthError | undefined;
  const moved = await XmppGateway.start({
    account: f.acct('moved'),
    allow: [`alice@${DOMAIN}`],
    gateway: f.gw,
    keep: { reconnect: { minMs: 50, maxMs: 100 } },
    onRefused: (e) => (refused = e),
  });
  f.robots.push(moved);
  const s = await Session.connect(`xmpp://moved@${DOMAIN}`, f.via('alice'));
  const c = (await s.service('Calculator')) as AnyProxy;
  assert.equal(await c.add(1, 1), 2);
  change();
  for (let i = 0; i < 100 && refused === undefined; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(refused instanceof QiAuthError, 'refused');
  assert.match(refused.message, /refused moved@example\.test \(authentication failed, not-authorized/);
  await assert.rejects(c.add(1, 1), 'the session through it ended');
  const attempts = moved.link.keeper.counts.attempts;
  await new Promise((r) => setTimeout(r, 1000)); // ten times the longest backoff
  assert.equal(moved.link.keeper.counts.attempts, attempts, 'no login attempt after the refusal');
  assert.equal(attempts, 1, `one login again (${again}), refused`);
  await s.close();
}
