/**
 * A service's object passed back to it through the gateway: the client got it from the service (through
 * the gateway) and gives it as an argument. The client serves it as an object of its own that forwards (as
 * libqi does; the gateway offers no OwnObjectsByAddress), the gateway relays it, and the service's calls
 * reach its object through the client (before: "No object 2.3 on this connection", the client holding
 * nothing at that address). Another client naming the same address does not reach it.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RemoteBackend } from '../../src/object/backend.js';
import { backendOf } from '../../src/index.js';
import { ObjectReference } from '../../src/type/index.js';
import { calculator } from '../object/fixtures.js';

const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const x of open.reverse()) await x.close().catch(() => {});
});
const track = <T extends { close(): Promise<void> }>(x: T): T => (open.push(x), x);

describe('gateway: objects passed back to their service', () => {
  it("reach the service's own object; another client naming its address does not", async () => {
    const sd = track(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    const inside = track(await Session.connect(sd.endpoints[0], { ipc: false }));
    await inside.registerService('Calculator', calculator());
    const gw = track(
      await Gateway.start({
        sd: sd.endpoints[0],
        listen: 'tcp://127.0.0.1:0',
        access: { anonymous: { allow: ['*'] } },
      }),
    );
    const alice = track(await Session.connect(gw.url, { ipc: false }));
    const calc = (await alice.service('Calculator')) as AnyProxy;
    const c = (await calc.makeCounter(5)) as AnyProxy;
    assert.equal(await c.increment(), 6);
    assert.equal(await calc.useCounter(c), 8, 'the service incremented its own object twice, through the client');
    assert.equal(await c.value(), 8);
    assert.equal(await calc.useCounter(c), 10, 'again');

    const { service, object, type } = backendOf(c) as RemoteBackend;
    const mallory = track(await Session.connect(gw.url, { ipc: false }));
    const m = (await mallory.service('Calculator')) as AnyProxy;
    await assert.rejects(
      m.useCounter(new ObjectReference(type.metaObject, service, object)),
      new RegExp(`No object ${service}\\.${object} on this connection`),
      "mallory's reference is relayed as an object of mallory's, which has none there",
    );
    assert.equal(await c.value(), 10, "alice's object was not touched");
  });
});
