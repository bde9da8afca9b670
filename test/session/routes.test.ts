/** Endpoint choice: cheapest rank first, the next rank when a whole rank fails, never a remote loopback. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { QiNoRouteError, Session, listenStandalone, type ServiceInfo } from '../../src/index.js';
import { candidates } from '../../src/session/index.js';
import { Calculator, calculator } from '../object/fixtures.js';
import { freePort } from '../helpers/net.js';

const info = (endpoints: string[], machineId = 'm1'): ServiceInfo => ({
  name: 'S',
  serviceId: 5,
  machineId,
  processId: 1,
  endpoints,
  sessionId: 'x',
  objectUid: '',
});

describe('endpoint candidates', () => {
  const eps = [
    'qi:ServiceDirectory',
    'tcp://192.168.1.10:9559',
    'tcp://127.0.0.1:9559',
    'unix:/run/qi.sock',
    'tcps://[::1]:9503',
    'bogus://x',
  ];
  it('on this machine: IPC, then loopback, then the network', () => {
    assert.deepEqual(candidates(info(eps), true), [
      ['unix:/run/qi.sock'],
      ['tcp://127.0.0.1:9559', 'tcps://[::1]:9503'],
      ['tcp://192.168.1.10:9559'],
    ]);
  });
  it('on another machine: never its loopback or its unix sockets, never qi: or unknown schemes', () => {
    assert.deepEqual(candidates(info(eps), false), [['tcp://192.168.1.10:9559']]);
  });
});

describe('connecting to a service with dead endpoints', () => {
  const sessions: Session[] = [];
  after(() => Promise.all(sessions.map((s) => s.close())));

  it('falls back from a dead unix socket and a dead port to the live endpoint', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    sessions.push(sd);
    const provider = new Session({ ipc: false });
    sessions.push(provider);
    await provider.connect(sd.endpoints[0]);
    const [live] = await provider.listen('tcp://127.0.0.1:0');
    // Register with extra endpoints that cannot work, as a stale or lying ServiceInfo would have.
    const directory = await provider.service('ServiceDirectory');
    const id = (await directory.registerService({
      name: 'Fallback',
      serviceId: 0,
      machineId: provider.machineId,
      processId: 999_999,
      sessionId: 'elsewhere',
      objectUid: '',
      endpoints: ['unix:/nonexistent/dead.sock', `tcp://127.0.0.1:${await freePort()}`, live],
    })) as number;
    (provider as unknown as { registry: { serve(id: number, name: string, o: unknown): void } }).registry.serve(
      id,
      'Fallback',
      calculator(),
    );
    await directory.serviceReady(id);

    const client = await Session.connect(sd.endpoints[0]);
    sessions.push(client);
    const calc = await client.service<typeof Calculator>('Fallback');
    assert.equal(await calc.add(5, 5), 10);
    assert.equal(Session.route(calc), live);
  });

  it('says why a service of this machine by its addresses but another by its machine id is not dialled, and what to do', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    sessions.push(sd);
    const directory = await sd.service('ServiceDirectory');
    // A libqi built without systemd registers its own random machine id, with loopback endpoints.
    const id = (await directory.registerService({
      name: 'Libqi',
      serviceId: 0,
      machineId: 'c0ffee00-0000-4000-8000-000000000000',
      processId: 999_998,
      sessionId: 'libqi',
      objectUid: '',
      endpoints: [`tcp://127.0.0.1:${await freePort()}`, 'unix:/tmp/qi-libqi-routes-test.sock'],
    })) as number;
    await directory.serviceReady(id);
    const client = await Session.connect(sd.endpoints[0]);
    sessions.push(client);
    await assert.rejects(client.service('Libqi'), (e: unknown) => {
      assert.ok(e instanceof QiNoRouteError);
      assert.match(
        e.message,
        new RegExp(
          `it listens only where a process of its own machine can connect \\(tcp://127\\.0\\.0\\.1:\\d+.*\\), and its machine id \\(c0ffee00-0000-4000-8000-000000000000\\) is not this one's \\(${client.machineId}\\)\\. If it runs on this machine.*QI_MACHINE_ID="\\$\\(cat ~/\\.config/qimessaging/machine_id\\)"`,
        ),
      );
      return true;
    });
  });

  it('lists every failed attempt when nothing answers', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    sessions.push(sd);
    const directory = await sd.service('ServiceDirectory');
    const port = await freePort();
    const id = (await directory.registerService({
      name: 'Dead',
      serviceId: 0,
      machineId: sd.machineId,
      processId: 999_999,
      sessionId: 'gone',
      objectUid: '',
      endpoints: [`tcp://127.0.0.1:${port}`],
    })) as number;
    await directory.serviceReady(id);
    const client = await Session.connect(sd.endpoints[0]);
    sessions.push(client);
    await assert.rejects(
      client.service('Dead'),
      (e: unknown) =>
        e instanceof QiNoRouteError &&
        e.message.includes(`tcp://127.0.0.1:${port}: Cannot connect to tcp://127.0.0.1:${port}: nothing listens there`),
    );
  });
});
