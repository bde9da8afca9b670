/** CPU-heavy methods in a worker-thread pool: the event loop stays free, cancellation reaches the thread. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LocalObject, QiCanceledError, defineObject, inWorker, method, t } from '../../src/index.js';
import { InProcessBackend, createProxy } from '../../src/wire.js';
import { served } from './fixtures.js';

const Heavy = defineObject({
  methods: {
    fib: method([t.int32], t.tuple(t.int32, t.int32)),
    spin: method([t.int32], t.int32),
    light: method([], t.string),
  },
});

const object = new LocalObject(
  Heavy,
  { fib: inWorker, spin: inWorker, light: () => 'main thread' },
  {
    workers: { module: new URL('./fixtures/heavy.js', import.meta.url), methods: ['fib', 'spin'], size: 2 },
  },
);
after(() => object.pool?.close());

describe('worker pool', () => {
  const proxy = createProxy<typeof Heavy>(new InProcessBackend(object, 'Heavy'));

  it('runs listed methods in another thread', async () => {
    const [value, thread] = await proxy.fib(25);
    assert.equal(value, 75025);
    assert.notEqual(thread, 0, 'threadId 0 is the main thread');
  });

  it('keeps the event loop free while a heavy call runs', async () => {
    const heavy = proxy.spin(400);
    const t0 = Date.now();
    assert.equal(await proxy.light(), 'main thread');
    assert.ok(Date.now() - t0 < 100, `a light call waited ${Date.now() - t0} ms behind a heavy one`);
    assert.equal(await heavy, 400);
  });

  it('cancels a call running in a worker', async () => {
    const ac = new AbortController();
    const p = proxy.spin(10_000, ac.signal);
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, QiCanceledError);
    const t0 = Date.now();
    assert.equal(await proxy.spin(10), 10, 'the thread is free again');
    assert.ok(Date.now() - t0 < 1000);
  });

  it('works for remote callers too', async () => {
    const { proxy: remote, client } = await served(object as unknown as LocalObject<never>);
    const r = remote as unknown as { fib(n: number): Promise<[number, number]> };
    assert.equal((await r.fib(20))[0], 6765);
    client.close();
  });
});
