/**
 * Bounded fuzzing of the decoder (deterministic seed, ~2 s): random bytes, truncations and mutations of
 * valid encodings, random dynamic signatures and signature text. Only QiError subclasses may escape; no
 * input may be slow; lying counts must fail fast without allocating. The long version is scripts/fuzz.ts.
 */
import assert from 'node:assert/strict';
import { gc } from '../helpers/gc.js';
import { describe, it } from 'node:test';
import { Dynamic, QiDecodeError, decode, encode } from '../../src/index.js';
import { MAX_EMPTY_ELEMENTS } from '../../src/wire.js';
import { seededRun, typeTargets } from '../helpers/arbitraries.js';

const SEED = 0x5eed;
/** Inputs per target: together about 1.5 s; each target also stops at its time cap (slow or loaded machines). */
const INPUTS: Record<string, number> = {
  'type/random-bytes': 1_500, // slower: counts near 2^20 of zero-size elements are common here
  'type/truncate': 10_000,
  'type/mutate': 5_000,
  'type/dynamic': 3_000,
  'type/signature-text': 15_000,
};
const TIME_CAP_MS = 1_000;

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const str = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);

/**
 * Runs `f`, returning its outcome with the time taken and how much the heap and array buffers grew while it
 * ran (no GC in between, so garbage it made still counts: this approximates its peak).
 */
function measure(f: () => unknown): { error?: unknown; ms: number; heapMB: number; arrayBuffersMB: number } {
  gc({ type: 'minor', execution: 'sync' });
  const m0 = process.memoryUsage();
  const t0 = performance.now();
  let error: unknown;
  let result: unknown;
  try {
    result = f();
  } catch (e) {
    error = e;
  }
  const ms = performance.now() - t0;
  const m1 = process.memoryUsage();
  void result;
  return {
    error,
    ms,
    heapMB: (m1.heapUsed - m0.heapUsed) / 2 ** 20,
    arrayBuffersMB: (m1.arrayBuffers - m0.arrayBuffers) / 2 ** 20,
  };
}

describe('decoder fuzzing (bounded, seeded)', () => {
  const targets = typeTargets(SEED);
  for (const target of targets) {
    it(`${target.name}: only QiErrors, no slow input`, () => {
      const run = seededRun(target, SEED, INPUTS[target.name], TIME_CAP_MS);
      assert.ok(run.inputs >= 200, `only ${run.inputs} inputs ran`);
      assert.equal(run.findings.length, 0, run.findings.map((f) => f.message).join('\n'));
    });
  }
});

