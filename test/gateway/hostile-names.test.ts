/**
 * Hostile names through the gateway, over real sockets: renaming a registration onto a robot service,
 * registering through rules that do not say `register:`, too many registrations, probing hidden names by
 * registering them, a property watched or forged through its change signal's id, and dotted service
 * names in rules. Also our own ServiceDirectory refusing a rename from anyone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Dynamic, Gateway, Session, listenStandalone, type AnyProxy, type ServiceInfo } from '../../src/index.js';
import { Builtin, SERVICE_INFO_SIGNATURE } from '../../src/wire.js';
import { calculator, counter } from '../object/fixtures.js';
import { gc } from '../helpers/gc.js';
import { until } from '../helpers/until.js';

const INFO = `(${SERVICE_INFO_SIGNATURE})`;
const SD = { service: 1, object: 1 } as const;
const VOLUME = calculator().type.propertiesByName.get('volume')!.uid;

let sd: Session;
let inside: Session;
let gw: Gateway;
let calcId = 0;
let secretId = 0;
const sessions: Session[] = [];

async function client(user?: string): Promise<Session> {
  const s = await Session.connect(gw.url, { ipc: false, auth: user === undefined ? undefined : { user, token: 'pw' } });
  sessions.push(s);
  return s;
}

function dir(s: Session) {
  const ch = s.directoryConnection;
  assert.ok(ch !== undefined);
  return ch;
}

function info(name: string, serviceId = 0, endpoints: string[] = ['tcp://127.0.0.1:1']): ServiceInfo {
  return { name, serviceId, machineId: 'm', processId: 1, endpoints, sessionId: 's', objectUid: '' };
}

/** registerService (102) by hand, as any libqi client may send it. */
const register = (s: Session, name: string) =>
  dir(s).call({ ...SD, action: 102 }, INFO, [info(name)], 'I') as Promise<number>;
const update = (s: Session, i: ServiceInfo) => dir(s).call({ ...SD, action: 105 }, INFO, [i], 'v');
const unregister = (s: Session, id: number) => dir(s).call({ ...SD, action: 103 }, '(I)', [id], 'v');
const message = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('expected a refusal, got a success');
};

/** Waits until `ok()` holds, at most 3 s. */
const user = (allow: string[], deny: string[] = []) => ({ token: 'pw', allow, deny });

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  inside = await Session.connect(sd.endpoints[0], { ipc: false });
  calcId = await inside.registerService('Calculator', calculator());
  secretId = await inside.registerService('Secret', counter(41));
  await inside.registerService('My.Secret', counter(1));
  await inside.registerService('My.Open', counter(2));
  // Registered but never marked ready: not listed, but its name is taken.
  await register(inside, 'PendingSecret');
  const options = {
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    maxRegistrationsPerClient: 3,
    access: {
      users: {
        phone: user(['register:Phone*', 'Calculator']),
        kindless: user(['Phone', 'Calculator']),
        prober: user(['register:*', 'Calculator'], ['register:Forbidden*']),
        capped: user(['register:Cap*']),
        watcher: user(['property:Calculator.volume']),
        noprop: user(['Calculator'], ['property:Calculator.volume']),
        root: user(['*']),
        denyDotted: user(['*'], ['My.Secret']),
        denyDottedAll: user(['*'], ['My.Secret.*']),
        denyDottedMember: user(['*'], ['method:My.Secret.increment']),
        allowDotted: user(['My.Open.value']),
      },
      anonymous: { allow: ['register:Anon*', 'Glob*', 'Calculator.add'] },
    },
  };
  gw = await Gateway.start(options);
});

after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await gw?.close();
  await inside?.close();
  await sd?.close();
});

describe('gateway: a registration keeps its name', () => {
  for (const who of ['phone', undefined]) {
    const name = who === undefined ? 'AnonSpy' : 'PhoneSpy';
    const target = who === undefined ? 'ALMotion' : 'ALTextToSpeech';
    it(`${who ?? 'an anonymous client'} cannot rename ${name} to ${target} with updateServiceInfo`, async () => {
      const s = await client(who);
      const id = await s.registerService(name, calculator());
      const text = await message(update(s, info(target, id)));
      assert.match(
        text,
        new RegExp(`"${name}" cannot be renamed to "${target}": a service keeps the name it was registered with`),
      );
      // The inside still knows it under its own name only, and the real service can register.
      await assert.rejects(inside.serviceInfo(target), /Cannot find service/);
      assert.equal((await inside.serviceInfo(name)).serviceId, id);
      const real = await inside.registerService(target, counter(7));
      assert.equal(await ((await inside.service(target)) as AnyProxy).value(), 7);
      await inside.unregisterService(real);
      // An update that keeps the name is accepted (it may change endpoints only).
      await update(s, info(name, id));
      assert.equal((await inside.serviceInfo(name)).serviceId, id);
    });
  }
});

