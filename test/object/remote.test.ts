import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QiCallError, QiCanceledError, backendOf } from '../../src/index.js';
import { Builtin } from '../../src/wire.js';
import { calculator, counter, served, type CalcState } from './fixtures.js';

describe('MetaObject of a declared object', () => {
  it('numbers members from 100 in declaration order, with libqi built-ins merged', async () => {
    const { backend, client } = await served();
    const m = backend.type.metaObject;
    const own = [...m.methods.values()]
      .filter((x) => x.uid >= 100)
      .map((x) => `${x.uid} ${x.name}${x.parametersSignature}${x.returnSignature}`);
    assert.deepEqual(own.slice(0, 4), ['100 add(ii)i', '101 concat(ss)s', '102 concat(si)s', '103 fail(s)v']);
    assert.equal(m.signals.get(109)?.name, 'fired');
    assert.deepEqual(
      [m.properties.get(110)?.signature, m.signals.get(110)?.signature, m.signals.get(110)?.name],
      ['f', '(f)', 'volume'],
    );
    for (const [id, name] of Object.entries({
      0: 'registerEvent',
      2: 'metaObject',
      8: 'registerEventWithSignature',
      80: 'isStatsEnabled',
      85: 'enableTrace',
    })) {
      assert.equal(m.methods.get(Number(id))?.name, name);
    }
    const add = m.methods.get(100)!;
    assert.deepEqual(
      [add.description, add.parameters, add.returnDescription],
      [
        'Adds two numbers',
        [
          { name: 'a', description: '' },
          { name: 'b', description: 'second' },
        ],
        'the sum',
      ],
    );
    assert.equal(m.description, 'A calculator for tests');
    client.close();
  });
});

