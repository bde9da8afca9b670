/** qi over WebSocket (ws, wss) and through an HTTP CONNECT proxy, over real sockets on loopback. */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { QiConnectError, QiTlsError } from '../../src/index.js';
import {
  Message,
  MessageType,
  connect,
  encodeMessage,
  listen,
  parseEndpoint,
  formatEndpoint,
  type ListenOptions,
  type Listener,
  type MessageStream,
} from '../../src/wire.js';
import { testCerts } from '../helpers/certs.js';

const closers: (() => unknown)[] = [];
after(async () => {
  for (const c of closers) await c();
});

async function echo(url: string, options?: ListenOptions): Promise<Listener> {
  const l = await listen(
    url,
    (s) =>
      s.start({
        onMessage: (m) =>
          m.type === MessageType.Call && s.send(Message.of({ ...m, type: MessageType.Reply }, m.payload).toBuffers()),
        onClose: () => {},
      }),
    options,
  );
  closers.push(() => l.close());
  return l;
}

/** Sends calls of the given payload sizes in one tick; resolves with the echoed payloads, in order. */
function roundTrip(s: MessageStream, sizes: number[]): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    s.start({
      onMessage: (m) => got.push(m.decode('r') as Buffer) === sizes.length && resolve(got),
      onClose: (e) => reject(e ?? new Error('closed early')),
    });
    sizes.forEach((n, i) =>
      s.send(
        encodeMessage(
          { id: i + 1, type: MessageType.Call, service: 2, object: 1, action: 100 },
          'r',
          Buffer.alloc(n, i % 256),
        ),
      ),
    );
  });
}

const SIZES = [0, 5, 100, 20_000, 2 * 1024 * 1024, 3];
const check = (got: Buffer[]) =>
  got.forEach((b, i) => assert.ok(b.equals(Buffer.alloc(SIZES[i], i % 256)), `message ${i} intact`));

