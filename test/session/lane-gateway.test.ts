/**
 * Lanes through a gateway (docs/reliability.md): a slow link on either side of the gateway. Outside, the
 * client's own lane to the gateway; inside, the gateway's connection to a service is shared by every
 * client, and one client's large call must not hold up another client's small ones. Through a throttled
 * relay at 1 MiB/s; assertions on order, not on time.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { calculator } from '../object/fixtures.js';
import { FaultRelay } from '../helpers/relay.js';
import { MiB, bulk, race, until } from '../helpers/lanes.js';

const ALL = { anonymous: { allow: ['*'] } };
const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const o of open.reverse()) await o.close();
});
const keep = <T extends { close(): Promise<void> }>(o: T) => (open.push(o), o);

/** An SD serving Bulk and Calculator; a relay at 1 MiB/s in front of it. */
async function inside() {
  const sd = keep(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
  await sd.registerService('Bulk', bulk());
  await sd.registerService('Calculator', calculator());
  const relay = await FaultRelay.start(sd.endpoints[0]);
  relay.rate = MiB;
  return { sd, relay };
}

async function proxies(url: string) {
  const c = keep(await Session.connect(url, { ipc: false }));
  return { c, big: (await c.service('Bulk')) as AnyProxy, calc: (await c.service('Calculator')) as AnyProxy };
}

describe('lanes through a gateway', () => {
  it("inside: one client's large call on the shared upstream connection does not hold up another client's small ones", async () => {
    const { relay } = await inside();
    const gw = keep(await Gateway.start({ sd: relay.url, listen: 'tcp://127.0.0.1:0', access: ALL }));
    const a = await proxies(gw.url);
    const b = await proxies(gw.url);
    const smalls = Array.from({ length: 20 }, (_, i) => () => b.calc.add(i, 1) as Promise<number>);
    const order = await race(
      () => a.big.size(Buffer.alloc(2 * MiB, 1)),
      smalls,
      () => until(() => relay.bytes.up > 256 * 1024), // the large call is on its way to the service
    );
    assert.equal(order.at(-1), 'big', `order of completion: ${order.join(' ')}`);
    assert.equal(relay.connections, 2, "the gateway's connection to the SD and its lane");
    assert.equal(await a.calc.add(20, 22), 42);
  });

  it("outside: a client's small calls take its lane to the gateway while its large call crosses", async () => {
    const { sd } = await inside();
    const gw = keep(await Gateway.start({ sd: sd.endpoints[0], listen: 'tcp://127.0.0.1:0', access: ALL }));
    const relay = await FaultRelay.start(gw.url);
    relay.rate = MiB;
    const { big, calc } = await proxies(relay.url);
    const smalls = Array.from({ length: 20 }, (_, i) => () => calc.add(i, 1) as Promise<number>);
    const order = await race(() => big.size(Buffer.alloc(2 * MiB, 1)), smalls);
    assert.equal(order.at(-1), 'big', `order of completion: ${order.join(' ')}`);
    assert.equal(relay.connections, 2, 'the client connection and its lane');
  });
});
