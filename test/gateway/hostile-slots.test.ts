/**
 * Hostile clients at the gateway's doors, before they authenticate: connections that never finish TLS
 * or the HTTP upgrade and hold slots, huge WebSocket messages, and token guessing. Real sockets on
 * loopback; the attackers bind other loopback addresses (Linux routes all of 127/8 to lo).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { WebSocket, createWebSocketStream } from 'ws';
import { Gateway, QiAuthError, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { MessageStream, openChannel, type Channel } from '../../src/wire.js';
import { AuthThrottle } from '../../src/gateway/index.js';
import { calculator } from '../object/fixtures.js';
import { testCerts } from '../helpers/certs.js';

const ATTACKER = '127.0.0.2';
const BYSTANDER = '127.0.0.3';
const USERS = { alice: { token: 'wonderland', allow: ['*'] } };

let sd: Session;
const gateways: Gateway[] = [];
const sessions: Session[] = [];
const sockets: net.Socket[] = [];

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
});
after(async () => {
  sockets.forEach((s) => s.destroy());
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(gateways.map((g) => g.close()));
  await sd.close();
});

async function gateway(options: Omit<Parameters<typeof Gateway.start>[0], 'sd'>): Promise<Gateway> {
  const gw = await Gateway.start({ sd: sd.endpoints[0], ...options });
  gateways.push(gw);
  return gw;
}

const portOf = (url: string) => Number(new URL(url.replace(/^[a-z]+:/, 'http:')).port);

/** A raw TCP connection from `localAddress`; resolves once connected (or closed at once by the server). */
function rawSocket(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    sockets.push(s);
    s.once('error', (e) => (s.connecting ? reject(e) : undefined));
    s.on('error', () => {});
  });
}

function closed(s: net.Socket): Promise<void> {
  return s.closed ? Promise.resolve() : new Promise((resolve) => s.once('close', () => resolve()));
}

/** Races `p` against a deadline, so that no test can hang. */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

function tlsSocket(port: number, ca: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca }, () => resolve(s));
    sockets.push(s);
    s.once('error', reject);
    s.on('error', () => {});
  });
}

/** Opens a qi channel over TCP from `localAddress`, authenticating with `auth`. */
async function login(
  port: number,
  localAddress: string,
  auth: { user: string; token: string },
  timeoutMs = 5000,
): Promise<Channel> {
  const s = await rawSocket(port, localAddress);
  const stream = new MessageStream(s, `tcp://127.0.0.1:${port}`, `tcp://${localAddress}:${s.localPort}`);
  return openChannel(stream, { auth, timeoutMs });
}

/** A WebSocket opened by hand (HTTP upgrade over a raw socket, or TLS with `ca`), to send frames no library would. */
async function rawWebSocket(port: number, path: string, ca?: string): Promise<net.Socket> {
  const s = ca === undefined ? await rawSocket(port, '127.0.0.1') : await tlsSocket(port, ca);
  s.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let head = '';
  await within(
    3000,
    new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        s.off('data', onData);
        if (head.startsWith('HTTP/1.1 101')) resolve();
        else reject(new Error(`no upgrade: ${head}`));
      };
      s.on('data', onData);
    }),
    'WebSocket upgrade',
  );
  return s;
}

/**
 * Sends one binary WebSocket message announcing `size` bytes (zeros, masked with a zero key), as fast
 * as the socket takes them, until all is sent or the server closes. Resolves with the bytes written.
 */
async function hugeMessage(s: net.Socket, size: number): Promise<number> {
  const head = Buffer.alloc(14);
  head[0] = 0x82; // FIN, binary
  head[1] = 0x80 | 127; // masked, 64-bit length
  head.writeBigUInt64BE(BigInt(size), 2); // mask key: the last four bytes, zero
  const chunk = Buffer.alloc(64 * 1024);
  let sent = 0;
  const gone = closed(s);
  s.write(head);
  while (sent < size && !s.destroyed) {
    const n = Math.min(chunk.length, size - sent);
    sent += n;
    if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      const drained = new Promise<void>((r) => s.once('drain', r));
      await Promise.race([drained, gone]);
    }
  }
  return sent;
}

