/** Calls, errors, posts, events, cancellation, timeouts and closing, over a real TCP connection. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QiCallError, QiCanceledError, QiClosedError, QiTimeoutError } from '../../src/index.js';
import { MessageType, acceptChannel, connect, openChannel, type Channel, type Message } from '../../src/wire.js';
import { loopbackListener } from '../helpers/net.js';

/** A server channel whose service 2 runs `serve` for each message, and a connected client. */
async function pair(serve: (m: Message, server: Channel) => void) {
  let server!: Channel;
  const ready = new Promise<void>((resolve) => {
    void loopbackListener((s) => {
      server = acceptChannel(s, { onReady: () => resolve() });
      server.bindService(2, { onMessage: serve });
    }).then(async (l) => {
      client = await openChannel(await connect(l.url));
    });
  });
  let client!: Channel;
  await ready;
  while (client === undefined) await new Promise((r) => setTimeout(r, 5));
  return { client, server };
}

const add = { service: 2, object: 1, action: 100 };

describe('calls', () => {
  it('calls a method and decodes the reply', async () => {
    const { client } = await pair((m, s) => {
      const [a, b] = m.decode('(ii)') as number[];
      s.reply(m, 'i', a + b);
    });
    assert.equal(await client.call(add, '(ii)', [40, 2], 'i'), 42);
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call(add, '(ii)', [i, 1], 'i')));
    assert.deepEqual(
      many,
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    client.close();
  });

  it('answers in any order and matches replies by id', async () => {
    const { client } = await pair((m, s) => {
      const [delay] = m.decode('(i)') as number[];
      setTimeout(() => s.reply(m, 'i', delay), delay);
    });
    const order: number[] = [];
    await Promise.all([30, 1, 15].map((d) => client.call(add, '(i)', [d], 'i').then((v) => order.push(v as number))));
    assert.deepEqual(order, [1, 15, 30]);
    client.close();
  });

  it('carries the remote error text', async () => {
    const { client } = await pair((m, s) => s.replyError(m, 'ALTextToSpeech: language "xx" is not installed'));
    await assert.rejects(client.call(add, '()', [], 'v', { name: 'ALTextToSpeech.setLanguage' }), (e: unknown) => {
      assert.ok(e instanceof QiCallError);
      assert.equal(e.code, 'ERR_QI_CALL');
      assert.equal(e.remoteMessage, 'ALTextToSpeech: language "xx" is not installed');
      assert.equal(e.message, 'ALTextToSpeech.setLanguage failed: ALTextToSpeech: language "xx" is not installed');
      return true;
    });
    client.close();
  });

  it('fails locally, before sending, when arguments do not fit', async () => {
    let received = 0;
    const { client } = await pair(() => received++);
    await assert.rejects(
      client.call(add, '(is)', [1, 2], 'v'),
      /Cannot encode args\[1\] \(signature \(is\)\): expected a string/,
    );
    assert.equal(received, 0);
    client.close();
  });

  it('gets an error for an object that is not there, and the connection stays usable', async () => {
    const { client } = await pair((m, s) => s.reply(m, 'i', 1));
    await assert.rejects(
      client.call({ service: 9, object: 1, action: 100 }, '()', [], 'v'),
      /No object 9\.1 on this connection/,
    );
    assert.equal(await client.call(add, '()', [], 'i'), 1);
    client.close();
  });

  it('posts without an answer', async () => {
    const got: unknown[] = [];
    const { client } = await pair((m) => got.push([m.type, m.decode('(s)')]));
    client.post(add, '(s)', ['hello']);
    while (got.length === 0) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got, [[MessageType.Post, ['hello']]]);
    client.close();
  });

  it('delivers events to the subscriber of (service, object)', async () => {
    const { client, server } = await pair(() => {});
    const events: unknown[] = [];
    const off = client.onEvent(2, 1, (m) => events.push([m.action, m.decode('(Is)')]));
    server.emit({ service: 2, object: 1, action: 106 }, '(Is)', [42, 'MyService']);
    server.emit({ service: 3, object: 1, action: 106 }, '(Is)', [1, 'other object: not delivered']);
    while (events.length === 0) await new Promise((r) => setTimeout(r, 5));
    off();
    assert.deepEqual(events, [[106, [42, 'MyService']]]);
    client.close();
  });

  it('carries calls both ways on one socket', async () => {
    const { client, server } = await pair(() => {});
    client.bindObject(2, 0x80000000, { onMessage: (m, ch) => ch.reply(m, 's', 'served by the client') });
    assert.equal(
      await server.call({ service: 2, object: 0x80000000, action: 100 }, '()', [], 's'),
      'served by the client',
    );
    client.close();
  });
});

