/**
 * Objects by reference through the gateway, attacked by another client: every client shares the
 * gateway's upstream connection, where object ids are sequential, so a client could guess the ids of
 * objects that services gave to other clients. An object is reachable only by the clients that received
 * it (in an answer, a signal or a property value); anything else answers exactly as a missing object.
 * And the references in a call's arguments are found by a bounded scan of the bytes: a call that would
 * take more work than the budget is refused with an error that says so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Dynamic,
  Gateway,
  LocalObject,
  QiCallError,
  Session,
  backendOf,
  defineObject,
  listenStandalone,
  method,
  property,
  signal,
  t,
} from '../../src/index.js';
import { key as routeKey } from '../../src/channel/channel.js';
import { METAOBJECT_SIGNATURE, MessageType, ObjectType, connect, openChannel, type Channel } from '../../src/wire.js';
import { counter } from '../object/fixtures.js';
import { rawCall, voidDynamics } from './fixtures/hostile.js';

const Factory = defineObject({
  methods: {
    fresh: method([t.int32], t.object),
    boxed: method([t.int32], t.dynamic),
    /** Emits `born` with a new counter. */
    spawn: method([t.int32]),
    /** Counts the values in a dynamic (to see that a call got through). */
    take: method([t.dynamic], t.int32),
    /** Calls the callback object passed (inside a dynamic) twice. */
    useBoxed: method([t.dynamic], t.int32),
  },
  signals: { born: signal([t.object]) },
  properties: { current: property(t.dynamic) },
});

type CounterProxy = { increment(): Promise<number> };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let sd: Session;
let gw: Gateway;
const sessions: Session[] = [];
let taken = 0;

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  const factory: LocalObject<typeof Factory> = new LocalObject(Factory, {
    fresh: (n) => counter(n),
    boxed: (n) => new Dynamic('(io)', [n, counter(n)]),
    spawn: (n) => factory.emit('born', counter(n)),
    take: () => ++taken,
    useBoxed: async (d) => {
      const [proxy] = (d as Dynamic).value as [CounterProxy];
      await proxy.increment();
      return proxy.increment();
    },
  });
  factory.set('current', new Dynamic('o', counter(500)));
  await sd.registerService('Factory', factory);
  const options = {
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
    maxReferenceScan: 10_000,
  };
  gw = await Gateway.start(options);
});
after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await gw.close();
  await sd.close();
});

/**
 * Proxies the tests got, kept alive to the end: a proxy's garbage collection posts terminate, which would
 * change `gw.heldObjects` in the middle of a later test that counts it.
 */
const kept: unknown[] = [];

async function client() {
  const s = await Session.connect(gw.url, { ipc: false });
  sessions.push(s);
  const factory = await s.service<typeof Factory>('Factory');
  const service = (await s.services()).find((i) => i.name === 'Factory')!.serviceId;
  return { s, factory, service, ch: Session.channelOf(factory)! };
}

/** The id of a method of Factory. */
const methodId = (name: string) => ObjectType.of(Factory).methodsByName.get(name)![0].uid;

/** Where a proxy's object lives, and the id of one of its methods. */
function address(proxy: unknown, member = 'increment') {
  const b = backendOf(proxy) as unknown as {
    service: number;
    object: number;
    type: { metaObject: { methods: Map<number, { name: string }> } };
  };
  const action = [...b.type.metaObject.methods].find(([, m]) => m.name === member)![0];
  return { service: b.service, object: b.object, action };
}