describe('lying sizes fail fast and allocate nothing', () => {
  const liars: [string, Buffer][] = [
    ['[i]', u32(0xffff_ffff)],
    ['[b]', u32(0xffff_ffff)],
    ['#i', u32(0xffff_ffff)],
    ['[m]', u32(0xffff_ffff)],
    ['[[i]]', u32(0xffff_ffff)],
    ['[o]', u32(0xffff_ffff)],
    ['{si}', u32(0xffff_ffff)],
    ['{bb}', u32(0xffff_ffff)],
    ['s', u32(0xffff_ffff)],
    ['s', Buffer.concat([u32(0x8000_0000), Buffer.alloc(100)])],
    ['r', u32(0xffff_ffff)],
    ['[s]', Buffer.concat([u32(3), u32(0xffff_ffff)])],
    ['[v]', u32(0xffff_ffff)],
    ['[()]', u32(MAX_EMPTY_ELEMENTS + 1)],
    ['{vv}', u32(0xffff_ffff)],
    ['[(v_)]', u32(0x8000_0000)],
    ['m', u32(0xffff_ffff)], // signature string of 4 GB
    ['m', Buffer.concat([str('[i]'), u32(0xffff_ffff)])],
    ['m', Buffer.concat([str('[v]'), u32(0xffff_ffff)])],
    ['m', Buffer.concat([str('{sr}'), u32(1), str('k'), u32(0xffff_ffff)])],
    ['(sI[s]s)<P,a,b,c,d>', Buffer.concat([str('x'), u32(1), u32(0xffff_ffff)])],
  ];
  for (const [sig, bytes] of liars) {
    it(`${sig} ${bytes.subarray(0, 24).toString('hex')}`, () => {
      const r = measure(() => decode(sig, bytes));
      assert.ok(r.error instanceof QiDecodeError, `expected a QiDecodeError, got ${r.error}`);
      assert.ok(r.ms < 50, `took ${r.ms.toFixed(1)} ms`);
      assert.ok(r.heapMB < 4, `heap grew by ${r.heapMB.toFixed(1)} MB`);
      assert.ok(r.arrayBuffersMB < 1, `array buffers grew by ${r.arrayBuffersMB.toFixed(1)} MB`);
    });
  }

  it('a 1 MiB raw value decodes as a view: no copy', () => {
    const payload = encode('r', new Uint8Array(1 << 20).fill(7));
    const r = measure(() => decode<Buffer>('r', payload));
    assert.equal(r.error, undefined);
    assert.ok(r.arrayBuffersMB < 0.5, `array buffers grew by ${r.arrayBuffersMB.toFixed(1)} MB`);
  });

  it('dynamic nesting over MAX_NESTING_DEPTH is a QiDecodeError', () => {
    let bytes = u32(0); // the empty dynamic
    for (let i = 0; i < 1001; i++) bytes = Buffer.concat([str('m'), bytes]);
    assert.throws(() => decode('m', bytes), QiDecodeError);
  });

  // Zero-size elements cannot be bounded by bytes; nested lists of them must share one budget, or 20 bytes
  // of `[[v]]` would hold 4 × MAX_EMPTY_ELEMENTS elements and 400 bytes a hundred times that.
  it('nested lists of zero-size elements share one budget per decode', () => {
    for (const [sig, n] of [
      ['[[v]]', 4],
      ['[[()]]', 3],
      ['[{vv}]', 2],
      ['[m]', 0],
    ] as const) {
      const inner = sig === '[m]' ? Buffer.concat([str('[v]'), u32(MAX_EMPTY_ELEMENTS)]) : u32(MAX_EMPTY_ELEMENTS);
      const count = sig === '[m]' ? 3 : n;
      const bytes = Buffer.concat([u32(count), ...Array.from({ length: count }, () => inner)]);
      const r = measure(() => decode(sig, bytes));
      assert.ok(r.error instanceof QiDecodeError, `${sig}: expected a QiDecodeError, got ${r.error ?? 'a value'}`);
      assert.ok(r.ms < 100, `${sig}: took ${r.ms.toFixed(0)} ms for ${bytes.length} bytes`);
      assert.ok(r.heapMB < 16, `${sig}: heap grew by ${r.heapMB.toFixed(0)} MB for ${bytes.length} bytes`);
    }
  });

  // MAX_NESTING_DEPTH must bound the nesting of dynamics times the depth of their signatures: ~50 KB of
  // dynamics each holding a 100-deep list used to overflow the stack (a RangeError out of decode).
  it('deeply nested containers inside nested dynamics are a QiDecodeError, not a stack overflow', () => {
    for (const [depth, levels] of [
      [100, 100],
      [999, 20],
      [1, 5000],
    ]) {
      const sig = '['.repeat(depth) + 'm' + ']'.repeat(depth);
      const level = Buffer.concat([str(sig), ...Array.from({ length: depth }, () => u32(1))]);
      const bytes = Buffer.concat([...Array.from({ length: levels }, () => level), u32(0)]);
      let error: unknown;
      try {
        decode('m', bytes);
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof QiDecodeError, `depth ${depth} × ${levels} levels: ${error ?? 'decoded'}`);
    }
  });

  // Compiling a signature must cost about its length: a 2 KB signature of 999 nested tuples took ~300 ms,
  // so a peer sending fresh deep signatures in dynamics could hold the event loop at will.
  it('a deep signature arriving in a dynamic compiles in linear time', () => {
    for (const [open, close] of [
      ['(', ')'],
      ['[', ']'],
      ['{b', '}'],
    ]) {
      const depth = 999;
      const sig = open.repeat(depth) + `m<Fresh${Math.random().toString(36).slice(2)}>` + close.repeat(depth);
      const prefix =
        open === '('
          ? []
          : open === '['
            ? Array.from({ length: depth }, () => u32(1))
            : Array.from({ length: depth }, () => Buffer.concat([u32(1), Buffer.from([1])]));
      const bytes = Buffer.concat([str(sig), ...prefix, u32(0)]);
      const r = measure(() => decode('m', bytes));
      assert.equal(r.error, undefined);
      assert.ok(
        r.ms < 50,
        `${open}…${close} ×${depth} (${bytes.length} bytes): first decode took ${r.ms.toFixed(0)} ms`,
      );
    }
  });

  it('a dynamic in a dynamic re-encodes to the same bytes (sanity for the nesting tests)', () => {
    const bytes = encode('m', new Dynamic('m', new Dynamic('[i]', [1, 2])));
    assert.equal(encode('m', decode('m', bytes)).toString('hex'), bytes.toString('hex'));
  });
});
