/**
 * Objects sent back where they came from, over a real TCP connection: a service's own object passed back
 * to it as an argument reaches the object itself (before, the service called it on the client, which does
 * not hold it: "No object 2.3 on this connection"); an in-process proxy can be sent like its object; and a
 * peer cannot reach an object by naming its address: the uid must match, and only objects of its own
 * connection count. A peer that sends objects back as libqi does (an object of its own that forwards, with the
 * uid of the object) is recognized by the uid: the owner calls its object and releases the forwarder.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { RemoteBackend } from '../../src/object/backend.js';
import { backendOf, listenStandalone, type Session } from '../../src/index.js';
import { ObjectReference } from '../../src/type/index.js';
import {
  Capability,
  ObjectServer,
  acceptChannel,
  connect,
  createProxy,
  defaultCapabilities,
  enableObjectReferences,
  openChannel,
  type Channel,
} from '../../src/wire.js';
import { loopbackListener } from '../helpers/net.js';
import { closedAfterEach } from '../helpers/closing.js';
import { gc } from '../helpers/gc.js';
import { Calculator, calculator, counter, served } from './fixtures.js';

type CounterProxy = { increment(): Promise<number>; value(): Promise<number> };
const closing = closedAfterEach();

describe('objects passed back to their owner', () => {
  it("a service's own object, passed back as an argument, is called in the service itself", async () => {
    const { proxy, client } = await served();
    closing.push(client);
    const c = (await proxy.makeCounter(10)) as CounterProxy;
    assert.equal(await proxy.useCounter(c), 12, 'the service incremented it twice');
    assert.equal(await c.value(), 12, 'the object the client holds is the one the service changed');
    assert.equal(await proxy.useCounter(c), 14, 'again, by the same reference');
  });

  it('an in-process proxy is sent as its object', async () => {
    const sd: Session = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    closing.push(sd);
    const mine = counter(100);
    await sd.registerService('Counter', mine);
    const inProcess = (await sd.service('Counter')) as unknown as CounterProxy;
    assert.equal(backendOf(inProcess)?.route, 'local');
    const { proxy, client } = await served();
    closing.push(client);
    assert.equal(await proxy.useCounter(inProcess), 102);
    assert.equal(await inProcess.value(), 102);
  });

  it('names an object by address only with its uid, and only on the connection it was sent on', async () => {
    const { proxy, client } = await served();
    const other = await served();
    closing.push(client, other.client);
    const c = (await proxy.makeCounter(1)) as CounterProxy;
    const { service, object } = backendOf(c) as RemoteBackend;
    const meta = (backendOf(c) as RemoteBackend).type.metaObject;
    // The right address with another uid: the service takes it for an object of the client, and calls
    // the client, which has none there.
    await assert.rejects(
      proxy.useCounter(new ObjectReference(meta, service, object, randomBytes(20))),
      new RegExp(`No object ${service}\\.${object} on this connection`),
    );
    // The address of an object sent on another connection: not reachable from this one.
    const theirs = (await other.proxy.makeCounter(50)) as CounterProxy;
    const at = backendOf(theirs) as RemoteBackend;
    await assert.rejects(
      proxy.useCounter(new ObjectReference(meta, at.service, at.object)),
      /No object .* on this connection/,
    );
    assert.equal(await theirs.value(), 50, "the other connection's object was not touched");
    assert.equal(await c.value(), 1);
  });
});

describe('objects passed back by a libqi peer', () => {
  it('are recognized by their uid: the owner calls its own object and releases the forwarder at once', async () => {
    const l = await loopbackListener((stream) => {
      const ch = acceptChannel(stream);
      enableObjectReferences(ch);
      new ObjectServer(calculator(), ch, 2, 1, 'Calculator');
    });
    // libqi's capabilities: without ours, a proxy goes back as libqi sends it.
    const capabilities = defaultCapabilities();
    capabilities.delete(Capability.OwnObjectsByAddress);
    const client: Channel = await openChannel(await connect(l.url), { capabilities });
    closing.push(client);
    enableObjectReferences(client);
    assert.equal(client.shared(Capability.OwnObjectsByAddress), false);
    const calc = createProxy<typeof Calculator>(await RemoteBackend.fetch(client, 2, 1, 'Calculator'));
    const c = (await calc.makeCounter(5)) as CounterProxy;
    assert.equal(await calc.useCounter(c), 7);
    assert.equal(await c.value(), 7);
    const bound = () => (client as unknown as { handlers: Map<number, unknown> }).handlers.size;
    for (let i = 0; i < 50 && bound() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(bound(), 0, 'the forwarder the client served was released (terminate), without a garbage collection');
  });
});

describe('an object sent again and again while the peer releases it', () => {
  it('is never called after a release meant for an earlier sending (a fresh id each time, as libqi)', async () => {
    const { proxy, client } = await served();
    closing.push(client);
    const mine = counter(0);
    // The service's proxies of `mine` are collected (terminate on the way) while the client sends it again.
    for (let i = 0; i < 600; i++) {
      assert.equal(await proxy.useCounter(mine), 2 * (i + 1));
      if (i % 20 === 0) gc();
    }
  });
});