/** The error text of a call that must fail, with the object and message ids blanked out. */
async function failure(p: Promise<unknown>, object: number): Promise<string> {
  const e = await p.then(
    () => assert.fail('the call succeeded'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof QiCallError, `a call error, got ${String(e)}`);
  return e.remoteMessage
    .replace(new RegExp(`(\\d+)\\.${object}(?=[. ])`, 'g'), '$1.<object>')
    .replace(/id:\d+/g, 'id:<n>');
}

describe('gateway: objects are reachable only by their holders', () => {
  it("another client's object answers exactly like a missing one, and stays usable by its holder", async () => {
    const a = await client();
    const b = await client();
    const ka = (await a.factory.fresh(10)) as CounterProxy;
    kept.push(ka);
    assert.equal(await ka.increment(), 11);
    const { service, object, action } = address(ka);
    const missing = object + 1000;

    // A terminate posted (as a proxy's garbage collection does) by another client changes nothing.
    b.ch.post({ service, object, action: 3 }, '(I)', [service]);
    b.ch.post({ service, object, action }, '()', []);
    await sleep(100);
    let count = 12;
    assert.equal(
      await ka.increment(),
      count,
      "the holder's object was neither released nor called by the other client",
    );

    // The service's own connection answers for an object id it does not serve, for comparison.
    const direct = await openChannel(await connect(sd.endpoints[0]));
    after(() => direct.close());
    const probes: [string, (ch: Channel, o: number) => Promise<unknown>][] = [
      ['metaObject', (ch, o) => ch.call({ service, object: o, action: 2 }, '(I)', [service], METAOBJECT_SIGNATURE)],
      ['a method call', (ch, o) => ch.call({ service, object: o, action }, '()', [], 'i')],
      ['registerEvent', (ch, o) => ch.call({ service, object: o, action: 0 }, '(IIL)', [service, action, 7n], 'L')],
      ['terminate (call)', (ch, o) => ch.call({ service, object: o, action: 3 }, '(I)', [service], 'v')],
      ['property', (ch, o) => ch.call({ service, object: o, action: 5 }, '(m)', [new Dynamic('s', 'x')], 'm')],
    ];
    for (const [what, probe] of probes) {
      const held = await failure(probe(b.ch, object), object);
      const none = await failure(probe(b.ch, missing), missing);
      const own = await failure(probe(direct, missing), missing);
      assert.match(own, /No object/);
      assert.equal(held, none, `${what}: another client's object answers like a missing one`);
      assert.equal(held, own, `${what}: in the same words as the service's own connection`);
      assert.equal(await ka.increment(), ++count, `${what}: the holder's object still works`);
    }
  });

  it('objects received in a reply inside a dynamic, in a signal and in a property value are reachable', async () => {
    const a = await client();
    const boxed = (await a.factory.boxed(20)) as Dynamic;
    kept.push(boxed);
    const [, inBox] = boxed.value as [number, CounterProxy];
    assert.equal(await inBox.increment(), 21);

    // Subscribed (the connect answered) before the emission: no fixed wait that a busy machine outlasts.
    let gotBorn!: (o: CounterProxy) => void;
    const born = new Promise<CounterProxy>((resolve) => (gotBorn = resolve));
    await a.factory.born.connect((o: unknown) => gotBorn(o as CounterProxy));
    await a.factory.spawn(30);
    const fromSignal = await Promise.race([born, sleep(3000).then(() => assert.fail('no signal'))]);
    assert.equal(await fromSignal.increment(), 31);
    kept.push(fromSignal);

    const current = (await a.factory.current.get()) as Dynamic;
    kept.push(current);
    assert.equal(await (current.value as CounterProxy).increment(), 501);

    // Nobody else reaches them.
    const b = await client();
    for (const p of [inBox, fromSignal, current.value]) {
      const { service, object, action } = address(p);
      await failure(b.ch.call({ service, object, action }, '()', [], 'i'), object);
    }
  });

  it('an object its holder terminated is no longer reachable, and nothing is left in the gateway', async () => {
    const before = gw.heldObjects;
    const a = await client();
    const k = (await a.factory.fresh(40)) as CounterProxy;
    const { service, object, action } = address(k);
    assert.equal(gw.heldObjects, before + 1);
    await a.ch.call({ service, object, action: 3 }, '(I)', [service], 'v');
    assert.equal(gw.heldObjects, before, 'the holder released it');
    const gone = await failure(a.ch.call({ service, object, action }, '()', [], 'i'), object);
    const none = await failure(a.ch.call({ service, object: object + 1000, action }, '()', [], 'i'), object + 1000);
    assert.equal(gone, none);
  });

  it("an object the service released by itself answers as missing, without naming the gateway's own upstream call", async () => {
    const a = await client();
    const k = (await a.factory.fresh(70)) as CounterProxy;
    const { service, object, action } = address(k);
    // The service stops serving it (as a stream closes itself), before the client first used it.
    const channels = (sd as unknown as { channels: Set<Channel> }).channels;
    const servers = [...channels].map((ch) =>
      (ch as unknown as { handlers: Map<number, { close(): void }> }).handlers.get(routeKey(service, object)),
    );
    const server = servers.find((x) => x !== undefined);
    assert.ok(server !== undefined, 'the service serves the object');
    server.close();
    const gone = await failure(a.ch.call({ service, object, action }, '()', [], 'i'), object);
    const none = await failure(a.ch.call({ service, object: object + 1000, action }, '()', [], 'i'), object + 1000);
    assert.equal(gone, none);
  });
});

describe('gateway: references in arguments are found within a budget', () => {
  it('a call whose arguments take more work to search than maxReferenceScan is refused, saying so', async () => {
    const a = await client();
    const [service, action] = [a.service, methodId('take')];
    const before = taken;
    const small = await rawCall(a.ch, service, action, voidDynamics(1000));
    assert.equal(small.type, MessageType.Reply, `under the budget the call goes through: ${small.text}`);
    assert.equal(taken, before + 1);
    const big = await rawCall(a.ch, service, action, voidDynamics(50_000));
    assert.equal(big.type, MessageType.Error, 'over the budget the call is refused');
    assert.match(big.text, /maxReferenceScan/);
    assert.match(big.text, /10000|10,000/);
    assert.equal(taken, before + 1, 'the service never saw it');
    // Data the scan can skip whole (fixed-size elements, raw bytes) costs nothing against the budget.
    const floats = await a.factory.take(new Dynamic('[d]', new Array(200_000).fill(1.5)));
    assert.equal(floats, before + 2);
  });

  it("a callback inside a dynamic next to large data reaches the service under the gateway's id, and works", async () => {
    const a = await client();
    const cb = counter(60);
    const blob = new Uint8Array(1 << 20).fill(7);
    const n = await a.factory.useBoxed(new Dynamic('(o[s]r)', [cb, ['x', 'y'], blob]));
    assert.equal(n, 62);
  });

  it('malformed arguments are refused without reaching the service', async () => {
    const a = await client();
    const [service, action] = [a.service, methodId('take')];
    const before = taken;
    const bad = voidDynamics(10);
    bad.writeUInt32LE(0xffff_fff0, 7); // a count far beyond the bytes
    const r = await rawCall(a.ch, service, action, bad);
    assert.equal(r.type, MessageType.Error);
    assert.equal(taken, before);
  });
});