describe('ServiceDirectory: a service is never renamed', () => {
  it('refuses updateServiceInfo changing the name of a ready or pending service, from anyone', async () => {
    const own = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    try {
      const a = await Session.connect(own.endpoints[0], { ipc: false });
      sessions.push(a);
      const ready = await a.registerService('Original', counter(1));
      const pending = await register(a, 'Waiting');
      assert.match(await message(update(a, info('Renamed', ready))), /"Original" cannot be renamed to "Renamed"/);
      assert.match(await message(update(a, info('Renamed2', pending))), /"Waiting" cannot be renamed to "Renamed2"/);
      await assert.rejects(a.serviceInfo('Renamed'), /Cannot find service/);
      assert.equal((await a.serviceInfo('Original')).serviceId, ready);
      // Keeping the name, the endpoints may change.
      await update(a, info('Original', ready, ['tcp://127.0.0.1:4']));
      assert.deepEqual(
        (await a.serviceInfo('Original')).endpoints.filter((e) => !e.startsWith('qi:')),
        ['tcp://127.0.0.1:4'],
      );
    } finally {
      await own.close();
    }
  });
});

describe('gateway: registering needs an explicit register: rule', () => {
  it('a rule without a kind does not grant registering ("Phone", anonymous "Glob*")', async () => {
    assert.match(
      await message(register(await client('kindless'), 'Phone')),
      /Permission denied: user "kindless" may not register a service named "Phone"/,
    );
    assert.match(
      await message(register(await client(), 'GlobX')),
      /Permission denied: an anonymous client may not register a service named "GlobX"/,
    );
    await assert.rejects(inside.serviceInfo('Phone'), /Cannot find service/);
  });

  it('caps the registrations of one client (maxRegistrationsPerClient), even in one burst', async () => {
    const s = await client('capped');
    const all = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => register(s, `Cap${n}`)));
    const ok = all.filter((r): r is PromiseFulfilledResult<number> => r.status === 'fulfilled').map((r) => r.value);
    assert.equal(ok.length, 3, `registered ${ok.length} of 6`);
    for (const r of all)
      if (r.status === 'rejected') assert.match((r.reason as Error).message, /at most 3 services.*unregister one/);
    await unregister(s, ok[0]);
    const again = await register(s, 'Cap7');
    assert.ok(again > 0);
    assert.match(await message(register(s, 'Cap8')), /at most 3 services/);
  });
  it('a client that leaves while its registration is on its way leaves no name behind', async () => {
    for (let i = 0; i < 3; i++) {
      const s = await client('capped');
      const name = `CapGone${i}`;
      const before = gw.metrics.clients;
      register(s, name).catch(() => {});
      await s.close();
      // Once the gateway saw it leave, its registration has been sent to the SD: the name must come free.
      await until(() => gw.metrics.clients < before, 'the gateway to see the client leave', 3000);
      let id: number | undefined;
      await until(
        async () => (id = await inside.registerService(name, counter(0)).catch(() => undefined)) !== undefined,
        'the name to come free',
        3000,
      );
      await inside.unregisterService(id!);
    }
  });
});

