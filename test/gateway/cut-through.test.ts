/**
 * A gateway cutting bursts through (`cutThroughBytes`): 500 calls in flight from one client, and 100 from
 * each of three more at once, all through the gateway over real loopback TCP; every answer is the right
 * one for its call. The process's policy is released when the gateway closes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { cutThrough } from '../../src/transport/index.js';
import { calculator } from '../object/fixtures.js';

let sd: Session;
let gw: Gateway;
const clients: Session[] = [];

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
  gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
    cutThroughBytes: 64,
  });
});

after(async () => {
  for (const c of clients) await c.close();
  await gw?.close();
  await sd?.close();
});

async function calc(): Promise<AnyProxy> {
  const s = await Session.connect(gw.url, { ipc: false });
  clients.push(s);
  return (await s.service('Calculator')) as AnyProxy;
}

describe('a gateway cutting bursts through', () => {
  it('answers every call of bursts from several clients, each with its own answer', { timeout: 20_000 }, async () => {
    assert.equal(cutThrough.bytes, 64, 'on while the gateway runs (an idle machine)');
    const one = await calc();
    const sums = await Promise.all(Array.from({ length: 500 }, (_, i) => one.add(i, i) as Promise<number>));
    sums.forEach((v, i) => assert.equal(v, 2 * i));
    const more = await Promise.all([calc(), calc(), calc()]);
    const all = await Promise.all(
      more.map((c, k) => Promise.all(Array.from({ length: 100 }, (_, i) => c.add(i, 1000 * k) as Promise<number>))),
    );
    all.forEach((list, k) => list.forEach((v, i) => assert.equal(v, i + 1000 * k)));
  });

  it('stops when the gateway closes', async () => {
    await gw.close();
    assert.equal(cutThrough.bytes, 0);
  });
});
