/** Sessions and the ServiceDirectory across real processes, and in one process. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { QiCallError, QiClosedError, QiTimeoutError, Session, listenStandalone } from '../../src/index.js';
import { Calculator, calculator } from '../object/fixtures.js';
import { startFixture } from '../helpers/processes.js';

const sessions: Session[] = [];
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
});
const keep = (s: Session) => (sessions.push(s), s);

describe('three processes: ServiceDirectory, service, client', () => {
  it('finds the service by name and calls it over IPC on the same machine', async () => {
    const sd = await startFixture<{ url: string }>('session/fixtures/sd-process');
    await startFixture('session/fixtures/service-process', [sd.ready.url]);
    const client = keep(await Session.connect(sd.ready.url));
    const calc = await client.service<typeof Calculator>('Calculator');
    assert.equal(await calc.add(20, 22), 42);
    assert.match(Session.route(calc)!, /^unix:/, 'same machine: the unix socket, not TCP');
    const names = (await client.services()).map((s) => `${s.serviceId}:${s.name}`);
    assert.deepEqual(names, ['1:ServiceDirectory', '2:Calculator']);
    await sd.kill();
  });

  it('uses TCP when the service offers no IPC endpoint', async () => {
    const sd = await startFixture<{ url: string }>('session/fixtures/sd-process');
    await startFixture('session/fixtures/service-process', [sd.ready.url, 'Calculator', '--no-ipc']);
    const client = keep(await Session.connect(sd.ready.url));
    const calc = await client.service<typeof Calculator>('Calculator');
    assert.equal(await calc.concat('t', 'cp'), 'tcp');
    assert.match(Session.route(calc)!, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    await sd.kill();
  });

  it('fails pending calls of a killed service quickly, announces its removal, and keeps the rest working', async () => {
    const sd = await startFixture<{ url: string }>('session/fixtures/sd-process');
    const service = await startFixture('session/fixtures/service-process', [sd.ready.url]);
    await startFixture('session/fixtures/service-process', [sd.ready.url, 'Other']);
    const client = keep(await Session.connect(sd.ready.url));
    const calc = await client.service<typeof Calculator>('Calculator');
    const removed = client.serviceRemoved.once();
    const pending = calc.slow(60_000);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const failed = assert.rejects(
      pending,
      (e: unknown) =>
        e instanceof QiClosedError && /closed while Calculator\.slow was waiting for its answer/.test(e.message),
    );
    await service.kill();
    await failed;
    assert.ok(Date.now() - t0 < 2000, 'a dead peer is noticed at once');
    assert.deepEqual(await removed, [2, 'Calculator']);
    const other = await client.service<typeof Calculator>('Other');
    assert.equal(await other.add(1, 2), 3);
    await assert.rejects(
      client.service('Calculator'),
      (e: unknown) => e instanceof QiCallError && /Cannot find service 'Calculator' in index/.test(e.message),
    );
    await sd.kill();
  });
});

describe('one process', () => {
  it('calls a service of this process in-process', async () => {
    const sd = keep(await listenStandalone('tcp://127.0.0.1:0'));
    await sd.registerService('Calculator', calculator());
    const client = keep(await Session.connect(sd.endpoints.find((e) => e.startsWith('tcp:'))));
    const calc = await client.service<typeof Calculator>('Calculator');
    assert.equal(await calc.add(1, 1), 2);
    assert.equal(Session.route(calc), 'local');
    const direct = await sd.service<typeof Calculator>('Calculator');
    assert.equal(Session.route(direct), 'local');
  });

  it('rejects a second service with the same name, as libqi words it', async () => {
    const sd = keep(await listenStandalone('tcp://127.0.0.1:0'));
    await sd.registerService('Twice', calculator());
    await assert.rejects(
      sd.registerService('Twice', calculator()),
      /Service "Twice" \(#2\) is already registered\. Rejecting conflicting registration attempt\./,
    );
  });

  it('waits for a service that appears later, and times out with advice', async () => {
    const sd = keep(await listenStandalone('tcp://127.0.0.1:0'));
    const client = keep(await Session.connect(sd.endpoints[0]));
    const waiting = client.waitForService<typeof Calculator>('Late', 5000);
    setTimeout(() => void sd.registerService('Late', calculator()), 100);
    assert.equal(await (await waiting).add(2, 2), 4);
    await assert.rejects(
      client.waitForService('Never', 150),
      (e: unknown) => e instanceof QiTimeoutError && /did not appear within 150 ms/.test(e.message),
    );
  });

  it('listens on IPv6 loopback with port 0 and reports the real port', async () => {
    const sd = keep(await listenStandalone('tcp://[::1]:0'));
    const url = sd.endpoints.find((e) => e.startsWith('tcp://[::1]:'))!;
    assert.match(url, /^tcp:\/\/\[::1\]:[1-9]\d*$/);
    const client = keep(await Session.connect(url));
    assert.equal((await client.services())[0].name, 'ServiceDirectory');
  });
});

describe('closing', () => {
  it('closes promptly while clients are still connected', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0');
    const client = keep(await Session.connect(sd.endpoints[0]));
    await client.services();
    const t0 = Date.now();
    await sd.close();
    assert.ok(Date.now() - t0 < 1000, `close took ${Date.now() - t0} ms`);
  });
});

describe('connections that come and go', () => {
  it('releases what served a closed connection (no growth per client)', async () => {
    const sd = keep(await listenStandalone('tcp://127.0.0.1:0', { ipc: false }));
    await sd.registerService('Calc', calculator());
    // Internal bookkeeping, read on purpose: one server per registered object and open connection.
    const servers = () =>
      [
        ...(
          sd as unknown as { registry: { registered: Map<number, { servers: Set<unknown> }> } }
        ).registry.registered.values(),
      ].reduce((n, r) => n + r.servers.size, 0);
    const base = servers();
    for (let i = 0; i < 20; i++) {
      const c = await Session.connect(sd.endpoints[0], { ipc: false });
      assert.equal(await (await c.service<typeof Calculator>('Calc')).add(i, 1), i + 1);
      await c.close();
    }
    for (let t = 0; t < 100 && servers() > base; t++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(servers(), base);
  });
});
