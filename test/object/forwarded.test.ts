/**
 * A proxy of one connection passed to a service on another (before: "expected an object (a LocalObject,
 * or a proxy of this connection)"). The client serves it as an object of its own, as libqi does with
 * every object it sends, and forwards what the service does with it: calls, a signal subscription and its
 * emissions, signals it posts, property reads and writes; when the service lets it go, the forwarded subscription goes. Real TCP
 * connections, one per service.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalObject, defineObject, method, t, type AnyProxy } from '../../src/index.js';
import { calculator, served } from './fixtures.js';
import { gc } from '../helpers/gc.js';
import { closedAfterEach } from '../helpers/closing.js';

const Relay = defineObject({
  methods: {
    // Calls add on the object it is given, reads and writes its volume, and waits for one `fired`.
    probe: method([t.object], t.string),
    keep: method([t.object]),
    // Posts `fired` on the object it is given.
    shout: method([t.object]),
    drop: method([]),
  },
});

const closing = closedAfterEach();

describe('a proxy of one connection passed to a service on another', () => {
  it('is forwarded: calls, a signal, property reads and writes reach the owner', async () => {
    const calc = calculator();
    const a = await served(calc);
    let kept: AnyProxy | undefined;
    const relay = new LocalObject(Relay, {
      probe: async (o) => {
        const p = o as AnyProxy;
        const sum = (await p.add(40, 2)) as number;
        const before = (await (p.volume as { get(): Promise<number> }).get()) as number;
        await (p.volume as { set(v: number): Promise<void> }).set(0.25);
        const got = (p.fired as { once(): Promise<unknown[]> }).once();
        await new Promise((r) => setTimeout(r, 50));
        calc.emit('fired', 7, 'through the client');
        const [n, s] = await got;
        return `${sum} ${before} ${n} ${s}`;
      },
      keep: async (o) => {
        kept = o as AnyProxy;
        await (kept.fired as { connect(f: () => void): Promise<unknown> }).connect(() => {});
      },
      drop: () => {
        kept = undefined;
      },
      shout: (o) => (o as AnyProxy).fired.emit(3, 'posted through the client'),
    });
    const b = await served(relay as never);
    closing.push(a.client, b.client);
    const relayProxy = b.proxy as unknown as AnyProxy;
    assert.equal(await relayProxy.probe(a.proxy), '42 0.5 7 through the client');
    assert.equal(calc.get('volume'), 0.25, 'the write reached the owner');
    assert.equal(await relayProxy.probe(a.proxy), '42 0.25 7 through the client', 'the same proxy again');
    const heard: unknown[][] = [];
    const offHeard = calc.subscribe(calc.type.signalsByName.get('fired')!.uid, (args) => heard.push(args));
    await relayProxy.shout(a.proxy);
    for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(heard, [[3, 'posted through the client']], 'a signal the service posts reaches the owner');
    offHeard();
    const fired = calc.type.signalsByName.get('fired')!.uid;
    await relayProxy.keep(a.proxy);
    assert.equal(calc.subscriberCount(fired), 1, 'one subscription on the owner, made by the forwarder');
    // The service lets its proxy go: terminate reaches the client, whose forwarder drops its subscription.
    await relayProxy.drop();
    for (let i = 0; i < 50 && calc.subscriberCount(fired) > 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(calc.subscriberCount(fired), 0, 'released: the forwarded subscription is gone');
  });

  it("fails a call on it with the owner's error, and once the owner's connection is gone", async () => {
    const a = await served(calculator());
    const relay = new LocalObject(Relay, {
      probe: async (o) => String(await (o as AnyProxy).fail('on purpose')),
      keep: () => {},
      drop: () => {},
      shout: () => {},
    });
    const b = await served(relay as never);
    closing.push(b.client);
    const relayProxy = b.proxy as unknown as AnyProxy;
    await assert.rejects(relayProxy.probe(a.proxy), /failed on purpose: on purpose/);
    a.client.close();
    await assert.rejects(relayProxy.probe(a.proxy), /clos/i);
  });
});