/** A real HTTP CONNECT proxy (the part of one that tunnels), counting tunnels; optional Basic auth. */
async function connectProxy(auth?: string): Promise<{ url: string; tunnels: string[] }> {
  const tunnels: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client: net.Socket, head: Buffer) => {
    if (auth && req.headers['proxy-authorization'] !== `Basic ${Buffer.from(auth).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    const [host, port] = [
      req.url!.slice(0, req.url!.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
      Number(req.url!.slice(req.url!.lastIndexOf(':') + 1)),
    ];
    const up = net.connect(port, host, () => {
      tunnels.push(req.url!);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return { url: `http://${auth ? `${auth}@` : ''}127.0.0.1:${(server.address() as net.AddressInfo).port}`, tunnels };
}

describe('ws:// and wss://', () => {
  it('parses and prints WebSocket URLs with their path and default ports', () => {
    assert.equal(formatEndpoint(parseEndpoint('ws://robot.local/qi')), 'ws://robot.local:80/qi');
    assert.equal(formatEndpoint(parseEndpoint('wss://[::1]:9443')), 'wss://[::1]:9443');
    assert.deepEqual(parseEndpoint('ws://127.0.0.1:0/a/b'), { scheme: 'ws', host: '127.0.0.1', port: 0, path: '/a/b' });
  });

  it('carries qi messages of every size over ws, in order', async () => {
    const l = await echo('ws://127.0.0.1:0/qi');
    assert.match(l.url, /^ws:\/\/127\.0\.0\.1:[1-9]\d*\/qi$/);
    const s = await connect(l.url);
    check(await roundTrip(s, SIZES));
    s.close();
  });

  it('verifies wss servers by default, with the fingerprint in the error, and connects when trusted', async () => {
    const certs = testCerts();
    const l = await echo('wss://127.0.0.1:0', { tls: certs.server });
    await assert.rejects(
      connect(l.url),
      (e: unknown) => e instanceof QiTlsError && /not trusted/.test(e.message) && typeof e.fingerprint === 'string',
    );
    const s = await connect(l.url, { tls: { ca: certs.ca } });
    check(await roundTrip(s, SIZES));
    s.close();
  });

  it('answers a wrong path and a plain HTTP request with errors that say what the endpoint is', async () => {
    const l = await echo('ws://127.0.0.1:0/qi');
    await assert.rejects(
      connect(l.url.replace('/qi', '/nope')),
      (e: unknown) => e instanceof QiConnectError && /HTTP 400|wrong path/.test(e.message),
    );
    const body = await new Promise<string>((resolve) =>
      http.get(l.url.replace('ws:', 'http:'), (res) => {
        let t = '';
        res.on('data', (d) => (t += d));
        res.on('end', () => resolve(`${res.statusCode} ${t}`));
      }),
    );
    assert.match(body, /^426 This is a qimessaging WebSocket endpoint/);
  });

  it('shares its port with other HTTP pages and WebSocket paths when given an http handler', async () => {
    const other = new WebSocketServer({ noServer: true });
    other.on('connection', (ws) => ws.send('hello from /other'));
    closers.push(() => other.close());
    const l = await echo('ws://127.0.0.1:0/qi', {
      http: {
        request: (req, res) => req.url === '/page' && (res.end('a page'), true),
        upgrade: (req, socket, head) =>
          req.url === '/other' &&
          (other.handleUpgrade(req, socket, head, (ws) => other.emit('connection', ws, req)), true),
      },
    });
    const get = (path: string) =>
      new Promise<string>((resolve) =>
        http.get(l.url.replace('ws:', 'http:').replace('/qi', path), (res) => {
          let t = '';
          res.on('data', (d) => (t += d));
          res.on('end', () => resolve(`${res.statusCode} ${t}`));
        }),
      );
    assert.equal(await get('/page'), '200 a page');
    assert.match(await get('/else'), /^426 /);
    const text = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(l.url.replace('/qi', '/other'));
      ws.once('message', (d) => (ws.close(), resolve(String(d))));
      ws.once('error', reject);
    });
    assert.equal(text, 'hello from /other');
    const s = await connect(l.url);
    check(await roundTrip(s, SIZES));
    s.close();
    await assert.rejects(
      connect(l.url.replace('/qi', '/nope')),
      (e: unknown) => e instanceof QiConnectError && /HTTP 400/.test(e.message),
    );
  });

  it('drops a peer that sends a text message, and only that peer', async () => {
    let closedWith: Error | undefined;
    const l = await listen('ws://127.0.0.1:0', (s) =>
      s.start({ onMessage: () => {}, onClose: (e) => (closedWith = e) }),
    );
    closers.push(() => l.close());
    const ws = new WebSocket(l.url);
    await new Promise((r) => ws.once('open', r));
    ws.send('hello');
    await new Promise((r) => ws.once('close', r));
    assert.match(String(closedWith?.message), /text message/);
  });
});

describe('HTTP CONNECT proxy', () => {
  it('tunnels tcp, tcps and ws connections', async () => {
    const proxy = await connectProxy();
    const certs = testCerts();
    for (const [url, tls] of [
      [(await echo('tcp://127.0.0.1:0')).url, undefined],
      [(await echo('tcps://127.0.0.1:0', { tls: certs.server })).url, { ca: certs.ca }],
      [(await echo('ws://127.0.0.1:0')).url, undefined],
    ] as const) {
      const s = await connect(url, { proxy: proxy.url, tls });
      check(await roundTrip(s, SIZES));
      s.close();
    }
    assert.equal(proxy.tunnels.length, 3);
  });

  it('sends credentials, and says what the proxy answered when it refuses', async () => {
    const proxy = await connectProxy('me:secret');
    const l = await echo('tcp://127.0.0.1:0');
    await assert.rejects(
      connect(l.url, { proxy: proxy.url.replace('me:secret@', '') }),
      (e: unknown) =>
        e instanceof QiConnectError && /HTTP 407.*wants credentials.*through the HTTP proxy/.test(e.message),
    );
    const s = await connect(l.url, { proxy: proxy.url });
    check(await roundTrip(s, SIZES));
    s.close();
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as net.AddressInfo).port;
    closed.close();
    await assert.rejects(
      connect(l.url, { proxy: `http://127.0.0.1:${deadPort}` }),
      (e: unknown) => e instanceof QiConnectError && /nothing listens there.*through the HTTP proxy/.test(e.message),
    );
  });
});
