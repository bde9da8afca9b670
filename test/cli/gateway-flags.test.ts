/**
 * The limit flags of `qi gateway`, run as a user runs it (a child process in front of the demo robot),
 * attacked over real sockets from other loopback addresses.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalObject, QiAuthError, Session, defineObject, method, t, type AnyProxy } from '../../src/index.js';
import { MessageStream, openChannel } from '../../src/wire.js';
import { QI, runQi, startDemoRobot } from '../helpers/demo-robot.js';

const kids: ChildProcess[] = [];
const sockets: net.Socket[] = [];
after(() => {
  sockets.forEach((s) => s.destroy());
  kids.forEach((k) => k.kill('SIGKILL'));
});

function firstLine(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 10_000);
    const take = (d: Buffer) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve((clearTimeout(timer), m[1]));
    };
    child.stdout!.on('data', take);
    child.stderr?.on('data', (d) => (out += d));
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}): ${out}`)));
  });
}

const qi = (...args: string[]) => runQi(args);

/** Starts `qi gateway` with `flags`; resolves with its outside endpoints. */
async function gatewayEndpoints(...flags: string[]): Promise<string[]> {
  const g = spawn(
    process.execPath,
    [QI, 'gateway', '--sd', sd, '--listen', 'tcp://127.0.0.1:0', '--config', config, '--json', ...flags],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  kids.push(g);
  return JSON.parse(await firstLine(g, /^(\{.*\})\n/, 'gateway')).endpoints;
}

/** Starts `qi gateway` with `flags`; resolves with its first outside endpoint. */
const gateway = async (...flags: string[]) => (await gatewayEndpoints(...flags))[0];

function rawSocket(url: string, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(
      { port: Number(new URL(url.replace(/^tcp:/, 'http:')).port), host: '127.0.0.1', localAddress },
      () => resolve(s),
    );
    sockets.push(s);
    s.once('error', (e) => (s.connecting ? reject(e) : undefined));
    s.on('error', () => {});
  });
}

/** Resolves with the time it took `s` to close, or rejects after `ms`. */
function closesWithin(s: net.Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  if (s.closed) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
    s.once('close', () => (clearTimeout(timer), resolve(Date.now() - t0)));
  });
}

/** A login with a wrong token from `localAddress`: resolves with how long the refusal took. */
async function wrongLogin(url: string, localAddress: string): Promise<number> {
  const s = await rawSocket(url, localAddress);
  const t0 = Date.now();
  await assert.rejects(
    openChannel(new MessageStream(s, url, `tcp://${localAddress}:${s.localPort}`), {
      auth: { user: 'alice', token: 'nope' },
      timeoutMs: 5000,
    }),
    (e) => e instanceof QiAuthError && /invalid user or token/.test(e.message),
  );
  return Date.now() - t0;
}

let sd = '';
let config = '';
let registerConfig = '';

before(async () => {
  const robot = startDemoRobot();
  kids.push(robot.child);
  sd = await robot.url;
  config = join(mkdtempSync(join(tmpdir(), 'qi-gw-flags-')), 'access.json');
  writeFileSync(config, JSON.stringify({ users: { alice: { token: 'wonderland', allow: ['*'] } } }));
  registerConfig = join(dirname(config), 'register.json');
  writeFileSync(registerConfig, JSON.stringify({ users: { phone: { token: 'pw', allow: ['register:Phone*'] } } }));
});