const memory = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const MiB = 1024 * 1024;

describe('gateway: connection slots before authentication', () => {
  it('half-open TLS handshakes and HTTP upgrades from one address neither lock out others nor stay past the handshake deadline', async () => {
    const certs = testCerts();
    const gw = await gateway({
      listen: ['ws://127.0.0.1:0/qi', 'tcps://127.0.0.1:0'],
      tls: certs.server,
      access: { users: USERS },
      maxConnections: 100,
      maxConnectionsPerAddress: 10,
      handshakeTimeoutMs: 1500,
    });
    const [wsUrl, tcpsUrl] = gw.endpoints;
    const t0 = Date.now();
    // 300 connections on each listener that never finish: half an HTTP request, or no ClientHello.
    const idle = await Promise.all([
      ...Array.from({ length: 300 }, () =>
        rawSocket(portOf(wsUrl), ATTACKER).then((s) => (s.write('GET /qi HTTP/1.1\r\nHost: x\r\n'), s)),
      ),
      ...Array.from({ length: 300 }, () => rawSocket(portOf(tcpsUrl), ATTACKER)),
    ]);
    await new Promise((r) => setTimeout(r, 100));
    for (const url of [wsUrl, tcpsUrl]) {
      const start = Date.now();
      const s = await Session.connect(url, {
        ipc: false,
        auth: { user: 'alice', token: 'wonderland' },
        tls: { ca: certs.ca },
        connectTimeoutMs: 3000,
      });
      sessions.push(s);
      assert.equal(await ((await s.service('Calculator')) as AnyProxy).add(2, 3), 5);
      assert.ok(Date.now() - start < 1500, `${url}: connected and called in ${Date.now() - start} ms`);
    }
    // Every half-open connection is gone by the deadline (plus a wide margin), counted from TCP accept.
    await within(1500 + 2500 - (Date.now() - t0), Promise.all(idle.map(closed)), 'half-open connections closed');
    assert.ok(gw.metrics.overLimit >= 500, `refused over the per-address limit: ${gw.metrics.overLimit}`);
  });

  it('connections from listeners and streams given to acceptStream share one budget per address', async () => {
    const gw = await gateway({
      listen: 'tcp://127.0.0.1:0',
      access: { users: USERS },
      maxConnectionsPerAddress: 2,
      handshakeTimeoutMs: 5000,
    });
    const first = await rawSocket(portOf(gw.url), '127.0.0.5');
    const duplex = () =>
      new Duplex({
        read() {},
        write(_c, _e, cb) {
          cb();
        },
      });
    const bridged = duplex();
    gw.acceptStream(new MessageStream(bridged, 'ws://127.0.0.5:4242', 'ws://gateway'));
    const refused = duplex();
    gw.acceptStream(new MessageStream(refused, 'ws://127.0.0.5:4243', 'ws://gateway'));
    assert.ok(
      !bridged.destroyed && refused.destroyed,
      'the third connection of the address (second stream) is refused',
    );
    const third = await rawSocket(portOf(gw.url), '127.0.0.5');
    await within(1000, closed(third), 'a TCP connection over the budget closed at once');
    bridged.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const again = await rawSocket(portOf(gw.url), '127.0.0.5');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!again.closed && !first.closed, 'the slot given back by the stream is taken again');
  });

  it('streams handed to acceptStream already closed give their slot back at once', async () => {
    const gw = await gateway({
      listen: 'tcp://127.0.0.1:0',
      access: { users: USERS },
      maxConnectionsPerAddress: 2,
      handshakeTimeoutMs: 5000,
    });
    // A bridge (XMPP, the classic API) may hand over a stream whose peer already left.
    for (let i = 0; i < 10; i++) {
      const gone = new Duplex({ read() {}, write: (_c, _e, cb) => cb() });
      gone.destroy();
      await once(gone, 'close');
      gw.acceptStream(new MessageStream(gone, `ws://127.0.0.6:${5000 + i}`, 'ws://gateway'));
    }
    await new Promise((r) => setTimeout(r, 50));
    const a = await rawSocket(portOf(gw.url), '127.0.0.6');
    const b = await rawSocket(portOf(gw.url), '127.0.0.6');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!a.closed && !b.closed, 'the address still has both of its slots');
  });

  it('an accepted connection that never authenticates is closed at the deadline, not before', async () => {
    const gw = await gateway({ listen: 'tcp://127.0.0.1:0', access: { users: USERS }, handshakeTimeoutMs: 800 });
    const s = await rawSocket(portOf(gw.url), ATTACKER);
    const t0 = Date.now();
    await within(3000, closed(s), 'closed');
    const took = Date.now() - t0;
    assert.ok(took >= 600 && took < 2500, `closed after ${took} ms`);
  });
});

