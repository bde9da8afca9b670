/**
 * Objects by reference must not outlive their use (found by the soak): once a proxy is collected its
 * owner is told (terminate) and forgets the object; nothing stays attached to the long-lived connection.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { counter, served } from './fixtures.js';
import { gc } from '../helpers/gc.js';

const closeListeners = (ch: object) => (ch as unknown as { closeListeners: Set<unknown> }).closeListeners.size;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects garbage (up to 50 times, 20 ms apart) until `ch` has at most 5 close listeners more than `before`. */
async function settle(ch: object, before: number): Promise<void> {
  for (let t = 0; t < 50 && closeListeners(ch) > before + 5; t++) {
    gc();
    await sleep(20);
  }
}

describe('objects by reference, many times over one connection', () => {
  it('returned objects: released proxies release the objects served for them', async () => {
    const { proxy, servers, client } = await served();
    await sleep(20);
    const server = servers[0];
    const before = closeListeners(server);
    for (let i = 0; i < 200; i++) {
      const k = (await proxy.makeCounter(i)) as { increment(): Promise<number> };
      assert.equal(await k.increment(), i + 1);
    }
    await settle(server, before);
    assert.ok(
      closeListeners(server) <= before + 5,
      `close listeners on the server's channel: ${before} before, ${closeListeners(server)} after 200 objects`,
    );
    const table = (client as unknown as { objectHooks: unknown }).objectHooks;
    assert.ok(table !== undefined);
    client.close();
  });

  it('objects passed as arguments: the service releasing them releases them here', async () => {
    const { proxy, client } = await served();
    const before = closeListeners(client);
    for (let i = 0; i < 200; i++) assert.equal(await proxy.useCounter(counter(i)), i + 2);
    await settle(client, before);
    assert.ok(
      closeListeners(client) <= before + 5,
      `close listeners on the client's channel: ${before} before, ${closeListeners(client)} after 200 objects`,
    );
    client.close();
  });
});

describe('session.service() asked again and again', () => {
  it('gives the same proxy while the service is the same, leaving nothing on the connection', async () => {
    const { listenStandalone, Session } = await import('../../src/index.js');
    const { calculator } = await import('./fixtures.js');
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    await sd.registerService('Calculator', calculator());
    const s = await Session.connect(sd.endpoints[0], { lpc: false });
    try {
      const first = await s.service('Calculator');
      const ch = Session.channelOf(first)!;
      const before = closeListeners(ch);
      for (let i = 0; i < 200; i++) {
        const p = await s.service('Calculator');
        assert.equal(p, first, 'the same proxy');
        assert.equal(await (p as unknown as { add(a: number, b: number): Promise<number> }).add(i, 1), i + 1);
      }
      assert.equal(closeListeners(ch), before, 'no listener left per call');
      // A service registered again (a new id) gets a new proxy.
      await sd.unregisterService(sd.serviceId('Calculator')!);
      await sd.registerService('Calculator', calculator());
      const again = await s.service('Calculator');
      assert.notEqual(again, first);
      assert.equal(await (again as unknown as { add(a: number, b: number): Promise<number> }).add(2, 2), 4);
    } finally {
      await s.close();
      await sd.close();
    }
  });
});
