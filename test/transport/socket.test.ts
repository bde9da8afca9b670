/** Transports over real sockets on loopback: tcp (IPv4, IPv6, port 0), unix, tcps, tcpsm. */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { QiConnectError, QiProtocolError, QiTlsError, certificateFingerprint } from '../../src/index.js';
import {
  Message,
  MessageStream,
  MessageType,
  connect,
  encodeMessage,
  listen,
  type ListenOptions,
  type Listener,
} from '../../src/wire.js';
import { testCerts } from '../helpers/certs.js';

const listeners: Listener[] = [];
after(async () => {
  await Promise.all(listeners.map((l) => l.close()));
});

/** A server that answers every Call with a Reply carrying the same payload. */
async function echoServer(url: string, options?: ListenOptions & { onClose?: (e?: Error) => void }): Promise<Listener> {
  const l = await listen(
    url,
    (s) => {
      s.start({
        onMessage: (m) => {
          if (m.type === MessageType.Call) s.send(Message.of({ ...m, type: MessageType.Reply }, m.payload).toBuffers());
        },
        onClose: (e) => options?.onClose?.(e),
      });
    },
    options,
  );
  listeners.push(l);
  return l;
}

/** Sends `n` calls in one tick and resolves with the replies' decoded strings, in arrival order. */
function roundTrip(s: MessageStream, n: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    s.start({
      onMessage: (m) => {
        got.push((m.decode('(s)') as string[])[0]);
        if (got.length === n) resolve(got);
      },
      onClose: (e) => reject(e ?? new Error('closed early')),
    });
    for (let i = 0; i < n; i++)
      s.send(
        encodeMessage({ id: i + 1, type: MessageType.Call, service: 2, object: 1, action: 100 }, '(s)', [`msg ${i}`]),
      );
  });
}

const expected = (n: number) => Array.from({ length: n }, (_, i) => `msg ${i}`);

/** Messages of every size class, written by a bare server in ragged pieces; a dialled stream must read them intact. */
async function raggedDelivery(listenOn: { port: number; host: string } | { path: string }, url: string): Promise<void> {
  const sizes = [0, 10, 5000, 20_000, 70_000, 1024 * 1024, 3 * 1024 * 1024 + 7, 100, 0, 2 * 1024 * 1024];
  const bodies = sizes.map((n, k) => Buffer.alloc(n, k + 1));
  const wire = Buffer.concat(
    bodies.flatMap((b, k) =>
      encodeMessage({ id: k + 1, type: MessageType.Event, service: 2, object: 1, action: 100 }, 'r', b),
    ),
  );
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const dribble = async (sock: net.Socket) => {
    for (let p = 0; p < wire.length;) {
      const n = Math.min(wire.length - p, 1 + Math.floor(rand() ** 3 * 300_000));
      if (!sock.write(wire.subarray(p, p + n))) await new Promise((r) => sock.once('drain', r));
      p += n;
      if (rand() < 0.1) await new Promise((r) => setTimeout(r, 1));
    }
  };
  const server = net.createServer((sock) => void dribble(sock));
  await new Promise<void>((r) => server.listen(listenOn, r));
  try {
    const s = await connect(url);
    const got = await new Promise<Message[]>((resolve, reject) => {
      const out: Message[] = [];
      s.start({
        onMessage: (m) => {
          out.push(m);
          if (out.length === sizes.length) resolve(out);
        },
        onClose: (e) => reject(e ?? new Error('closed early')),
      });
    });
    s.close();
    assert.deepEqual(
      got.map((m) => m.id),
      sizes.map((_, k) => k + 1),
    );
    got.forEach((m, k) =>
      assert.ok((m.decode('r') as Buffer).equals(bodies[k]), `message ${k + 1} (${sizes[k]} bytes) intact`),
    );
  } finally {
    server.close();
  }
}

describe('reading', () => {
  it('delivers messages of every size intact when they arrive in ragged pieces (tcp)', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await raggedDelivery({ port, host: '127.0.0.1' }, `tcp://127.0.0.1:${port}`);
  });

  it('delivers messages of every size intact when they arrive in ragged pieces (unix)', async () => {
    const path = join(tmpdir(), `qi-ragged-${process.pid}.sock`);
    await raggedDelivery({ path }, `unix:${path}`);
  });
});

