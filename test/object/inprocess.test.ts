/** In-process calls (LPC): the same proxy API straight into a LocalObject, with no bytes encoded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QiCallError, QiCanceledError } from '../../src/index.js';
import { InProcessBackend, Writer, createProxy } from '../../src/wire.js';
import { Calculator, calculator, type CalcState } from './fixtures.js';

function inProcess(state?: CalcState) {
  const object = calculator(state);
  return { object, proxy: createProxy<typeof Calculator>(new InProcessBackend(object, 'Calculator')) };
}

/** Runs `fn` while counting every buffer the codec produces. */
async function countEncodings(fn: () => Promise<void>): Promise<number> {
  const proto = Writer.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const finish = proto.finish,
    chunks = proto.finishChunks;
  let n = 0;
  proto.finish = function (this: Writer, ...a: unknown[]) {
    n++;
    return finish.apply(this, a);
  };
  proto.finishChunks = function (this: Writer, ...a: unknown[]) {
    n++;
    return chunks.apply(this, a);
  };
  try {
    await fn();
  } finally {
    proto.finish = finish;
    proto.finishChunks = chunks;
  }
  return n;
}

describe('in-process calls', () => {
  it('calls, signals and properties without encoding a single byte', async () => {
    const { object, proxy } = inProcess();
    const raw = Buffer.from('no copy');
    const encodings = await countEncodings(async () => {
      assert.equal(await proxy.add(2, 3), 5);
      assert.equal(await proxy.echoRaw(raw), raw, 'the very same buffer comes back: nothing was serialized');
      const got = proxy.fired.once();
      await new Promise((r) => setTimeout(r, 5));
      object.emit('fired', 3, 'x');
      assert.deepEqual(await got, [3, 'x']);
      await proxy.volume.set(0.125);
      assert.equal(await proxy.volume.get(), 0.125);
    });
    assert.equal(encodings, 0);
  });

  it('keeps remote semantics: asynchronous, errors as QiCallError, cancellation', async () => {
    const state: CalcState = { aborted: 0, order: [] };
    const { proxy } = inProcess(state);
    let settled = false;
    const p = proxy.add(1, 1).then(() => (settled = true));
    assert.equal(settled, false, 'a call never completes synchronously');
    await p;
    await assert.rejects(
      proxy.fail('local'),
      (e: unknown) => e instanceof QiCallError && e.message === 'Calculator.fail failed: failed on purpose: local',
    );
    const ac = new AbortController();
    const slow = proxy.slow(5000, ac.signal);
    ac.abort();
    await assert.rejects(slow, QiCanceledError);
    assert.equal(state.aborted, 1);
    await assert.rejects(proxy.slow(5000, { timeoutMs: 20 }), /got no answer within 20 ms/);
  });

  it('delivers signal emissions asynchronously, never inside emit()', async () => {
    const { object, proxy } = inProcess();
    const seen: number[] = [];
    await proxy.fired.connect((n) => seen.push(n));
    object.emit('fired', 1, 'a');
    assert.deepEqual(seen, []);
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(seen, [1]);
  });
});
