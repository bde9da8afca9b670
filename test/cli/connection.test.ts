/**
 * The `qi` command line when the robot is slow, silent, speaks something else, or goes away: run as a
 * user runs it (child processes) against the demo robot, a gateway, a silent port, a TLS listener and
 * an HTTP server, all on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { QiConnectError, Session, listenStandalone, userTokenAuthenticator } from '../../src/index.js';
import { listen } from '../../src/wire.js';
import { testCerts } from '../helpers/certs.js';
import { freePort } from '../helpers/net.js';

const QI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ROBOT = fileURLToPath(new URL('../../examples/robot.js', import.meta.url));
const kids = new Set<ChildProcess>();
const servers: { close(): unknown }[] = [];
after(async () => {
  for (const k of kids) k.kill('SIGKILL');
  for (const s of servers) await s.close();
});

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `qi ARGS` to its end (killed after 20 s, which fails the test's expectations). */
function qi(...args: string[]): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [QI, ...args], { timeout: 20_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr, ms: Date.now() - t0 }),
    );
  });
}

/** A `qi` process that keeps running (watch), with what it printed so far. */
function qiRunning(...args: string[]): {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; ms: number }>;
} {
  const child = spawn(process.execPath, [QI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  kids.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  let t0 = 0;
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) =>
    child.once('exit', (code) => (kids.delete(child), resolve({ code, ms: Date.now() - t0 }))),
  );
  return { child, out: () => out, err: () => err, exited: Object.assign(exited, { start: () => (t0 = Date.now()) }) };
}