describe('tcp', () => {
  it('listens on an IPv4 port chosen by the system and carries 1000 messages in order', async () => {
    const l = await echoServer('tcp://127.0.0.1:0');
    assert.notEqual((l.endpoint as { port: number }).port, 0);
    assert.deepEqual(l.endpoints, [l.url]);
    const s = await connect(l.url);
    assert.deepEqual(await roundTrip(s, 1000), expected(1000));
    s.close();
  });

  it('keeps every message intact when one tick sends more small messages than one shared buffer holds', async () => {
    const l = await echoServer('tcp://127.0.0.1:0');
    const s = await connect(l.url);
    const n = 300; // 300 x ~1.9 KB: several 16 KiB shared buffers in one tick
    const got = new Promise<Message[]>((resolve, reject) => {
      const out: Message[] = [];
      s.start({
        onMessage: (m) => out.push(m) === n && resolve(out),
        onClose: (e) => reject(e ?? new Error('closed early')),
      });
    });
    for (let i = 0; i < n; i++) {
      const m = Buffer.concat(
        encodeMessage(
          { id: i + 1, type: MessageType.Call, service: 2, object: 1, action: 100 },
          'r',
          Buffer.alloc(1876 + (i % 7), i % 251),
        ),
      );
      if (i % 2 === 0) s.sendCopy(m, 0, m.length);
      else s.sendMessage({ id: i + 1, type: MessageType.Call, service: 2, object: 1, action: 100 }, m.subarray(28));
    }
    const out = await got;
    out.forEach((m, i) => {
      assert.equal(m.id, i + 1);
      assert.ok((m.decode('r') as Buffer).equals(Buffer.alloc(1876 + (i % 7), i % 251)), `message ${i + 1} intact`);
    });
    s.close();
  });

  it('works over IPv6 loopback', async () => {
    const l = await echoServer('tcp://[::1]:0');
    assert.match(l.url, /^tcp:\/\/\[::1\]:\d+$/);
    const s = await connect(l.url);
    assert.match(s.local, /^tcp:\/\/\[::1\]:\d+$/);
    assert.deepEqual(await roundTrip(s, 10), expected(10));
    s.close();
  });

  it('advertises every interface address for 0.0.0.0, loopback first', async () => {
    const l = await echoServer('tcp://0.0.0.0:0');
    const port = (l.endpoint as { port: number }).port;
    assert.equal(l.endpoints[0], `tcp://127.0.0.1:${port}`);
    assert.ok(l.endpoints.every((e) => e.endsWith(`:${port}`) && !e.includes('[')));
  });

  it('says what to do when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(connect(`tcp://127.0.0.1:${port}`), (e: unknown) => {
      assert.ok(e instanceof QiConnectError);
      assert.equal(e.errno, 'ECONNREFUSED');
      assert.match(
        e.message,
        new RegExp(`Cannot connect to tcp://127.0.0.1:${port}: nothing listens there.*9503.*\\(ECONNREFUSED\\)`),
      );
      return true;
    });
  });

  it('says the port is taken when listening twice', async () => {
    const l = await echoServer('tcp://127.0.0.1:0');
    await assert.rejects(
      listen(l.url, () => {}),
      (e: unknown) =>
        e instanceof QiConnectError &&
        e.errno === 'EADDRINUSE' &&
        /already in use.*port 0 lets the system choose/.test(e.message),
    );
  });

  it('drops a peer that sends garbage, and only that peer', async () => {
    const closed: (Error | undefined)[] = [];
    const l = await echoServer('tcp://127.0.0.1:0', { onClose: (e) => closed.push(e) });
    const good = await connect(l.url);
    const bad = net.connect((l.endpoint as { port: number }).port, '127.0.0.1');
    await new Promise((r) => bad.once('connect', r));
    bad.write('GET / HTTP/1.1\r\nHost: robot\r\n\r\n');
    await new Promise((r) => bad.once('close', r));
    assert.ok(closed[0] instanceof QiProtocolError && closed[0].fault === 'bad-magic', String(closed[0]));
    assert.deepEqual(await roundTrip(good, 5), expected(5));
    good.close();
  });
});

