/**
 * Logins against servers slow to answer (a loaded server: Prosody, or an ejabberd cluster, with thousands of
 * robots logging in at once). A login given up on, whose connection is reset afterwards: the reset must not
 * end the process (@xmpp/client stops listening to a socket whose close timed out but leaves it open; its
 * reset was an unhandled `ECONNRESET` that killed all four robot processes of a fleet run), and the error
 * says why. A server that takes 3 s to answer the stream header, within the login's 10 s: the login
 * succeeds (@xmpp/client's own 2 s per step made 6 of 2,000 robots fail, with an empty reason).
 */
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { QiAuthError, QiConnectError } from '../../src/index.js';
import { XmppLink } from '../../src/remote/xmpp/link.js';
import { DOMAIN } from '../helpers/xmpp-server.js';
import { Prosody } from '../helpers/prosody.js';

const held: Socket[] = [];
// Reads everything, answers nothing, never closes: until told to reset.
const server = createServer({ allowHalfOpen: true }, (s) => {
  held.push(s);
  s.on('error', () => {});
  s.resume();
});
after(() => server.close());

describe('XMPP login against a server that never answers, then resets', () => {
  it('fails the login, and the later reset of its connection does not end the process', async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    let uncaught: unknown;
    const onUncaught = (e: unknown) => (uncaught = e);
    process.on('uncaughtException', onUncaught);
    try {
      await assert.rejects(
        XmppLink.open(
          { service: `xmpp://127.0.0.1:${port}`, jid: 'robot@example.test', password: 'x' },
          { timeoutMs: 300 },
        ),
        (e: unknown) =>
          e instanceof QiConnectError &&
          /does not answer[^:]*: (no answer within 300 ms|a step of the login took over 300 ms)\. Check/.test(
            (e as Error).message,
          ),
      );
      assert.equal(held.length, 1);
      held[0].resetAndDestroy();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(uncaught, undefined, 'no uncaught error from the reset');
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});

/**
 * A proxy to `port` that holds the server's first bytes for `delayMs` (then passes everything through);
 * its first `silent` connections it reads and never answers (a server too busy to).
 */
async function slowToAnswer(port: number, delayMs: number, silent = 0): Promise<{ port: number; close(): void }> {
  const sockets: Socket[] = [];
  let seen = 0;
  const proxy = createServer((c) => {
    sockets.push(c);
    c.on('error', () => {});
    if (seen++ < silent) return void c.resume();
    const s = connect(port, '127.0.0.1');
    sockets.push(c, s);
    for (const x of [c, s]) x.on('error', () => {});
    c.pipe(s);
    const held: Buffer[] = [];
    let open = false;
    s.on('data', (d: Buffer) => (open ? c.write(d) : held.push(d)));
    setTimeout(() => {
      open = true;
      for (const d of held) c.write(d);
    }, delayMs);
    s.on('close', () => c.destroy());
    c.on('close', () => s.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    port: (proxy.address() as { port: number }).port,
    close: () => {
      for (const x of sockets) x.destroy();
      proxy.close();
    },
  };
}

describe('XMPP login against a server slow to answer', () => {
  it('logs in when the stream header comes after 3 s, within the login budget', { timeout: 30_000 }, async (t) => {
    const server = await Prosody.start();
    if (typeof server === 'string') return t.skip(server);
    const proxy = await slowToAnswer(server.port, 3000);
    try {
      server.register('robot', 'robot-pw');
      const account = { service: `xmpp://127.0.0.1:${proxy.port}`, jid: `robot@${DOMAIN}`, password: 'robot-pw' };
      const t0 = Date.now();
      const link = await XmppLink.open(account);
      const took = Date.now() - t0;
      await link.close();
      assert.ok(took >= 2900, `the login waited for the server (${took} ms)`);
      await assert.rejects(
        XmppLink.open(account, { timeoutMs: 1500 }),
        /does not answer[^:]*: (no answer within 1500 ms|a step of the login took over 1500 ms)\. Check/,
      );
    } finally {
      proxy.close();
      await server.stop(true);
    }
  });
});

describe('a first login that waits for its server (waitForServer)', () => {
  it(
    'tries again while the server does not answer, then logs in; refused credentials end it at once',
    { timeout: 40_000 },
    async (t) => {
      const server = await Prosody.start();
      if (typeof server === 'string') return t.skip(server);
      const proxy = await slowToAnswer(server.port, 0, 2);
      try {
        server.register('robot', 'robot-pw');
        const account = { service: `xmpp://127.0.0.1:${proxy.port}`, jid: `robot@${DOMAIN}`, password: 'robot-pw' };
        const retries: string[] = [];
        const link = await XmppLink.open(account, {
          timeoutMs: 1000,
          reconnect: { minMs: 100, maxMs: 200, jitter: 0 },
          waitForServer: true,
          onRetry: (e, ms) => retries.push(`${e.message} (${ms} ms)`),
        });
        await link.close();
        assert.equal(retries.length, 2, retries.join('\n'));
        assert.match(
          retries[0],
          /does not answer[^:]*: (no answer within|a step of the login took over) 1000 ms.* \(100 ms\)$/,
        );
        assert.match(retries[1], /\(200 ms\)$/, 'the wait doubles');
        const t0 = Date.now();
        await assert.rejects(
          XmppLink.open(
            { ...account, password: 'wrong' },
            { waitForServer: true, onRetry: () => assert.fail('no retry') },
          ),
          QiAuthError,
        );
        assert.ok(Date.now() - t0 < 5000);
      } finally {
        proxy.close();
        await server.stop(true);
      }
    },
  );
});
