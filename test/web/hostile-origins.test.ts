/**
 * Hostile web pages and crowded addresses, over real sockets on loopback:
 * - a page of another origin may not open the qi WebSocket path of a listener, nor the classic
 *   qimessaging.js endpoints (socket.io v4, engine.io 3, socket.io 0.9), and is never told it may
 *   (no reflected Access-Control-Allow-Origin with credentials); pages of the listener's own origin,
 *   listed origins and non-browser clients (no Origin header) still work;
 * - the classic bridge counts each browser against its own address, not the gateway's;
 * - the socket.io 0.9 handshake table is bounded per address.
 * The same-origin browser case runs in chromium when it is installed (test/helpers/browser.ts).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { Gateway, Session, listenStandalone, type AnyProxy, type GatewayOptions } from '../../src/index.js';
import { classicQiSession, type ClassicHandler } from '../../src/web/classic/index.js';
import { browserSkip, launchBrowser, pageLog } from '../helpers/browser.js';
import { testCerts } from '../helpers/certs.js';
import { calculator } from '../object/fixtures.js';

let sd: Session;
const closing: { close(): unknown }[] = [];
const sockets: Socket[] = [];

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
});
after(async () => {
  for (const s of sockets) s.disconnect();
  for (const c of closing.reverse()) await c.close();
  await sd?.close();
});

/** A gateway on ws://127.0.0.1:0/qi (and tcp) open to anonymous clients, closed after the file. */
async function gateway(extra: Partial<GatewayOptions> & Record<string, unknown> = {}): Promise<Gateway> {
  const gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: ['ws://127.0.0.1:0/qi'],
    access: { anonymous: { allow: ['*'] } },
    ...extra,
  });
  closing.push(gw);
  return gw;
}

/** A classic socket.io v4 client of `base` over WebSocket (disconnected after the file), with `options` on top. */
function classicSocket(base: string, options: Record<string, unknown> = {}): Socket {
  const s = io(base, {
    path: '/libs/qimessaging/2/socket.io',
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 3000,
    ...options,
  } as never);
  sockets.push(s);
  return s;
}

/** Resolves once `s` is connected; rejects with its connect_error. */
const connected = (s: Socket) =>
  new Promise((resolve, reject) => (s.once('connect', () => resolve(undefined)), s.once('connect_error', reject)));

const wsUrl = (gw: Gateway) => gw.endpoints.find((e) => e.startsWith('ws'))!;

/** Opens a raw WebSocket with these headers: 'open', or the HTTP status and body of the refusal. */
function upgrade(
  url: string,
  headers: Record<string, string>,
  ca?: string,
): Promise<{ open: true } | { status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, handshakeTimeout: 3000, ca });
    ws.once('open', () => (ws.close(), resolve({ open: true })));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (d: string) => (body += d))
        .on('end', () => resolve({ status: res.statusCode!, body }));
    });
    ws.once('error', (e) => reject(e));
  });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(url: string, options: http.RequestOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { timeout: 3000, ...options }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (d: string) => (body += d))
        .on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject).end();
  });
}