describe('cancellation, timeouts and closing', () => {
  it("cancels with an AbortSignal and tells the peer with libqi's Cancel message", async () => {
    const seen: Message[] = [];
    const { client } = await pair((m) => seen.push(m));
    const ac = new AbortController();
    const p = client.call(add, '()', [], 'v', { signal: ac.signal, name: 'Motion.moveTo' });
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await assert.rejects(
      p,
      (e: unknown) => e instanceof QiCanceledError && e.message === 'Motion.moveTo was canceled.',
    );
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 5));
    const [call, cancel] = seen;
    assert.deepEqual([cancel.type, cancel.service, cancel.object, cancel.action], [MessageType.Cancel, 2, 1, 0]);
    assert.equal(cancel.decode('I'), call.id);
    assert.equal(client.pendingCalls, 0);
    client.close();
  });

  it('rejects a call canceled before it was sent', async () => {
    const { client } = await pair(() => {});
    await assert.rejects(client.call(add, '()', [], 'v', { signal: AbortSignal.abort() }), QiCanceledError);
    client.close();
  });

  it('maps a Canceled answer to QiCanceledError', async () => {
    const { client } = await pair((m, s) => s.replyCanceled(m));
    await assert.rejects(client.call(add, '()', [], 'v'), /was canceled by tcp:\/\/127\.0\.0\.1:\d+/);
    client.close();
  });

  it('times out, and ignores the late answer', async () => {
    const { client } = await pair((m, s) => setTimeout(() => s.reply(m, 'i', 1), 150));
    await assert.rejects(
      client.call(add, '()', [], 'i', { timeoutMs: 30, name: 'Slow.method' }),
      (e: unknown) => e instanceof QiTimeoutError && /Slow\.method got no answer from .* within 30 ms/.test(e.message),
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await client.call(add, '()', [], 'i'), 1);
    client.close();
  });

  it('fails pending calls with a clear error when the peer goes away', async () => {
    const { client, server } = await pair(() => {});
    const p = client.call(add, '()', [], 'v', { name: 'ALMotion.moveTo' });
    setTimeout(() => server.stream.destroy(), 20);
    await assert.rejects(
      p,
      (e: unknown) =>
        e instanceof QiClosedError && /closed while ALMotion\.moveTo was waiting for its answer/.test(e.message),
    );
    await assert.rejects(client.call(add, '()', [], 'v'), /the connection to .* is closed/);
  });
});

describe('message batching', () => {
  it('keeps large and small messages of one tick intact and in order', async () => {
    const got: string[] = [];
    const { client } = await pair((m, s) => {
      const [tag, blob] = m.decode('(sr)') as [string, Buffer];
      got.push(`${tag}:${blob.length}:${blob.every((b) => b === blob.length % 251)}`);
      s.reply(m, 'r', blob);
    });
    const sizes = [10, 20_000, 5, 70_000, 0, 16_384, 3];
    const replies = await Promise.all(
      sizes.map((n, i) => client.call(add, '(sr)', [`m${i}`, Buffer.alloc(n, n % 251)], 'r')),
    );
    assert.deepEqual(
      got,
      sizes.map((n, i) => `m${i}:${n}:true`),
    );
    assert.deepEqual(
      replies.map((r) => (r as Buffer).length),
      sizes,
    );
    assert.ok(replies.every((r, i) => (r as Buffer).every((b) => b === sizes[i] % 251)));
    client.close();
  });
});