describe('gateway: WebSocket messages before and after authentication', () => {
  it('huge messages before authentication are cut off at once, without the gateway buffering them', async () => {
    const gw = await gateway({ listen: 'ws://127.0.0.1:0/qi', access: { users: USERS } });
    const port = portOf(gw.url);
    const base = memory();
    let peak = base;
    const sampler = setInterval(() => (peak = Math.max(peak, memory())), 5);
    try {
      const sizes = [100 * MiB, 100 * MiB, 40 * MiB, 40 * MiB];
      const conns = await Promise.all(sizes.map(() => rawWebSocket(port, '/qi')));
      const t0 = Date.now();
      const sent = await within(20_000, Promise.all(conns.map((s, i) => hugeMessage(s, sizes[i]))), 'huge messages');
      await within(3000, Promise.all(conns.map(closed)), 'connections closed');
      const took = Date.now() - t0;
      peak = Math.max(peak, memory());
      const grew = (peak - base) / MiB;
      console.log(
        `# ${sizes.length} pre-auth messages of ${sizes.map((n) => n / MiB).join('+')} MiB: ${sent.map((n) => (n / MiB).toFixed(1)).join('+')} MiB written before close, closed in ${took} ms, heap+arrayBuffers peak +${grew.toFixed(1)} MiB`,
      );
      assert.ok(grew < 48, `heap + arrayBuffers grew by ${grew.toFixed(1)} MiB`);
      assert.ok(
        sent.every((n, i) => n < sizes[i]),
        'the gateway closed each connection before the message was whole',
      );
    } finally {
      clearInterval(sampler);
    }
  });

  it('over wss too: a message before authentication is cut off long before it is whole', async () => {
    const certs = testCerts();
    const gw = await gateway({ listen: 'wss://127.0.0.1:0/qi', tls: certs.server, access: { users: USERS } });
    const s = await rawWebSocket(portOf(gw.url), '/qi', certs.ca);
    const sent = await within(20_000, hugeMessage(s, 40 * MiB), 'huge message');
    await within(3000, closed(s), 'closed');
    assert.ok(sent < 40 * MiB, `${(sent / MiB).toFixed(1)} MiB written before the close`);
  });

  it('after authentication a WebSocket message is bounded by the qi payload limit, and a 10 MiB call still works', async () => {
    const gw = await gateway({ listen: 'ws://127.0.0.1:0/qi', access: { users: USERS } });
    const s = await Session.connect(gw.url, { ipc: false, auth: { user: 'alice', token: 'wonderland' } });
    sessions.push(s);
    const big = Buffer.alloc(10 * MiB, 7);
    const back = (await ((await s.service('Calculator')) as AnyProxy).echoRaw(big)) as Buffer;
    assert.equal(back.length, big.length);
    // A raw authenticated WebSocket client announcing a 100 MiB message: refused at the frame header (1009).
    const ws = new WebSocket(gw.url.replace(/^ws:/, 'ws:'), { perMessageDeflate: false });
    await within(3000, once(ws, 'open'), 'open');
    const ch = await openChannel(new MessageStream(createWebSocketStream(ws), gw.url, 'ws://client'), {
      auth: { user: 'alice', token: 'wonderland' },
    });
    assert.ok(!ch.closed);
    const sock = (ws as unknown as { _socket: net.Socket })._socket;
    const head = Buffer.alloc(14);
    head[0] = 0x82;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(100 * MiB), 2);
    sock.write(head);
    const [code] = (await within(3000, once(ws, 'close'), 'close')) as [number];
    assert.equal(code, 1009, 'closed as "message too big" at the header');
  });
});