describe('origins: the qi WebSocket path', () => {
  let gw: Gateway;
  let url: string;
  let self: string;
  before(async () => {
    gw = await gateway();
    url = wsUrl(gw);
    self = `http://${new URL(url).host}`;
  });

  it('refuses a page of another origin with HTTP 403 and a sentence naming the option', async () => {
    for (const origin of [
      'http://evil.example',
      'https://evil.example:8443',
      'null',
      `https://${new URL(url).host}`,
      `http://127.0.0.1:${Number(new URL(url).port) + 1}`,
      'http://localhost',
    ]) {
      const r = await upgrade(url, { origin });
      assert.ok('status' in r, `${origin} opened the qi path`);
      assert.equal(r.status, 403, origin);
      assert.match(r.body, /allowedOrigins/);
    }
  });

  it('lets pages of its own origin and clients without an Origin header (Node, libqi) in', async () => {
    assert.deepEqual(await upgrade(url, { origin: self }), { open: true });
    assert.deepEqual(await upgrade(url, {}), { open: true });
    const s = await Session.connect(url, { ipc: false, reconnect: false });
    closing.push(s);
    assert.equal(await ((await s.service('Calculator')) as AnyProxy).add(2, 3), 5);
  });

  it('opens up to listed origins, or to all with "*", and refuses a list entry that is not an origin', async () => {
    const listed = await gateway({ allowedOrigins: ['https://app.example.com'] });
    assert.deepEqual(await upgrade(wsUrl(listed), { origin: 'https://app.example.com' }), { open: true });
    assert.deepEqual(await upgrade(wsUrl(listed), { origin: `http://${new URL(wsUrl(listed)).host}` }), { open: true });
    assert.equal(
      ((await upgrade(wsUrl(listed), { origin: 'https://evil.example' })) as { status: number }).status,
      403,
    );
    const all = await gateway({ allowedOrigins: ['*'] });
    assert.deepEqual(await upgrade(wsUrl(all), { origin: 'https://evil.example' }), { open: true });
    await assert.rejects(
      gateway({ allowedOrigins: ['app.example.com'] }),
      /allowedOrigins.*"app\.example\.com".*https:\/\/app\.example\.com/s,
    );
  });

  it('on wss, its own origin is https://host:port (not http://)', async () => {
    const certs = testCerts();
    const secure = await gateway({ listen: ['wss://127.0.0.1:0/qi'], tls: certs.server });
    const at = wsUrl(secure);
    assert.deepEqual(await upgrade(at, { origin: `https://${new URL(at).host}` }, certs.ca), { open: true });
    assert.equal(
      ((await upgrade(at, { origin: `http://${new URL(at).host}` }, certs.ca)) as { status: number }).status,
      403,
    );
  });
});

describe('origins: the classic qimessaging.js endpoints', () => {
  let base: string;
  let handler: ClassicHandler;
  const listedOrigin = 'http://tablet.example';
  before(async () => {
    let gw: Gateway | undefined;
    handler = classicQiSession({ url: () => gw!.endpoints.find((e) => e.startsWith('tcp://'))! });
    closing.push(handler);
    gw = await gateway({ listen: ['tcp://127.0.0.1:0', 'ws://127.0.0.1:0/qi'], http: handler });
    base = wsUrl(gw).replace(/^ws/, 'http').replace(/\/qi$/, '');
  });

  const v4 = '/libs/qimessaging/2/socket.io/?EIO=4&transport=polling';
  const v3 = '/libs/qimessaging/1.0/socket.io/?EIO=3&transport=polling';
  const legacy = '/libs/qimessaging/2/socket.io/1/?t=1';

  it('refuses the handshakes of a page of another origin, and never reflects its origin with credentials', async () => {
    for (const path of [v4, v3, legacy]) {
      for (const method of ['GET', 'OPTIONS']) {
        const r = await request(base + path, {
          method,
          headers: { origin: 'http://evil.example', 'access-control-request-method': 'GET' },
        });
        assert.equal(
          r.headers['access-control-allow-origin'],
          undefined,
          `${method} ${path} told evil.example it may read: ${JSON.stringify(r.headers)}`,
        );
        assert.equal(r.headers['access-control-allow-credentials'], undefined, `${method} ${path}`);
        if (method === 'GET') assert.equal(r.status, 403, `GET ${path}: ${r.status} ${r.body}`);
      }
    }
    // The WebSocket transports too.
    const s = classicSocket(base, { extraHeaders: { origin: 'http://evil.example' } });
    await assert.rejects(connected(s));
  });

  it('serves pages of its own origin and clients without an Origin header', async () => {
    for (const path of [v4, v3, legacy]) {
      const own = await request(base + path, { headers: { origin: base } });
      assert.equal(own.status, 200, `${path}: ${own.body}`);
      assert.equal((await request(base + path)).status, 200, path);
    }
    const s = classicSocket(base, { extraHeaders: { origin: base } });
    await connected(s);
  });

  it('tells a listed origin (and only it) that it may read, with credentials', async () => {
    const listed = classicQiSession({ url: 'tcp://127.0.0.1:1', origins: [listedOrigin] });
    closing.push(listed);
    const server = http.createServer((req, res) => listed.request(req, res) || res.writeHead(404).end());
    closing.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const path of [v4, legacy]) {
      const ok = await request(at + path, { headers: { origin: listedOrigin } });
      assert.equal(ok.status, 200, path);
      assert.equal(ok.headers['access-control-allow-origin'], listedOrigin, path);
      assert.equal(ok.headers['access-control-allow-credentials'], 'true', path);
      const evil = await request(at + path, { headers: { origin: 'http://evil.example' } });
      assert.equal(evil.status, 403, path);
      assert.equal(evil.headers['access-control-allow-origin'], undefined, path);
    }
  });
});

