/**
 * The gateway on loopback with two addresses: the inside (SD and services) on 127.0.0.2, the gateway's
 * public side on 127.0.0.3. Clients connect to the gateway only.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Dynamic,
  Gateway,
  LocalObject,
  QiAuthError,
  QiCallError,
  QiCanceledError,
  QiTlsError,
  Session,
  certificateFingerprint,
  listenStandalone,
  type AnyProxy,
} from '../../src/index.js';
import { Capability, defaultCapabilities } from '../../src/wire.js';
import { Counter, calculator, counter, type CalcState } from '../object/fixtures.js';
import { captureRelay } from '../helpers/capture.js';
import { testCerts } from '../helpers/certs.js';

const INSIDE = '127.0.0.2';
const OUTSIDE = '127.0.0.3';

let sd: Session;
let inside: Session;
let gw: Gateway;
const state: CalcState = { aborted: 0, order: [] };
const calc = calculator(state);
const clients: Session[] = [];

async function client(auth?: { user: string; token: string }): Promise<Session> {
  const s = await Session.connect(gw.url, { auth, ipc: false });
  clients.push(s);
  return s;
}

before(async () => {
  sd = await listenStandalone(`tcp://${INSIDE}:0`, { ipc: false });
  // The inside speaks like an older libqi (no ObjectPtrUID), the outside clients like libqi 4: the
  // gateway must keep object references readable on both legs.
  const oldCaps = defaultCapabilities();
  oldCaps.set(Capability.ObjectPtrUID, new Dynamic('b', false));
  inside = await Session.connect(sd.endpoints[0], { ipc: false, capabilities: oldCaps });
  await inside.listen(`tcp://${INSIDE}:0`);
  await inside.registerService('Calculator', calc);
  await inside.registerService('Secret', counter(41));
  gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: [`tcp://${OUTSIDE}:0`, `ws://${OUTSIDE}:0/qi`],
    access: {
      users: {
        alice: {
          token: 's3cret',
          allow: ['Calculator', 'Secret.value', 'Added*', 'register:Phone*'],
          deny: ['method:Calculator.fail'],
        },
        root: {
          token: 'sha256:' + (await import('node:crypto')).createHash('sha256').update('r00t').digest('hex'),
          allow: ['*'],
        },
      },
      anonymous: { allow: ['method:Calculator.add', 'signal:Calculator.fired'] },
    },
  });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw?.close();
  await inside?.close();
  await sd?.close();
});

describe('gateway: the outside view', () => {
  it('lists only what the client may see, every service at the gateway address only', async () => {
    const anon = await client();
    const names = (await anon.services()).map((s) => s.name);
    assert.deepEqual(names, ['ServiceDirectory', 'Calculator']);
    const alice = await client({ user: 'alice', token: 's3cret' });
    const infos = await alice.services();
    assert.deepEqual(
      infos.map((s) => s.name),
      ['ServiceDirectory', 'Calculator', 'Secret'],
    );
    for (const i of infos) {
      assert.ok(i.endpoints.length > 0);
      for (const e of i.endpoints)
        assert.ok(e === 'qi:ServiceDirectory' || e === gw.url, `endpoint ${e} of ${i.name} is the gateway's ${gw.url}`);
    }
    await assert.rejects(anon.serviceInfo('Secret'), /Cannot find service 'Secret'/);
  });

  it('forwards calls, errors and denies what is not allowed with a clear error', async () => {
    const anon = await client();
    const c = (await anon.service('Calculator')) as AnyProxy;
    assert.equal(await c.add(2, 3), 5);
    await assert.rejects(
      c.concat('a', 'b'),
      (e: unknown) =>
        e instanceof QiCallError &&
        /Permission denied: an anonymous client may not use method Calculator.concat/.test(e.message) &&
        /gateway configuration/.test(e.message),
    );
    const root = await client({ user: 'root', token: 'r00t' });
    const rc = (await root.service('Calculator')) as AnyProxy;
    await assert.rejects(
      rc.fail('why'),
      (e: unknown) => e instanceof QiCallError && /failed on purpose: why/.test(e.message),
    );
    const alice = await client({ user: 'alice', token: 's3cret' });
    const ac = (await alice.service('Calculator')) as AnyProxy;
    await assert.rejects(ac.fail('x'), /Permission denied: user "alice" may not use method Calculator.fail/);
    const secret = (await alice.service('Secret')) as AnyProxy;
    assert.equal(await secret.value(), 41);
    await assert.rejects(secret.increment(), /Permission denied/);
    assert.ok(gw.metrics.denied >= 3);
  });

  it('refuses a wrong token and clients without credentials when anonymous use is not configured', async () => {
    await assert.rejects(
      Session.connect(gw.url, { auth: { user: 'alice', token: 'nope' }, ipc: false }),
      (e: unknown) => e instanceof QiAuthError && /invalid user or token/.test(e.message),
    );
    await assert.rejects(
      Session.connect(gw.url, { auth: { user: 'mallory', token: 's3cret' }, ipc: false }),
      QiAuthError,
    );
    const strict = await Gateway.start({
      sd: sd.endpoints[0],
      listen: `tcp://${OUTSIDE}:0`,
      access: { users: { alice: { token: 't', allow: ['*'] } } },
    });
    try {
      await assert.rejects(
        Session.connect(strict.url, { ipc: false }),
        (e: unknown) => e instanceof QiAuthError && /requires a user and a token/.test(e.message),
      );
      for (let i = 0; i < 100 && strict.metrics.refused === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(strict.metrics.refused, 1);
    } finally {
      await strict.close();
    }
  });

  it('carries raw payloads, cancellation and post', async () => {
    const root = await client({ user: 'root', token: 'r00t' });
    const c = (await root.service('Calculator')) as AnyProxy;
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    assert.ok(((await c.echoRaw(big)) as Buffer).equals(big));
    const before = state.aborted;
    const ac = new AbortController();
    const call = c.slow(10_000, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await assert.rejects(call, QiCanceledError);
    for (let i = 0; i < 100 && state.aborted === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(state.aborted, before + 1, 'the cancel reached the service');
    const got = new Promise((r) => calc.subscribe(calc.type.signalsByName.get('fired')!.uid, (args) => r(args)));
    (c.fired as { emit(...a: unknown[]): void }).emit(9, 'posted');
    assert.deepEqual(await got, [9, 'posted']);
  });

  it('fans one upstream subscription out to every subscribed client', async () => {
    const a = await client();
    const b = await client({ user: 'alice', token: 's3cret' });
    const ca = (await a.service('Calculator')) as AnyProxy;
    const cb = (await b.service('Calculator')) as AnyProxy;
    const subs = gw.upstreamSubscriptions;
    const ga = (ca.fired as { once(): Promise<unknown[]> }).once();
    const gb = (cb.fired as { once(): Promise<unknown[]> }).once();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(gw.upstreamSubscriptions, subs + 1, 'two clients, one upstream subscription');
    calc.emit('fired', 1, 'one');
    assert.deepEqual(await ga, [1, 'one']);
    assert.deepEqual(await gb, [1, 'one']);
  });

  it('forwards properties (get, set, watch) and objects returned by reference', async () => {
    const root = await client({ user: 'root', token: 'r00t' });
    const c = (await root.service('Calculator')) as AnyProxy;
    const volume = c.volume as {
      get(): Promise<number>;
      set(v: number): Promise<void>;
      watch(f: (v: number) => void): Promise<() => Promise<void>>;
    };
    const seen: number[] = [];
    const stop = await volume.watch((v) => seen.push(v));
    await volume.set(0.25);
    assert.equal(await volume.get(), 0.25);
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [0.25]);
    await stop();
    const k = (await c.makeCounter(10)) as AnyProxy;
    assert.equal(await k.increment(), 11);
    assert.equal(await k.increment(), 12);
    const anon = await client();
    const ac = (await anon.service('Calculator')) as AnyProxy;
    await assert.rejects(
      (ac.volume as { get(): Promise<number> }).get(),
      /Permission denied: an anonymous client may not use property Calculator.volume/,
    );
  });

  it('passes object references between peers whose capabilities differ (an old client without ObjectPtrUID)', async () => {
    for (const uid of [false, true]) {
      const caps = defaultCapabilities();
      caps.set(Capability.ObjectPtrUID, new Dynamic('b', uid));
      const s = await Session.connect(gw.url, {
        auth: { user: 'root', token: 'r00t' },
        ipc: false,
        capabilities: caps,
      });
      clients.push(s);
      const c = (await s.service('Calculator')) as AnyProxy;
      const k = (await c.makeCounter(100)) as AnyProxy;
      assert.equal(await k.increment(), 101, `ObjectPtrUID ${uid}`);
    }
  });

  it('announces services that appear and disappear inside, to the clients that may see them', async () => {
    const alice = await client({ user: 'alice', token: 's3cret' });
    const anon = await client();
    const added = alice.serviceAdded.once();
    const removedP = alice.serviceRemoved.once();
    const anonSaw: string[] = [];
    await anon.serviceAdded.connect((_id, name) => anonSaw.push(name));
    const id = await inside.registerService('Added1', new LocalObject(Counter, { increment: () => 1, value: () => 1 }));
    assert.equal((await added)[1], 'Added1');
    assert.ok((await alice.services()).some((s) => s.name === 'Added1'));
    await inside.unregisterService(id);
    assert.deepEqual(await removedP, [id, 'Added1']);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(anonSaw, [], 'a hidden service is never announced');
  });

  it('serves clients over WebSocket too, with the ws endpoint advertised to them', async () => {
    const wsUrl = gw.endpoints.find((e) => e.startsWith('ws:'))!;
    assert.match(wsUrl, /^ws:\/\/127\.0\.0\.3:\d+\/qi$/);
    const s = await Session.connect(wsUrl, { auth: { user: 'root', token: 'r00t' }, ipc: false });
    clients.push(s);
    const info = await s.serviceInfo('Calculator');
    assert.ok(info.endpoints.includes(wsUrl), `endpoints ${info.endpoints.join(' ')} include ${wsUrl}`);
    const c = (await s.service('Calculator')) as AnyProxy;
    assert.equal(await c.add(20, 22), 42);
    const big = Buffer.alloc(1024 * 1024, 3);
    assert.ok(((await c.echoRaw(big)) as Buffer).equals(big));
  });

  it('makes services registered by an outside client reachable from inside, and removes them when it leaves', async () => {
    const phone = await Session.connect(gw.url, { auth: { user: 'alice', token: 's3cret' }, ipc: false });
    const served = calculator();
    const id = await phone.registerService('PhoneCalc', served);
    // From inside: found through the internal SD, at the gateway's internal endpoint, and callable.
    const info = await inside.serviceInfo('PhoneCalc');
    assert.equal(info.serviceId, id);
    assert.ok(
      info.endpoints.some((e) => e.startsWith('tcp:')) &&
        info.endpoints.every((e) => e.startsWith('qi:') || !e.includes(OUTSIDE)),
      `internal endpoints ${info.endpoints.join(' ')}`,
    );
    const pc = (await inside.service('PhoneCalc')) as AnyProxy;
    assert.equal(await pc.add(40, 2), 42);
    const got = (pc.fired as { once(): Promise<unknown[]> }).once();
    await new Promise((r) => setTimeout(r, 100));
    served.emit('fired', 3, 'from the phone');
    assert.deepEqual(await got, [3, 'from the phone']);
    // Another outside client reaches it through the gateway too.
    const root = await client({ user: 'root', token: 'r00t' });
    assert.equal(await ((await root.service('PhoneCalc')) as AnyProxy).add(1, 1), 2);
    // Registering is a permission of its own.
    const anon = await client();
    await assert.rejects(
      anon.registerService('Intruder', calculator()),
      /Permission denied: an anonymous client may not register a service named "Intruder"/,
    );
    const gone = inside.serviceRemoved.once();
    await phone.close();
    assert.deepEqual(await gone, [id, 'PhoneCalc']);
    await assert.rejects(inside.serviceInfo('PhoneCalc'), /Cannot find service/);
  });

  it('serves tcps and mutual-TLS (tcpsm) clients, verifying as configured', async () => {
    const certs = testCerts();
    const secure = await Gateway.start({
      sd: sd.endpoints[0],
      listen: [`tcps://${OUTSIDE}:0`, `tcpsm://${OUTSIDE}:0`],
      tls: { ...certs.server, ca: certs.ca },
      access: { anonymous: { allow: ['method:Calculator.add'] } },
    });
    try {
      const [tcps, tcpsm] = secure.endpoints;
      await assert.rejects(
        Session.connect(tcps, { ipc: false }),
        (e: unknown) => e instanceof QiTlsError && /not trusted/.test(e.message),
      );
      // The test certificate names 127.0.0.1, not the gateway's 127.0.0.3: pin it, as one pins a robot's.
      const fingerprint = certificateFingerprint(certs.server.cert);
      const a = await Session.connect(tcps, { ipc: false, tls: { fingerprint } });
      clients.push(a);
      assert.equal(await ((await a.service('Calculator')) as AnyProxy).add(1, 2), 3);
      await assert.rejects(Session.connect(tcpsm, { ipc: false, tls: { fingerprint } }), /client certificate/);
      const b = await Session.connect(tcpsm, { ipc: false, tls: { fingerprint, ...certs.client } });
      clients.push(b);
      assert.equal(await ((await b.service('Calculator')) as AnyProxy).add(2, 3), 5);
    } finally {
      await secure.close();
    }
  });

  it('never shows an internal address in any byte a client receives', async () => {
    // A relay between the client and the gateway records everything the gateway sends.
    const relay = await captureRelay(OUTSIDE, Number(new URL(gw.url).port));
    try {
      const s = await Session.connect(relay.url, { auth: { user: 'root', token: 'r00t' }, ipc: false });
      const infos = await s.services();
      for (const i of infos) await s.serviceInfo(i.name);
      const c = (await s.service('Calculator')) as AnyProxy;
      await c.add(1, 1);
      await ((await c.makeCounter(1)) as AnyProxy).value();
      await s.close();
      const all = relay.bytes();
      assert.ok(all.length > 1000);
      assert.equal(all.indexOf(INSIDE), -1, 'the inside address appears in what the gateway sent');
      assert.equal(
        all.indexOf(String(new URL(sd.endpoints[0]).port)),
        -1,
        'the inside SD port appears in what the gateway sent',
      );
    } finally {
      await relay.close();
    }
  });
});
