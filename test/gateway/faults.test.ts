/**
 * The gateway under load and faults: 200 clients at once, a service process killed with calls in
 * flight, the internal ServiceDirectory killed and restarted, a client that does not read.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { Gateway, LocalObject, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { Counter, calculator, counter } from '../object/fixtures.js';
import { startFixture } from '../helpers/processes.js';
import { freePort } from '../helpers/net.js';

const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const x of open.reverse()) await x.close().catch(() => {});
});

const track = <T extends { close(): Promise<void> }>(x: T): T => (open.push(x), x);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ALL = { anonymous: { allow: ['*'] } };

describe('gateway: load and faults', () => {
  it('serves 200 clients at once, each getting only its own replies, one upstream subscription for all', async () => {
    const sd = track(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    const calc = calculator();
    const inside = track(await Session.connect(sd.endpoints[0], { ipc: false }));
    await inside.registerService('Calculator', calc);
    // All clients come from 127.0.0.1 here: lift the per-address bound (64 by default).
    const gw = track(
      await Gateway.start({
        sd: sd.endpoints[0],
        listen: 'tcp://127.0.0.1:0',
        access: ALL,
        maxConnectionsPerAddress: 1000,
      }),
    );
    const N = Number(process.env.N ?? 200);
    const sessions = await Promise.all(
      Array.from({ length: N }, () => Session.connect(gw.url, { ipc: false }).then(track)),
    );
    assert.equal(gw.metrics.clients, N);
    const proxies = await Promise.all(sessions.map((s) => s.service('Calculator') as Promise<AnyProxy>));
    const received = proxies.map(() => [] as unknown[][]);
    await Promise.all(
      proxies.map((p, i) =>
        (p.fired as { connect(f: (...a: unknown[]) => void): Promise<unknown> }).connect((...a) => received[i].push(a)),
      ),
    );
    assert.equal(gw.upstreamSubscriptions, 1);
    // Every client calls at once, several times; a reply that reached the wrong client would not add up.
    const results = await Promise.all(
      proxies.flatMap((p, i) => [1, 2, 3].map((k) => p.add(i, k * 1000) as Promise<number>)),
    );
    results.forEach((r, j) => assert.equal(r, Math.floor(j / 3) + ((j % 3) + 1) * 1000));
    calc.emit('fired', 7, 'all');
    for (let t = 0; t < 200 && received.some((r) => r.length === 0); t++) await sleep(10);
    received.forEach((r, i) => assert.deepEqual(r, [[7, 'all']], `client ${i}`));
  });

  it('fails pending calls with a clear error and announces serviceRemoved when a service process dies', async () => {
    const sd = track(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    const gw = track(await Gateway.start({ sd: sd.endpoints[0], listen: 'tcp://127.0.0.1:0', access: ALL }));
    const other = track(await Session.connect(sd.endpoints[0], { ipc: false }));
    await other.registerService('Other', new LocalObject(Counter, { increment: () => 1, value: () => 5 }));
    const child = await startFixture<{ id: number }>('session/fixtures/service-process', [
      sd.endpoints[0],
      'Doomed',
      '--no-ipc',
    ]);
    const client = track(await Session.connect(gw.url, { ipc: false }));
    const doomed = (await client.waitForService('Doomed', 5000)) as AnyProxy;
    assert.equal(await doomed.add(1, 2), 3);
    const removed = client.serviceRemoved.once();
    const pending = doomed.slow(30_000);
    await sleep(50);
    const t0 = Date.now();
    const failed = assert.rejects(pending, /Doomed stopped answering while this call was pending/);
    await child.kill('SIGKILL');
    await failed;
    assert.ok(Date.now() - t0 < 5000, 'the pending call failed within a bounded time');
    assert.deepEqual(await removed, [child.ready.id, 'Doomed']);
    assert.ok(!(await client.services()).some((s) => s.name === 'Doomed'));
    const o = (await client.service('Other')) as AnyProxy;
    assert.equal(await o.value(), 5, 'the gateway and other services keep working');
  });

  it('reconnects to a restarted ServiceDirectory and re-announces what it lists', async () => {
    const port = await freePort();
    const url = `tcp://127.0.0.1:${port}`;
    let sd = await startFixture<{ url: string }>('session/fixtures/sd-process', [url]);
    // Without reconnection: a session that registered would register again on the new SD by itself.
    const first = track(await Session.connect(url, { ipc: false, reconnect: false }));
    await first.registerService('BeforeRestart', new LocalObject(Counter, { increment: () => 1, value: () => 1 }));
    const gw = track(await Gateway.start({ sd: url, listen: 'tcp://127.0.0.1:0', access: ALL, reconnectMs: 100 }));
    const client = track(await Session.connect(gw.url, { ipc: false }));
    assert.ok((await client.services()).some((s) => s.name === 'BeforeRestart'));
    const added = client.serviceAdded.iterate();
    const removed = client.serviceRemoved.once();
    await sd.kill('SIGKILL');
    await sleep(200);
    sd = await startFixture<{ url: string }>('session/fixtures/sd-process', [url]);
    const second = track(await Session.connect(url, { ipc: false }));
    await second.registerService('AfterRestart', new LocalObject(Counter, { increment: () => 2, value: () => 2 }));
    const deadline = Date.now() + 5000;
    let seen = '';
    while (seen !== 'AfterRestart' && Date.now() < deadline) {
      const next = await Promise.race([
        added.next(),
        sleep(deadline - Date.now()).then(() => ({ done: true, value: undefined })),
      ]);
      if (next.done) break;
      seen = (next.value as [number, string])[1];
    }
    await added.return?.();
    assert.equal(seen, 'AfterRestart', 'the service registered on the new SD was announced through the gateway');
    const gone = await Promise.race([removed, sleep(Math.max(0, deadline - Date.now()) + 2000).then(() => undefined)]);
    assert.equal(
      gone?.[1],
      'BeforeRestart',
      'what the new SD does not list is announced as removed (within the deadline)',
    );
    const names = (await client.services()).map((s) => s.name);
    assert.deepEqual(names, ['ServiceDirectory', 'AfterRestart']);
    assert.equal(await ((await client.service('AfterRestart')) as AnyProxy).value(), 2);
    await sd.kill('SIGKILL');
  });

  it('relays objects that clients pass to services, keeping apart clients that number them alike', async () => {
    const sd = track(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    const inside = track(await Session.connect(sd.endpoints[0], { ipc: false }));
    await inside.registerService('Calculator', calculator());
    const gw = track(await Gateway.start({ sd: sd.endpoints[0], listen: 'tcp://127.0.0.1:0', access: ALL }));
    const local = track(await Session.connect(gw.url, { ipc: false }));
    const c = (await local.service('Calculator')) as AnyProxy;
    assert.equal(await c.useCounter(counter(5)), 7, 'the service called the client object twice, through the gateway');
    // Two processes: each numbers its first objects the same way.
    const [a, b] = await Promise.all([
      startFixture<{ result: number[] }>('gateway/fixtures/callback-client', [gw.url, '100']),
      startFixture<{ result: number[] }>('gateway/fixtures/callback-client', [gw.url, '200']),
    ]);
    assert.deepEqual(a.ready.result, [102, 102, 102]);
    assert.deepEqual(b.ready.result, [202, 202, 202]);
  });

  it('starts before the internal SD when asked to, and serves its services once it is up', async () => {
    const url = `tcp://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      Gateway.start({ sd: url, listen: 'tcp://127.0.0.1:0', access: ALL }),
      /Cannot connect to .*nothing listens there/,
    );
    const states: boolean[] = [];
    const gw = track(
      await Gateway.start({
        sd: url,
        listen: 'tcp://127.0.0.1:0',
        access: ALL,
        waitForSd: true,
        reconnectMs: 50,
        onDirectory: (up) => states.push(up),
      }),
    );
    assert.equal(gw.metrics.sdConnected, false);
    const client = track(await Session.connect(gw.url, { ipc: false }));
    assert.deepEqual(
      (await client.services()).map((s) => s.name),
      ['ServiceDirectory'],
    );
    const added = client.serviceAdded.once();
    const sd = track(await listenStandalone(url, { ipc: false }));
    await sd.registerService('Late', new LocalObject(Counter, { increment: () => 1, value: () => 3 }));
    assert.equal((await added)[1], 'Late');
    assert.equal(await ((await client.service('Late')) as AnyProxy).value(), 3);
    assert.equal(gw.metrics.sdConnected, true);
    assert.deepEqual(states, [false, true]);
  });

  it('drops signals for a client that does not read, and keeps serving the others', async () => {
    const sd = track(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    const calc = calculator();
    const inside = track(await Session.connect(sd.endpoints[0], { ipc: false }));
    await inside.registerService('Calculator', calc);
    const gw = track(
      await Gateway.start({ sd: sd.endpoints[0], listen: 'tcp://127.0.0.1:0', access: ALL, maxQueueBytes: 256 * 1024 }),
    );
    const stuck = track(await Session.connect(gw.url, { ipc: false }));
    const sp = (await stuck.service('Calculator')) as AnyProxy;
    await (sp.fired as { connect(f: () => void): Promise<unknown> }).connect(() => {});
    const healthy = track(await Session.connect(gw.url, { ipc: false }));
    const hp = (await healthy.service('Calculator')) as AnyProxy;
    let got = 0;
    await (hp.fired as { connect(f: () => void): Promise<unknown> }).connect(() => got++);
    // The stuck client stops reading from its socket: the kernel buffers fill, then the gateway's queue.
    const sock = (
      await (stuck as unknown as { open(u: string): Promise<{ stream: { socket: net.Socket } }> }).open(gw.url)
    ).stream.socket;
    sock.pause();
    const text = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 400; i++) {
      calc.emit('fired', i, text);
      if (i % 20 === 0) await sleep(1);
    }
    for (let t = 0; t < 300 && got < 400; t++) await sleep(10);
    assert.equal(got, 400, 'the healthy client got every emission');
    assert.ok(gw.metrics.droppedEvents > 0, 'emissions to the stuck client were dropped, not queued without bound');
    assert.equal(await hp.add(1, 1), 2);
    sock.resume();
  });
});
