/**
 * Sessions that heal by themselves: the ServiceDirectory killed and restarted while a service and a
 * client stay up (the service registers again, the client sees it come back, its serviceAdded
 * subscription survives), and a network cut between client and service (calls and signal subscriptions
 * come back on a new connection).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { calculator } from '../object/fixtures.js';
import { startFixture } from '../helpers/processes.js';
import { FaultRelay } from '../helpers/relay.js';
import { freePort } from '../helpers/net.js';
import { until } from '../helpers/until.js';

const open: Session[] = [];
after(async () => {
  await Promise.all(open.map((s) => s.close()));
});
const keep = (s: Session) => (open.push(s), s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Fired = { connect(f: (...a: unknown[]) => void): Promise<unknown> };

describe('reconnection', () => {
  it('the SD restarts: services register again by themselves, clients keep their subscriptions', async () => {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    let sd = await startFixture<{ url: string }>('session/fixtures/sd-process', [url]);
    const calc = calculator();
    const service = keep(await Session.connect(url, { ipc: false, reconnect: { minMs: 50, maxMs: 200 } }));
    const firstId = await service.registerService('Calculator', calc);
    const client = keep(await Session.connect(url, { ipc: false, lpc: false, reconnect: { minMs: 50, maxMs: 200 } }));
    const added: string[] = [];
    let gaps = 0;
    await client.serviceAdded.connect((_id, name) => added.push(name), { onGap: () => gaps++ });
    const proxy = (await client.service('Calculator')) as AnyProxy;
    const fired: unknown[][] = [];
    await (proxy.fired as Fired).connect((...a) => fired.push(a));

    await sd.kill('SIGKILL');
    await sleep(100);
    sd = await startFixture<{ url: string }>('session/fixtures/sd-process', [url]);
    await until(
      async () => (await client.services().catch(() => [])).some((s) => s.name === 'Calculator'),
      'the service is registered on the new SD',
    );
    assert.ok(service.serviceId('Calculator') !== undefined);
    // Calculator may register again before the client's subscription is back on the new SD: that
    // emission is not replayed, the subscriber is told of the gap instead. What follows it is delivered.
    await until(() => gaps > 0, 'the serviceAdded subscriber was told of the gap');
    let later = 0;
    await until(async () => {
      await service.registerService(`Later${later++}`, calculator());
      await sleep(100);
      return added.some((n) => n.startsWith('Later'));
    }, 'the client saw serviceAdded through its old subscription');
    assert.equal(await proxy.add(2, 3), 5, 'the proxy still works');
    calc.emit('fired', 7, 'after the restart');
    await until(() => fired.length > 0, 'the signal arrived');
    assert.deepEqual(fired, [[7, 'after the restart']]);
    void firstId;
    await sd.kill('SIGKILL');
  });

  it('a network cut between client and service: calls and subscriptions come back on a new connection', async () => {
    const host = keep(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    const calc = calculator();
    await host.registerService('Calculator', calc);
    const relay = await FaultRelay.start(host.endpoints[0]);
    const client = keep(
      await Session.connect(relay.url, { ipc: false, lpc: false, reconnect: { minMs: 50, maxMs: 200 } }),
    );
    const proxy = (await client.service('Calculator')) as AnyProxy;
    const fired: unknown[][] = [];
    await (proxy.fired as Fired).connect((...a) => fired.push(a));
    const before = Session.channelOf(proxy);

    relay.cutNow();
    await until(
      () => Session.channelOf(proxy) !== undefined && Session.channelOf(proxy) !== before,
      'a new connection replaced the cut one',
    );
    await sleep(50); // the subscription is made again on it
    calc.emit('fired', 1, 'after the cut');
    await until(() => fired.length > 0, 'the signal arrived on the new connection');
    assert.deepEqual(fired, [[1, 'after the cut']]);
    assert.equal(await proxy.add(20, 22), 42);
    assert.equal(relay.connections, 1, 'one connection again, not one per retry');
  });

  it('a call made during an outage waits for the new connection, within its timeout', async () => {
    const host = keep(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    await host.registerService('Calculator', calculator());
    const relay = await FaultRelay.start(host.endpoints[0]);
    const client = keep(
      await Session.connect(relay.url, { ipc: false, lpc: false, reconnect: { minMs: 50, maxMs: 100 } }),
    );
    const proxy = (await client.service('Calculator')) as AnyProxy;
    relay.cutNow();
    await sleep(20);
    assert.equal(await proxy.add(1, 2), 3);
    // With nothing to reconnect to, it fails after its timeout with a message that says what to check.
    await relay.close();
    await sleep(20);
    await assert.rejects(
      proxy.add(1, 2, { timeoutMs: 300 }),
      /is lost and could not be made again within 300 ms.*check that the service/,
    );
  });

  it('can be turned off: a lost connection stays lost', async () => {
    const host = keep(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    await host.registerService('Calculator', calculator());
    const relay = await FaultRelay.start(host.endpoints[0]);
    const client = keep(await Session.connect(relay.url, { ipc: false, lpc: false, reconnect: false }));
    const proxy = (await client.service('Calculator')) as AnyProxy;
    relay.cutNow();
    await sleep(50);
    await assert.rejects(proxy.add(1, 2), /closed/);
  });
});