/** Resolves when `read()` matches `pattern`, or rejects after `ms` saying what was seen. */
async function until(read: () => string, pattern: RegExp, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(read())) {
    if (Date.now() > deadline) throw new Error(`${what}: no ${pattern} within ${ms} ms; got: ${read()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with the exit of a process, or with `undefined` after `ms` (it is then killed). */
async function exitWithin(
  p: ReturnType<typeof qiRunning>,
  ms: number,
): Promise<{ code: number | null; ms: number } | undefined> {
  (p.exited as unknown as { start(): void }).start();
  let wake = (): void => {};
  const timer = setTimeout(() => wake(), ms);
  const r = await Promise.race([p.exited, new Promise<undefined>((res) => (wake = () => res(undefined)))]);
  clearTimeout(timer);
  if (r === undefined) p.child.kill('SIGKILL');
  return r;
}

interface Robot {
  child: ChildProcess;
  url: string;
  gateway?: string;
  kill(): Promise<void>;
}

/** The demo robot in a child process; `listen` may fix its port (to restart it on the same one). */
async function startRobot(listenAt = 'tcp://127.0.0.1:0', gateway = 'off'): Promise<Robot> {
  const child = spawn(process.execPath, [ROBOT], {
    env: { ...process.env, QI_LISTEN: listenAt, QI_GATEWAY: gateway, QI_WEB: 'off' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  kids.add(child);
  child.once('exit', () => kids.delete(child));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await until(() => out, /client\.js (\S+)/, 10_000, 'the demo robot');
  const url = /client\.js (\S+)/.exec(out)![1];
  const gw = /gateway +(tcp:\S+)/.exec(out)?.[1];
  const kill = () =>
    new Promise<void>((r) =>
      child.exitCode !== null || child.signalCode !== null
        ? r()
        : (child.once('exit', () => r()), child.kill('SIGKILL')),
    );
  return { child, url, gateway: gw, kill };
}

/** `qi watch Battery.charge` at `url` until it prints (named `what`), then `robot` killed: the watch and its exit within 8 s. */
async function watchThenKill(robot: Robot, url: string, what: string) {
  const w = qiRunning('--url', url, 'watch', 'Battery.charge');
  await until(w.out, /Battery\.charge \d+/, 10_000, what);
  await robot.kill();
  return { w, end: await exitWithin(w, 8000) };
}

/** `qi gateway --json` in front of the SD at `sd`, allowing Battery: the process and its first outside endpoint. */
async function batteryGateway(sd: string): Promise<{ g: ChildProcess; gw: string }> {
  const g = spawn(
    process.execPath,
    [QI, 'gateway', '--sd', sd, '--listen', 'tcp://127.0.0.1:0', '--allow', 'Battery', '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  kids.add(g);
  let gout = '';
  g.stdout!.on('data', (d) => (gout += d));
  await until(() => gout, /"endpoints":\["[^"]+"/, 10_000, 'qi gateway');
  return { g, gw: (JSON.parse(gout.split('\n')[0]) as { endpoints: string[] }).endpoints[0] };
}

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

async function serve<T extends net.Server>(server: T): Promise<T> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push({ close: () => new Promise((r) => server.close(r)) });
  return server;
}

describe('qi watch when the robot goes away', () => {
  it('exits 1 within seconds, naming the lost connection, when the robot is killed', async () => {
    const robot = await startRobot();
    const { w, end } = await watchThenKill(robot, robot.url, 'qi watch');
    assert.ok(end !== undefined, `qi watch still running 8 s after the robot was killed; stderr: ${w.err()}`);
    assert.equal(end.code, 1);
    assert.match(
      w.err(),
      new RegExp(`lost the connection to the ServiceDirectory at ${robot.url.replace(/[.]/g, '\\.')}`, 'i'),
    );
  });

  it('exits 1 when the robot and its gateway are killed, watched through the gateway', async () => {
    const robot = await startRobot('tcp://127.0.0.1:0', 'tcp://127.0.0.1:0');
    const { w, end } = await watchThenKill(robot, robot.gateway!, 'qi watch through the gateway');
    assert.ok(end !== undefined, `qi watch still running 8 s after the robot was killed; stderr: ${w.err()}`);
    assert.equal(end.code, 1);
    assert.match(
      w.err(),
      new RegExp(`lost the connection to the ServiceDirectory at ${robot.gateway!.replace(/[.]/g, '\\.')}`, 'i'),
    );
  });

  it('exits 1 when the ServiceDirectory behind a separate qi gateway goes away', async () => {
    const robot = await startRobot();
    const { g, gw } = await batteryGateway(robot.url);
    const { w, end } = await watchThenKill(robot, gw, 'qi watch through qi gateway');
    assert.ok(
      end !== undefined,
      `qi watch still running 8 s after the SD behind the gateway was killed; stderr: ${w.err()}`,
    );
    assert.equal(end.code, 1);
    assert.match(w.err(), /Battery went away/);
    g.kill('SIGKILL');
  });

  it('with --reconnect, says it waits while the robot is away, then resumes printing', async () => {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    let robot = await startRobot(url);
    const w = qiRunning('--url', url, 'watch', '--reconnect', 'Battery.charge');
    await until(w.out, /Battery\.charge \d+/, 10_000, 'qi watch --reconnect');
    await robot.kill();
    await until(w.err, /lost the connection .*waiting/i, 8000, 'qi watch --reconnect after the kill');
    const printed = w.out().length;
    robot = await startRobot(url);
    await until(w.err, /watching .*again/i, 15_000, 'qi watch --reconnect after the restart');
    await until(() => w.out().slice(printed), /Battery\.charge \d+/, 10_000, 'qi watch --reconnect, new emissions');
    assert.equal(w.child.exitCode, null, 'still watching');
    w.child.kill('SIGINT');
    const end = await exitWithin(w, 5000);
    assert.equal(end?.code, 0);
    await robot.kill();
  });
  it('with --reconnect through a qi gateway, waits while the robot behind it is away, then resumes', async () => {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    let robot = await startRobot(url);
    const { g, gw } = await batteryGateway(url);
    const w = qiRunning('--url', gw, 'watch', '--reconnect', 'Battery.charge');
    await until(w.out, /Battery\.charge \d+/, 10_000, 'qi watch --reconnect through qi gateway');
    await robot.kill();
    await until(w.err, /Battery went away.*waiting/i, 8000, 'qi watch --reconnect through qi gateway after the kill');
    const printed = w.out().length;
    robot = await startRobot(url);
    await until(w.err, /watching .*again/i, 15_000, 'qi watch --reconnect through qi gateway after the restart');
    await until(
      () => w.out().slice(printed),
      /Battery\.charge \d+/,
      10_000,
      'qi watch --reconnect through qi gateway, new emissions',
    );
    w.child.kill('SIGINT');
    assert.equal((await exitWithin(w, 5000))?.code, 0);
    g.kill('SIGKILL');
    await robot.kill();
  });
});

describe('qi --timeout and connection failures', () => {
  it('gives up on a port that accepts and never answers within --timeout, with exit code 3', async () => {
    const silent = await serve(net.createServer((s) => s.resume())); // reads, never answers
    const r = await qi('--url', `tcp://127.0.0.1:${portOf(silent)}`, '--timeout', '500', 'services');
    assert.equal(r.code, 3, r.stderr);
    assert.ok(r.ms < 5000, `took ${r.ms} ms with --timeout 500`);
    assert.match(r.stderr, /did not answer the connection handshake within 500 ms/);
  });

  it('says that a tcp:// port speaks TLS and gives the tcps:// URL (the library error says it too)', async () => {
    const { cert, key } = testCerts().server;
    const server = await serve(tls.createServer({ cert, key }, (s) => s.on('error', () => {})));
    server.on('tlsClientError', () => {});
    const port = portOf(server);
    const r = await qi('--url', `tcp://127.0.0.1:${port}`, '--timeout', '3000', 'services');
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`speaks TLS.*tcps://127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(r.stderr, /authenticat/i);
    const e = await Session.connect(`tcp://127.0.0.1:${port}`, { reconnect: false }).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof QiConnectError, String(e));
    assert.equal(e.found, 'tls');
    assert.equal(e.suggestedUrl, `tcps://127.0.0.1:${port}`);
  });

  it('says that a tcp:// port is a qi WebSocket (HTTP) and gives the ws:// URL with its path', async () => {
    const l = await listen('ws://127.0.0.1:0/qi', (s) => s.close());
    servers.push(l);
    const port = Number(new URL(l.endpoints[0]).port);
    const r = await qi('--url', `tcp://127.0.0.1:${port}`, 'services');
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`HTTP.*ws://127\\.0\\.0\\.1:${port}/qi`));
    assert.doesNotMatch(r.stderr, /\)\)|\.\)\./, 'no doubled brackets');
    const plain = await serve(http.createServer((_q, s) => s.end('hello')));
    const p = await qi('--url', `tcp://127.0.0.1:${portOf(plain)}`, 'services');
    assert.equal(p.code, 3, p.stderr);
    assert.match(p.stderr, /an HTTP server/);
  });

  it('names the CLI flags in its hints, not the library options', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0', {
      ipc: false,
      authenticator: userTokenAuthenticator({ nao: 'secret' }),
    });
    servers.push(sd);
    const auth = await qi('--url', sd.endpoints[0], 'services');
    assert.equal(auth.code, 3, auth.stderr);
    assert.match(auth.stderr, /--user nao --token/);
    assert.doesNotMatch(auth.stderr, /\{ auth/);
    const { cert, key } = testCerts().robot;
    const robot = await listenStandalone('tcps://127.0.0.1:0', { ipc: false, listenTls: { cert, key } });
    servers.push(robot);
    const t = await qi('--url', robot.endpoints[0], 'services');
    assert.equal(t.code, 3, t.stderr);
    assert.match(t.stderr, /--fingerprint [0-9A-F]{2}:/);
    assert.doesNotMatch(t.stderr, /\{ tls/);
  });
});