describe('gateway: guessing tokens', () => {
  it('failed authentications slow their address down; another address logs in at once', async () => {
    const gw = await gateway({ listen: 'tcp://127.0.0.1:0', access: { users: USERS } });
    const port = portOf(gw.url);
    let answered = 0;
    let other = -1;
    const until = Date.now() + 2000;
    const worker = async () => {
      while (Date.now() < until) {
        try {
          await login(
            port,
            ATTACKER,
            { user: 'alice', token: `guess-${Math.random()}` },
            Math.max(1, until - Date.now()),
          );
          assert.fail('a wrong token was accepted');
        } catch (e) {
          if (e instanceof QiAuthError && /invalid user or token/.test(e.message) && Date.now() <= until) answered++;
        }
      }
    };
    const bystander = (async () => {
      await new Promise((r) => setTimeout(r, 1000));
      const t = Date.now();
      const ch = await login(port, BYSTANDER, { user: 'alice', token: 'wonderland' });
      other = Date.now() - t;
      ch.close();
    })();
    await within(10_000, Promise.all([...Array.from({ length: 8 }, worker), bystander]), 'guessing');
    console.log(
      `# ${answered} wrong tokens answered in 2 s from one address; a right token from another address in ${other} ms`,
    );
    assert.ok(answered < 50, `${answered} guesses answered in 2 s`);
    assert.ok(other >= 0 && other < 1000, `the other address waited ${other} ms`);
  });

  it('attempts whose connection left while waiting cost their address no time', async () => {
    const gw = await gateway({
      listen: 'tcp://127.0.0.1:0',
      access: { users: USERS },
      authThrottle: { freeFailures: 0, delayMs: 500, maxDelayMs: 500 },
    });
    const port = portOf(gw.url);
    const attempts = Array.from({ length: 20 }, () =>
      login(port, '127.0.0.6', { user: 'alice', token: 'guess' }, 20_000).catch(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 300));
    // The guesser gives up: its 19 queued attempts leave with their connections.
    for (const s of sockets) if (s.localAddress === '127.0.0.6') s.destroy();
    await within(3000, Promise.all(attempts), 'attempts settled');
    const t0 = Date.now();
    const ch = await login(port, '127.0.0.6', { user: 'alice', token: 'wonderland' }, 5000);
    const took = Date.now() - t0;
    ch.close();
    assert.ok(took < 1500, `a right token from the same address waited ${took} ms`);
  });

  it('remembers a bounded number of addresses, and an IPv6 /64 as one', async () => {
    const throttle = new AuthThrottle({ freeFailures: 0, delayMs: 1000, maxAddresses: 100 });
    const refuse = { authenticate: () => ({ outcome: 'refused' as const, reason: 'no' }) };
    for (let i = 0; i < 5000; i++)
      await throttle.guard(refuse, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`).authenticate({}, { remote: '' });
    assert.equal(throttle.size, 100);
    const t = new AuthThrottle({ freeFailures: 0, delayMs: 300 });
    await t.guard(refuse, '2001:db8:1:2::1').authenticate({}, { remote: '' });
    const t0 = Date.now();
    await t.guard(refuse, '2001:db8:1:2:ffff::9').authenticate({}, { remote: '' });
    assert.ok(Date.now() - t0 >= 250, 'another address of the same /64 waited');
    const t1 = Date.now();
    await t.guard(refuse, '2001:db8:1:3::1').authenticate({}, { remote: '' });
    assert.ok(Date.now() - t1 < 200, 'another /64 did not');
  });
});