describe('origins: in a browser', { skip: browserSkip }, () => {
  it("a page of another origin cannot open the gateway's qi path; the gateway's own page can", async () => {
    const page0 = '<!doctype html><title>t</title>';
    const own: import('../../src/transport/index.js').HttpHandler = {
      request: (req, res) =>
        req.url === '/own.html' ? (res.writeHead(200, { 'content-type': 'text/html' }).end(page0), true) : false,
    };
    const gw = await gateway({ http: own });
    const qi = wsUrl(gw);
    const other = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page0));
    closing.push(other);
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const browser = await launchBrowser();
    const page = await browser.newPage();
    const log = pageLog(page);
    const tryOpen = (u: string) =>
      page.evaluate(
        (target) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(target);
            ws.onopen = () => (ws.close(), resolve('open'));
            ws.onerror = () => resolve('refused');
            setTimeout(() => resolve('timeout'), 5000);
          }),
        u,
      );
    await page.goto(`http://127.0.0.1:${(other.address() as AddressInfo).port}/`);
    assert.equal(await tryOpen(qi), 'refused', log.join('\n'));
    await page.goto(`${qi.replace(/^ws/, 'http').replace(/\/qi$/, '')}/own.html`);
    assert.equal(await tryOpen(qi), 'open', log.join('\n'));
    await page.close();
  });
});