describe('remote calls through a proxy', () => {
  it('calls methods, picks overloads by argument type, and takes structs as objects', async () => {
    const { proxy, client } = await served();
    assert.equal(await proxy.add(40, 2), 42);
    assert.equal(await proxy.concat('a', 'b'), 'ab');
    assert.equal(await proxy.concat('a', 7), 'a7');
    assert.equal(await proxy.norm1({ x: -3, y: 4 }), 7);
    assert.equal(backendOf(proxy)?.route.startsWith('tcp://127.0.0.1:'), true);
    client.close();
  });

  it('carries implementation errors and explains wrong calls', async () => {
    const { proxy, client } = await served();
    await assert.rejects(
      proxy.fail('x'),
      (e: unknown) => e instanceof QiCallError && e.message === 'Calculator.fail failed: failed on purpose: x',
    );
    await assert.rejects(
      (proxy.add as (...a: unknown[]) => Promise<unknown>)(1),
      /Calculator\.add takes 2 argument\(s\), got 1 \(add\(ii\)\)/,
    );
    await assert.rejects(
      (proxy.add as (...a: unknown[]) => Promise<unknown>)(1, 'two'),
      /Cannot encode args\[1\] \(signature \(ii\)\): expected an integer \(int32\), got string "two"/,
    );
    await assert.rejects(
      (proxy as unknown as Record<string, () => Promise<unknown>>).nope?.() ??
        Promise.reject(new Error('no such member')),
      /no such member/,
    );
    client.close();
  });

  it('never lets a slow call hold back others on the same socket', async () => {
    const state: CalcState = { aborted: 0, order: [] };
    const { proxy, client } = await served(calculator(state));
    const order: string[] = [];
    await Promise.all([proxy.slow(150).then(() => order.push('slow')), proxy.add(1, 1).then(() => order.push('add'))]);
    assert.deepEqual(order, ['add', 'slow']);
    client.close();
  });

  it('runs calls one at a time in serialized mode', async () => {
    const state: CalcState = { aborted: 0, order: [] };
    const { proxy, client } = await served(calculator(state, { serialized: true }));
    await Promise.all([proxy.slow(80), proxy.slow(10)]);
    assert.deepEqual(state.order, ['slow 80', 'slow 10']);
    client.close();
  });

  it('cancels a long call: the implementation sees the abort', async () => {
    const state: CalcState = { aborted: 0, order: [] };
    const { proxy, client } = await served(calculator(state));
    const ac = new AbortController();
    const p = proxy.slow(5000, ac.signal);
    setTimeout(() => ac.abort(), 30);
    await assert.rejects(p, QiCanceledError);
    for (let i = 0; i < 100 && state.aborted === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(state.aborted, 1);
    await assert.rejects(proxy.slow(5000, { timeoutMs: 30 }), /got no answer .* within 30 ms/);
    client.close();
  });

  it('echoes raw bytes', async () => {
    const { proxy, client } = await served();
    const data = Buffer.alloc(300_000, 5);
    assert.ok(Buffer.from(await proxy.echoRaw(data)).equals(data));
    client.close();
  });
});

describe('signals and properties', () => {
  it('delivers signals to callbacks, async iterators and once(), over one subscription', async () => {
    const { proxy, client, object } = await served();
    const got: unknown[] = [];
    const off = await proxy.fired.connect((n, s) => got.push([n, s]));
    const it = proxy.fired.iterate();
    const next = proxy.fired.once();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(object.subscriberCount(109), 1, 'one remote subscription per signal, fanned out locally');
    object.emit('fired', 1, 'one');
    object.emit('fired', 2, 'two');
    assert.deepEqual(await next, [1, 'one']);
    assert.deepEqual((await it.next()).value, [1, 'one']);
    assert.deepEqual((await it.next()).value, [2, 'two']);
    assert.deepEqual(got, [
      [1, 'one'],
      [2, 'two'],
    ]);
    await off();
    await it.return!();
    for (let i = 0; i < 50 && object.subscriberCount(109) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(object.subscriberCount(109), 0);
    client.close();
  });

  it('emits a signal on the object from the client (Post)', async () => {
    const { proxy, client, object } = await served();
    const local: unknown[] = [];
    object.subscribe(109, (args) => local.push(args));
    proxy.fired.emit(7, 'from the client');
    for (let i = 0; i < 50 && local.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(local, [[7, 'from the client']]);
    client.close();
  });

  it('gets, sets and watches properties', async () => {
    const { proxy, client, object } = await served();
    assert.equal(await proxy.volume.get(), 0.5);
    const seen: number[] = [];
    await proxy.volume.watch((v) => seen.push(v));
    await proxy.volume.set(0.25);
    assert.equal(object.get('volume'), 0.25);
    object.set('volume', 0.75);
    for (let i = 0; i < 50 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [0.25, 0.75]);
    await assert.rejects(proxy.volume.set('loud' as unknown as number), /expected a number \(float\)/);
    client.close();
  });

  it('answers the built-in property members the way libqi clients call them', async () => {
    const { client } = await served();
    assert.deepEqual(await client.call({ service: 2, object: 1, action: Builtin.properties }, '()', [], '[s]'), [
      'volume',
    ]);
    await assert.rejects(
      client.call({ service: 2, object: 1, action: Builtin.property }, '(m)', ['nope'], 'm'),
      /no property "nope" \(properties: volume\)/,
    );
    client.close();
  });
});

describe('objects by reference', () => {
  it('returns a local object as a proxy the client can call', async () => {
    const { proxy, client } = await served();
    const c = (await proxy.makeCounter(10)) as { increment(): Promise<number>; value(): Promise<number> };
    assert.equal(await c.increment(), 11);
    assert.equal(await c.value(), 11);
    client.close();
  });

  it('serves a client object passed as an argument, called back by the service', async () => {
    const { proxy, client } = await served();
    const mine = counter(100);
    assert.equal(await proxy.useCounter(mine), 102);
    assert.equal(await proxy.useCounter(mine), 104, 'the same object is sent again by the same reference');
    client.close();
  });
});

describe('signal iterators', () => {
  it('reject instead of waiting forever when the subscription fails', async () => {
    const { proxy, client } = await served();
    client.close();
    const it = proxy.fired.iterate();
    await new Promise((r) => setTimeout(r, 10));
    await assert.rejects(it.next(), /closed/);
  });
});

describe('two proxies of one remote object on one connection', () => {
  it('both receive their signals', async () => {
    const { proxy, client, object } = await served();
    const { RemoteBackend, createProxy } = await import('../../src/wire.js');
    const second = createProxy<typeof import('./fixtures.js').Calculator>(
      await RemoteBackend.fetch(client, 2, 1, 'Calculator'),
    );
    const first = proxy.fired.once();
    const other = second.volume.watch(() => {});
    const again = second.fired.once();
    await other;
    await new Promise((r) => setTimeout(r, 20));
    object.emit('fired', 5, 'both');
    assert.deepEqual(await first, [5, 'both']);
    assert.deepEqual(await again, [5, 'both']);
    client.close();
  });
});

describe('posts to failing methods', () => {
  it('leave no unhandled rejection on the server (async and sync failures alike)', async () => {
    const { proxy, client, backend } = await served();
    const seen: unknown[] = [];
    const onUnhandled = (e: unknown) => seen.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      backend.post('fail', ['posted']);
      backend.post('slow', [-1]);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await proxy.add(1, 1), 2, 'the server is still serving');
      assert.deepEqual(seen, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      client.close();
    }
  });
});
