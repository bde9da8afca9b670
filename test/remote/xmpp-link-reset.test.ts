/**
 * A login given up on, against a server too slow to answer or to close (a loaded server: Prosody with a
 * thousand robots logging in at once), whose connection is reset afterwards: the reset must not end the
 * process. @xmpp/client stops listening to a socket whose close timed out but leaves it open; its reset
 * was an unhandled `ECONNRESET` that killed all four robot processes of a fleet run.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { QiConnectError } from '../../src/index.js';
import { XmppLink } from '../../src/remote/xmpp/link.js';

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
        (e: unknown) => e instanceof QiConnectError && /does not answer/.test((e as Error).message),
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