/** A classic socket.io v4 client from `localAddress`: resolves once `Calculator.add(1, 2)` answered, or rejects. */
async function classicCall(base: string, localAddress: string): Promise<Socket> {
  const s = classicSocket(base, { localAddress });
  await connected(s);
  const call = (idm: number, params: unknown) =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from ${localAddress}`)), 4000);
      s.on(
        'reply',
        (d: { idm: number; result?: unknown }) => d.idm === idm && (clearTimeout(timer), resolve(d.result)),
      );
      s.on(
        'error',
        (d: { idm: number; result?: unknown }) =>
          (d.idm === idm || d.idm === undefined) &&
          (clearTimeout(timer), reject(new Error(`${localAddress}: ${String(d.result)}`))),
      );
      s.once('disconnect', () => (clearTimeout(timer), reject(new Error(`${localAddress} was disconnected`))));
      s.emit('call', { idm, params });
    });
  const calc = await call(1, { obj: 'ServiceDirectory', member: 'service', args: ['Calculator'] });
  assert.equal(await call(2, { obj: calc.pyobject, member: 'add', args: [1, 2] }), 3);
  return s;
}

describe('slots: the classic bridge counts browsers by their own address', () => {
  it('with maxConnectionsPerAddress 3, the 4th browser of 127.0.0.1 is refused while 127.0.0.2 still gets in', async () => {
    let gw: Gateway | undefined;
    const classic = classicQiSession({ gateway: () => gw });
    closing.push(classic);
    gw = await gateway({
      listen: ['tcp://127.0.0.1:0', 'ws://127.0.0.1:0/qi'],
      http: classic,
      maxConnectionsPerAddress: 3,
    });
    const base = wsUrl(gw).replace(/^ws/, 'http').replace(/\/qi$/, '');
    const three: Socket[] = [];
    for (let i = 0; i < 3; i++) three.push(await classicCall(base, '127.0.0.1'));
    // The address's budget is one for its TCP connections and its qi sessions: the 4th browser is refused
    // by the bridge (its session over the budget) or already at the TCP accept of its WebSocket.
    await assert.rejects(
      classicCall(base, '127.0.0.1'),
      /127\.0\.0\.1: Cannot reach the robot's services: the gateway did not take this page's connection: too many connections from your address|websocket error/,
    );
    assert.ok(gw.metrics.overLimit >= 1);
    await classicCall(base, '127.0.0.2');
    // A browser that leaves gives its slot back.
    three[0].disconnect();
    for (let i = 0; i < 200 && classic.connections > 3; i++) await new Promise((r) => setTimeout(r, 10));
    await classicCall(base, '127.0.0.1');
  });
});

describe('slots: the address the gateway is told', () => {
  it("is the browser's, over WebSocket and over long polling, with the endpoint it reached", async () => {
    let gw: Gateway | undefined;
    const seen: string[][] = [];
    const classic = classicQiSession({
      gateway: () => ({ acceptStream: (s) => (seen.push([s.remote, s.local]), gw!.acceptStream(s)) }),
    });
    closing.push(classic);
    gw = await gateway({ http: classic });
    const base = wsUrl(gw).replace(/^ws/, 'http').replace(/\/qi$/, '');
    for (const transport of ['websocket', 'polling']) {
      const s = classicSocket(base, { transports: [transport] });
      await connected(s);
      const reply = new Promise((resolve) => s.once('reply', resolve));
      s.emit('call', { idm: 1, params: { obj: 'ServiceDirectory', member: 'service', args: ['Calculator'] } });
      await reply;
      s.disconnect();
    }
    assert.equal(seen.length, 2);
    for (const [remote, local] of seen) {
      assert.match(remote, /^ws:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(local, `ws://${new URL(base).host}`);
    }
  });
});

describe('slots: the socket.io 0.9 handshake table', () => {
  it('10,000 handshakes from one address stay within its bound, and another address still gets a session', async () => {
    let gw: Gateway | undefined;
    const classic = classicQiSession({ gateway: () => gw });
    closing.push(classic);
    gw = await gateway({ http: classic });
    const base = wsUrl(gw).replace(/^ws/, 'http').replace(/\/qi$/, '');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8, localAddress: '127.0.0.1' });
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 10_000) {
          next++;
          const r = await request(`${base}/libs/qimessaging/2/socket.io/1/?t=${next}`, { agent });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }
      }),
    );
    agent.destroy();
    const granted = statuses.get(200) ?? 0;
    assert.ok(granted <= 64, `one address holds ${granted} pending handshakes (${JSON.stringify([...statuses])})`);
    assert.ok(classic.pendingHandshakes <= 64, `${classic.pendingHandshakes} handshakes waiting`);
    const other = new http.Agent({ localAddress: '127.0.0.2' });
    const r = await request(`${base}/libs/qimessaging/2/socket.io/1/?t=x`, { agent: other });
    assert.equal(r.status, 200, r.body);
    const sid = r.body.split(':')[0];
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/libs/qimessaging/2/socket.io/1/websocket/${sid}`, {
      localAddress: '127.0.0.2',
    });
    const first = await new Promise<string>(
      (resolve, reject) => (ws.once('message', (d) => resolve(String(d))), ws.once('error', reject)),
    );
    assert.equal(first, '1::');
    ws.close();
    other.destroy();
  });
});