describe('qi gateway limit flags', () => {
  it('--max-connections-per-address and --handshake-timeout: idle connections from one address take 2 slots, for 600 ms', async () => {
    const gw = await gateway('--max-connections-per-address', '2', '--handshake-timeout', '600');
    const two = [await rawSocket(gw, '127.0.0.2'), await rawSocket(gw, '127.0.0.2')];
    const third = await rawSocket(gw, '127.0.0.2');
    assert.ok((await closesWithin(third, 1000)) < 1000, 'the third connection from the address is closed at once');
    const r = await qi('--url', gw, '--user', 'alice', '--token', 'wonderland', '--json', 'services');
    assert.equal(r.code, 0, r.stderr);
    for (const s of two) {
      const took = await closesWithin(s, 5000);
      assert.ok(s.closed && took < 5000, `idle connection closed (${took} ms after the check began)`);
    }
  });

  it('--max-connections: the fourth connection on the listener is closed at once', async () => {
    const gw = await gateway('--max-connections', '3', '--max-queue-bytes', '1048576');
    const three = await Promise.all(['127.0.0.4', '127.0.0.5', '127.0.0.6'].map((a) => rawSocket(gw, a)));
    const fourth = await rawSocket(gw, '127.0.0.7');
    assert.ok((await closesWithin(fourth, 1000)) < 1000);
    three.forEach((s) => s.destroy());
  });

  it('--auth-free-failures 0 --auth-delay 800: a second wrong token from the address waits, another address does not', async () => {
    const gw = await gateway('--auth-free-failures', '0', '--auth-delay', '800', '--auth-max-delay', '800');
    const first = await wrongLogin(gw, '127.0.0.8');
    const second = await wrongLogin(gw, '127.0.0.8');
    const other = await wrongLogin(gw, '127.0.0.9');
    assert.ok(first < 500, `first refusal in ${first} ms`);
    assert.ok(second >= 500, `second refusal from the same address in ${second} ms`);
    assert.ok(other < 500, `first refusal from another address in ${other} ms`);
  });

  it('--max-calls-per-client 1: a second call while one is pending is refused at once, naming the quota', async () => {
    const gw = await gateway('--max-calls-per-client', '1');
    const s = await Session.connect(gw, { ipc: false, auth: { user: 'alice', token: 'wonderland' } });
    try {
      const tts = (await s.service('TextToSpeech')) as AnyProxy;
      const long = tts.say('a long sentence that takes the demo a few seconds to say, '.repeat(4));
      await assert.rejects(tts.say('hi'), /Too many calls in flight[^]*maxIncomingCalls/);
      long.catch(() => {});
    } finally {
      await s.close();
    }
  });

  it('--max-registrations 1: a second registration through the gateway is refused, naming the option', async () => {
    const gw = await gateway('--max-registrations', '1', '--config', registerConfig);
    const s = await Session.connect(gw, { ipc: false, auth: { user: 'phone', token: 'pw' } });
    try {
      const obj = () =>
        new LocalObject(defineObject({ methods: { ping: method([], t.string) } }), { ping: () => 'pong' });
      await s.registerService('Phone1', obj());
      await assert.rejects(s.registerService('Phone2', obj()), /at most 1 services[^]*maxRegistrationsPerClient/);
    } finally {
      await s.close();
    }
  });

  it('--allow-origin: a listed page origin may open the ws listener, another is refused with 403', async () => {
    const ws = (await gatewayEndpoints('--listen', 'ws://127.0.0.1:0/qi', '--allow-origin', 'http://app.test')).find(
      (u) => u.startsWith('ws:'),
    )!;
    const upgrade = (origin: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(ws.replace(/^ws:/, 'http:'));
        const req = http.request({
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          headers: {
            Connection: 'Upgrade',
            Upgrade: 'websocket',
            'Sec-WebSocket-Version': '13',
            'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
            Origin: origin,
          },
        });
        req.on('upgrade', (res, socket) => (socket.destroy(), resolve(res.statusCode ?? 0)));
        req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        req.on('error', reject);
        req.end();
      });
    assert.equal(await upgrade('http://app.test'), 101);
    assert.equal(await upgrade('http://evil.test'), 403);
  });

  it('refuses a bad value with a usage error (exit 2) naming the flag', async () => {
    for (const [flag, value] of [
      ['--max-calls-per-client', '0'],
      ['--max-pending-bytes', 'lots'],
      ['--max-reference-scan', '-1'],
      ['--max-bytes-before-auth', '1e3x'],
      ['--max-connections-per-address', 'zero'],
      ['--handshake-timeout', '-5'],
      ['--auth-delay', '1.5'],
      ['--max-queue-bytes', '0'],
    ]) {
      const r = await qi('gateway', '--sd', sd, '--listen', 'tcp://127.0.0.1:0', flag, value);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${flag} is a whole number`));
    }
  });
});
