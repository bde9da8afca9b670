/**
 * Bounded fuzzing of message framing (deterministic seed, ~2 s): random bytes, valid streams cut at random
 * and mutated streams, pushed through FrameReader in random chunk splits. Only QiProtocolError may escape,
 * any chunking must behave like one push, and a lying size must never be allocated up front.
 */
import assert from 'node:assert/strict';
import { gc } from '../helpers/gc.js';
import { describe, it } from 'node:test';
import { QiProtocolError } from '../../src/index.js';
import { FrameReader, HEADER_SIZE, Message, parseMessages, writeHeader } from '../../src/wire.js';
import { Rng, messageTargets, randomSplit, randomStream, seededRun } from '../helpers/arbitraries.js';

const SEED = 0xf4a3e;
const INPUTS: Record<string, number> = {
  'message/random-bytes': 20_000,
  'message/split': 12_000,
  'message/mutate': 10_000,
};
const TIME_CAP_MS = 1_000;

function header(size: number, fields: Partial<{ id: number; version: number; type: number }> = {}): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  writeHeader(b, 0, {
    id: fields.id ?? 1,
    size,
    version: fields.version ?? 0,
    type: fields.type ?? 1,
    flags: 0,
    service: 1,
    object: 1,
    action: 100,
  });
  return b;
}

/**
 * Memory growth (MB) while `f` runs: what it allocated (`retained` false: no GC before the second reading),
 * or what it still holds after a full GC (`retained` true). What `f` returns is kept alive until measured.
 */
function growth(f: () => unknown, retained = false): { heapMB: number; arrayBuffersMB: number; kept: unknown } {
  gc();
  const m0 = process.memoryUsage();
  const kept = f();
  if (retained) gc();
  const m1 = process.memoryUsage();
  return {
    heapMB: (m1.heapUsed - m0.heapUsed) / 2 ** 20,
    arrayBuffersMB: (m1.arrayBuffers - m0.arrayBuffers) / 2 ** 20,
    kept,
  };
}

describe('framing fuzzing (bounded, seeded)', () => {
  for (const target of messageTargets()) {
    it(`${target.name}: only QiProtocolErrors, chunking-independent, no slow input`, () => {
      const run = seededRun(target, SEED, INPUTS[target.name], TIME_CAP_MS);
      assert.ok(run.inputs >= 200, `only ${run.inputs} inputs ran`);
      assert.equal(run.findings.length, 0, run.findings.map((f) => f.message).join('\n'));
    });
  }

  it('every chunking of a valid stream delivers the same messages as parseMessages', () => {
    const rng = new Rng(SEED);
    for (let i = 0; i < 300; i++) {
      const { messages, bytes } = randomStream(rng);
      const expected = parseMessages(bytes).map((m) => m.toBuffer().toString('hex'));
      assert.deepEqual(
        expected,
        messages.map((m) => m.toBuffer().toString('hex')),
      );
      const got: Message[] = [];
      const r = new FrameReader((m) => got.push(m), { maxPayload: 1 << 20 });
      for (const c of randomSplit(rng, bytes)) r.push(c);
      r.end();
      assert.deepEqual(
        got.map((m) => m.toBuffer().toString('hex')),
        expected,
      );
    }
  });
});

describe('framing limits', () => {
  for (const split of [false, true]) {
    it(`a 4 GB size with maxPayload 1 MiB is 'too-large' before anything is allocated${split ? ' (header in 1-byte chunks)' : ''}`, () => {
      const h = header(0xffff_ffff);
      const r = new FrameReader(() => assert.fail('no message expected'), { maxPayload: 1 << 20 });
      let ms = 0;
      const g = growth(() => {
        const t0 = performance.now();
        try {
          if (split) for (const b of h) r.push(Buffer.from([b]));
          else r.push(Buffer.concat([h, Buffer.alloc(64)]));
          return undefined;
        } catch (e) {
          return e;
        } finally {
          ms = performance.now() - t0;
        }
      });
      const err = g.kept;
      assert.ok(err instanceof QiProtocolError, `expected a QiProtocolError, got ${err}`);
      assert.equal(err.fault, 'too-large');
      assert.equal(err.code, 'ERR_QI_PROTOCOL');
      assert.equal(err.streamOffset, 0);
      assert.ok(ms < 50, `took ${ms.toFixed(1)} ms`);
      assert.ok(g.arrayBuffersMB < 0.25, `array buffers grew by ${g.arrayBuffersMB.toFixed(2)} MB`);
      assert.ok(g.heapMB < 2, `heap grew by ${g.heapMB.toFixed(2)} MB`);
      assert.throws(
        () => r.push(Buffer.alloc(1)),
        (e: unknown) => e === err,
        'a failed reader keeps failing',
      );
    });
  }

  it('a size under the limit whose bytes never come allocates nothing big, and end() says truncated', () => {
    const size = 40_000_000;
    const g = growth(() => {
      const r = new FrameReader(() => assert.fail('no message expected'), { maxPayload: 50_000_000 });
      r.push(Buffer.concat([header(size), Buffer.alloc(100, 1)]));
      for (let i = 0; i < 100; i++) r.push(Buffer.alloc(10, 2));
      return r;
    }, true);
    const r = g.kept as FrameReader;
    assert.ok(g.arrayBuffersMB < 1, `array buffers grew by ${g.arrayBuffersMB.toFixed(1)} MB for 1,128 bytes received`);
    assert.ok(g.heapMB < 2, `heap grew by ${g.heapMB.toFixed(1)} MB`);
    assert.equal(r.pending, true);
    assert.throws(
      () => r.end(),
      (e: unknown) => e instanceof QiProtocolError && e.fault === 'truncated',
    );
  });

  it('the default limit (50,000,000) rejects a bigger size, accepts the limit', () => {
    assert.throws(
      () => new FrameReader(() => {}).push(header(50_000_001)),
      (e: unknown) => e instanceof QiProtocolError && e.fault === 'too-large',
    );
    const r = new FrameReader(() => assert.fail('no message expected'));
    r.push(header(50_000_000));
    assert.equal(r.pending, true);
  });

  it('bad magic and bad version are reported with their stream offset', () => {
    const ok = Buffer.concat([header(3), Buffer.from('abc')]);
    const badMagic = Buffer.concat([ok, Buffer.from('GET / HTTP/1.1\r\n\r\n0123456789')]);
    assert.throws(
      () => parseMessages(badMagic),
      (e: unknown) => e instanceof QiProtocolError && e.fault === 'bad-magic' && e.streamOffset === ok.length,
    );
    const badVersion = Buffer.concat([ok, header(0, { version: 1 })]);
    assert.throws(
      () => parseMessages(badVersion),
      (e: unknown) => e instanceof QiProtocolError && e.fault === 'bad-version' && e.streamOffset === ok.length,
    );
  });

  // Keeping one Buffer view per received chunk costs ~100 bytes of heap per 1-byte chunk: a peer trickling
  // a 50 MB payload would pin ~5 GB. Small pieces must be copied together.
  it('a payload trickling in 1-byte chunks costs memory proportional to its size', () => {
    const size = 128 * 1024;
    const src = Buffer.alloc(size, 9);
    const g = growth(() => {
      const r = new FrameReader(() => {}, { maxPayload: 1 << 20 });
      r.push(header(size + 1));
      for (let i = 0; i < size; i++) r.push(Buffer.from(src.subarray(i, i + 1)));
      return r;
    }, true);
    assert.ok(
      g.heapMB < 8 * (size / 2 ** 20),
      `heap grew by ${g.heapMB.toFixed(1)} MB for ${size / 1024} KiB received`,
    );
  });
});