describe('gateway: registering a hidden name reveals nothing', () => {
  it('answers a taken hidden name exactly like a name the client may not register', async () => {
    const s = await client('prober');
    const refusal = await message(register(s, 'ForbiddenName'));
    for (const hidden of ['Secret', 'PendingSecret']) {
      const text = await message(register(s, hidden));
      assert.equal(text.replaceAll(hidden, 'NAME'), refusal.replaceAll('ForbiddenName', 'NAME'));
      assert.ok(!text.includes(`#${secretId}`) && !/#\d/.test(text), text);
    }
    // A visible name that is taken: libqi's answer (its id is one the client can list anyway).
    const visible = await message(register(s, 'Calculator'));
    assert.match(visible, new RegExp(`already registered`));
    assert.ok(!visible.includes('127.0.0.1'), visible);
    assert.ok(calcId > 0);
  });
});

describe('gateway: a property is checked as a property on every path', () => {
  it('allow property:X.p alone lets a client watch it', async () => {
    const s = await client('watcher');
    const c = (await s.service('Calculator')) as AnyProxy;
    const seen: unknown[] = [];
    await (c.volume as { watch(l: (v: unknown) => void): Promise<unknown> }).watch((v) => seen.push(v));
    assert.equal(await (c.volume as { get(): Promise<unknown> }).get(), 0.5);
  });

  it('deny property:X.p stops watching it (registerEvent on its id, through the proxy or by hand)', async () => {
    const s = await client('noprop');
    const c = (await s.service('Calculator')) as AnyProxy;
    await assert.rejects(
      (c.volume as { watch(l: () => void): Promise<unknown> }).watch(() => {}),
      /Permission denied: user "noprop" may not use property Calculator.volume/,
    );
    await assert.rejects(
      dir(s).call({ service: calcId, object: 1, action: Builtin.registerEvent }, '(IIL)', [calcId, VOLUME, 99n], 'L'),
      /Permission denied/,
    );
    await assert.rejects(
      dir(s).call(
        { service: calcId, object: 1, action: Builtin.registerEventWithSignature },
        '(IILs)',
        [calcId, VOLUME, 98n, '(f)'],
        'L',
      ),
      /Permission denied/,
    );
  });

  it('deny property:X.p stops forging its changes (a Post to its id)', async () => {
    const root = await client('root');
    const witness: unknown[] = [];
    const volume = ((await root.service('Calculator')) as AnyProxy).volume as {
      watch(l: (v: unknown) => void): Promise<unknown>;
      set(v: number): Promise<void>;
    };
    await volume.watch((v) => witness.push(v));
    const s = await client('noprop');
    const c = (await s.service('Calculator')) as AnyProxy;
    // The call after the Post is answered once the service has handled the Post, so a forged change
    // would reach root before the legitimate one (one upstream connection, in order).
    dir(s).post({ service: calcId, object: 1, action: VOLUME }, '(f)', [0.25]);
    assert.equal(await c.add(1, 2), 3);
    await volume.set(0.75);
    const deadline = Date.now() + 3000;
    while (witness.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(witness.slice(0, 1), [0.75], `root saw ${JSON.stringify(witness)}`);
  });
  it('property names sent by a client are not remembered: 48 distinct 1 MB names leave the heap where it was', async () => {
    const s = await client('watcher');
    const ask = (key: string) =>
      dir(s)
        .call({ service: calcId, object: 1, action: Builtin.property }, '(m)', [new Dynamic('s', key)], 'm')
        .catch(() => undefined);
    await ask('warm-up');
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 48; i++)
      await ask(
        String(i)
          .padStart(4, '0')
          .repeat(256 * 1024),
      );
    gc();
    const grown = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    assert.ok(grown < 16, `the heap grew by ${grown.toFixed(1)} MiB`);
  });
});

describe('gateway: rules on dotted service names', () => {
  for (const who of ['denyDotted', 'denyDottedAll']) {
    it(`${who}: denying My.Secret hides the service My.Secret, not My.Open`, async () => {
      const s = await client(who);
      await assert.rejects(s.service('My.Secret'), /Cannot find service 'My.Secret'/);
      assert.ok(!(await s.services()).some((i) => i.name === 'My.Secret'));
      assert.equal(await ((await s.service('My.Open')) as AnyProxy).value(), 2);
    });
  }

  it('method:My.Secret.increment denies that member only', async () => {
    const s = await client('denyDottedMember');
    const p = (await s.service('My.Secret')) as AnyProxy;
    assert.equal(await p.value(), 1);
    await assert.rejects(
      p.increment(),
      /Permission denied: user "denyDottedMember" may not use method My.Secret.increment/,
    );
  });

  it('allow My.Open.value grants that member of the service My.Open only', async () => {
    const s = await client('allowDotted');
    const p = (await s.service('My.Open')) as AnyProxy;
    assert.equal(await p.value(), 2);
    await assert.rejects(p.increment(), /Permission denied/);
    await assert.rejects(s.service('My.Secret'), /Cannot find service/);
  });
});