describe('unix (IPC)', () => {
  it('carries messages over a socket file and removes the file on close', async () => {
    const path = join(tmpdir(), `qi-test-${process.pid}.sock`);
    writeFileSync(path, ''); // a stale file from a crashed process must not block listening
    const l = await listen(`unix:${path}`, (s) =>
      s.start({
        onMessage: (m) => s.send(Message.of({ ...m, type: MessageType.Reply }, m.payload).toBuffers()),
        onClose: () => {},
      }),
    );
    assert.equal(l.url, `unix:${path}`);
    const s = await connect(l.url);
    assert.deepEqual(await roundTrip(s, 100), expected(100));
    s.close();
    await l.close();
    assert.ok(!existsSync(path));
  });
  it('says when no socket file exists', async () => {
    await assert.rejects(connect('unix:/nonexistent/qi.sock'), /no socket file at that path.*\(ENOENT\)/);
  });
});

describe('tcps', () => {
  const certs = testCerts();

  it('verifies the server by default and connects when its CA is trusted', async () => {
    const l = await echoServer('tcps://127.0.0.1:0', { tls: certs.server });
    const s = await connect(l.url, { tls: { ca: certs.ca } });
    assert.deepEqual(await roundTrip(s, 10), expected(10));
    s.close();
  });

  it('refuses a self-signed robot certificate and tells how to pin it', async () => {
    const l = await echoServer('tcps://127.0.0.1:0', { tls: certs.robot });
    const fp = certificateFingerprint(certs.robot.cert);
    await assert.rejects(connect(l.url), (e: unknown) => {
      assert.ok(e instanceof QiTlsError);
      assert.equal(e.code, 'ERR_QI_TLS');
      assert.equal(e.fingerprint, fp);
      assert.match(e.message, /is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
      assert.ok(e.message.includes(`fingerprint: '${fp}'`), e.message);
      return true;
    });
    const pinned = await connect(l.url, { tls: { fingerprint: fp.toLowerCase().replaceAll(':', '') } });
    assert.deepEqual(await roundTrip(pinned, 3), expected(3));
    pinned.close();
    await assert.rejects(
      connect(l.url, { tls: { fingerprint: 'AA:'.repeat(31) + 'AA' } }),
      /does not match the pinned fingerprint/,
    );
    const insecure = await connect(l.url, { tls: { insecure: true } });
    insecure.close();
  });

  it('reports a plain tcp server behind a tcps URL as a TLS failure', async () => {
    const l = await echoServer('tcp://127.0.0.1:0');
    await assert.rejects(
      connect(l.url.replace('tcp:', 'tcps:'), { timeoutMs: 3000 }),
      (e: unknown) => e instanceof QiTlsError || e instanceof QiConnectError,
    );
  });
});

describe('tcpsm (mutual TLS)', () => {
  const certs = testCerts();

  it('accepts a client certificate signed by the configured CA', async () => {
    const l = await echoServer('tcpsm://127.0.0.1:0', { tls: { ...certs.server, ca: certs.ca } });
    const s = await connect(l.url, { tls: { ca: certs.ca, ...certs.client } });
    assert.deepEqual(await roundTrip(s, 5), expected(5));
    s.close();
  });

  it('needs a client certificate, and refuses one the server does not trust', async () => {
    const l = await echoServer('tcpsm://127.0.0.1:0', { tls: { ...certs.server, ca: certs.ca } });
    await assert.rejects(connect(l.url, { tls: { ca: certs.ca } }), /needs a client certificate and key/);
    const s = await connect(l.url, { tls: { ca: certs.ca, ...certs.robot } }).catch((e: unknown) => e);
    if (s instanceof MessageStream) {
      // TLS 1.3 reports the refusal after the handshake: the stream dies without delivering anything.
      await assert.rejects(roundTrip(s, 1));
    } else {
      assert.ok(s instanceof QiTlsError || s instanceof QiConnectError, String(s));
    }
  });
});

describe('stale unix socket files', () => {
  it('are swept when nobody listens on them, live ones are kept', async () => {
    const { mkdtempSync, writeFileSync: write, existsSync: exists } = await import('node:fs');
    const { sweepStaleSockets } = await import('../../src/transport/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'qi-sweep-'));
    const live = await listen(`unix:${join(dir, 'live.sock')}`, () => {});
    listeners.push(live);
    write(join(dir, 'dead.sock'), '');
    write(join(dir, 'notes.txt'), 'not a socket name: left alone');
    assert.equal(await sweepStaleSockets(dir), 1);
    assert.ok(exists(join(dir, 'live.sock')) && !exists(join(dir, 'dead.sock')) && exists(join(dir, 'notes.txt')));
  });
});
