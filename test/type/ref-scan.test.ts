/**
 * The reference scanner (src/type/ref-scan.ts): finds the same object references as a full decode, at
 * offsets where their ids really are, without decoding; fails where the decoder fails; stops at its budget;
 * and skips data that cannot hold references in one step.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  Dynamic,
  ObjectReference,
  QiDecodeError,
  QiError,
  QiScanBudgetError,
  decode,
  encode,
} from '../../src/index.js';
import { createMetaObjectCache, emptyMetaObject, mayHoldReferences, scanReferences } from '../../src/wire.js';
import { Rng, mutate, sampleMetaObject, sigValueArb } from '../helpers/arbitraries.js';

const BIG = 1e9;

/** The non-null references of a decoded value, in encoding order. */
function refsOf(v: unknown, out: ObjectReference[] = []): ObjectReference[] {
  if (v instanceof ObjectReference) {
    if (!v.isNull) out.push(v);
  } else if (v instanceof Dynamic) refsOf(v.value, out);
  else if (Array.isArray(v)) for (const x of v) refsOf(x, out);
  else if (v instanceof Map)
    for (const [k, x] of v) {
      refsOf(k, out);
      refsOf(x, out);
    }
  else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v))
    for (const x of Object.values(v)) refsOf(x, out);
  return out;
}

const ref = (object: number, service = 7, meta = sampleMetaObject()) => new ObjectReference(meta, service, object);

describe('type: scanning for object references', () => {
  it('finds what a full decode finds, where it is, with and without object uids (property)', () => {
    for (const objectUid of [false, true]) {
      fc.assert(
        fc.property(sigValueArb({ maxDepth: 3 }), ({ text, value }) => {
          const bytes = encode(text, value, { objectUid });
          const want = refsOf(decode(text, bytes, { objectUid })).map((r) => [r.serviceId, r.objectId]);
          const sites = scanReferences(text, bytes, { objectUid }, BIG);
          assert.deepEqual(
            sites.map((s) => [s.serviceId, s.objectId]),
            want,
          );
          for (const s of sites)
            assert.deepEqual(
              [bytes.readUInt32LE(s.offset), bytes.readUInt32LE(s.offset + 4)],
              [s.serviceId, s.objectId],
            );
        }),
        { numRuns: 400, seed: 0x5ca9 },
      );
    }
  });

  it('finds references inside dynamics, nested dynamics, maps and optionals', () => {
    const value = [
      new Dynamic('[m]', [new Dynamic('o', ref(3)), new Dynamic('s', 'x'), new Dynamic('(io)', [1, ref(4)])]),
      new Map([
        ['k', ref(5)],
        ['null', ref(0)],
      ]),
      ref(6, 9, emptyMetaObject()),
      null,
    ];
    const sig = '(m{so}o+o)';
    const bytes = encode(sig, value, { objectUid: false });
    assert.deepEqual(
      scanReferences(sig, bytes, { objectUid: false }, BIG).map((s) => s.objectId),
      [3, 4, 5, 6],
    );
    // Offsets count from `start`: the same value inside a larger buffer.
    const padded = Buffer.concat([Buffer.alloc(10, 0xee), bytes, Buffer.alloc(3)]);
    const sites = scanReferences(sig, padded, { objectUid: false }, BIG, 10, 10 + bytes.length);
    assert.deepEqual(
      sites.map((s) => bytes.readUInt32LE(s.offset + 4)),
      [3, 4, 5, 6],
    );
  });

  it('fails where the decoder fails, never with anything but a qi error (mutated encodings)', () => {
    const rng = new Rng(0x5ca9);
    const samples = fc.sample(sigValueArb({ maxDepth: 3 }), { numRuns: 300, seed: 0x5ca9 });
    let failures = 0;
    for (const { text, value } of samples) {
      const bytes = encode(text, value, { objectUid: false });
      for (let i = 0; i < 10; i++) {
        const bad = mutate(rng, bytes);
        let decoded: unknown;
        let decodeError: unknown;
        try {
          decoded = decode(text, bad, { objectUid: false, allowTrailing: true });
        } catch (e) {
          decodeError = e;
        }
        let scanned: ReturnType<typeof scanReferences> | undefined;
        try {
          scanned = scanReferences(text, bad, { objectUid: false }, BIG);
        } catch (e) {
          assert.ok(e instanceof QiError, `only qi errors, got ${String(e)}`);
          assert.ok(decodeError !== undefined, `the scan failed (${(e as Error).message}) where the decoder did not`);
          failures++;
          continue;
        }
        assert.equal(
          decodeError,
          undefined,
          `the decoder failed (${(decodeError as Error)?.message}) where the scan did not`,
        );
        assert.deepEqual(
          scanned.map((s) => s.objectId),
          refsOf(decoded).map((r) => r.objectId),
        );
      }
    }
    assert.ok(failures > 100, `mutations do break encodings (${failures})`);
  });

  it('stops at its budget, and skips fixed-size data and raw bytes in one step', () => {
    const voids = new Dynamic('[m]', new Array(10_000).fill(Dynamic.VOID));
    const bytes = encode('m', voids);
    assert.throws(
      () => scanReferences('m', bytes, {}, 5_000),
      (e: unknown) => e instanceof QiScanBudgetError && e.code === 'ERR_QI_LIMIT' && /5000/.test(e.message),
    );
    assert.deepEqual(scanReferences('m', bytes, {}, 30_000), []);
    const data = encode(
      'm',
      new Dynamic('([d]{ii}r[(ib)])', [
        new Array(100_000).fill(1),
        new Map([
          [1, 2],
          [3, 4],
        ]),
        new Uint8Array(1 << 20),
        [[1, true]],
      ]),
    );
    assert.deepEqual(
      scanReferences('m', data, {}, 30),
      [],
      'a handful of steps for 900 KiB of numbers and 1 MiB of raw bytes',
    );
  });

  it('bounds the nesting of dynamics with the decoder limit, and refuses lying counts before looping', () => {
    // 1200 dynamics each holding a list of one dynamic: deeper than MAX_NESTING_DEPTH.
    const chunks: Buffer[] = [];
    for (let i = 0; i < 1200; i++) chunks.push(Buffer.from([3, 0, 0, 0, 0x5b, 0x6d, 0x5d, 1, 0, 0, 0]));
    chunks.push(Buffer.from([1, 0, 0, 0, 0x69, 1, 0, 0, 0]));
    const nested = Buffer.concat(chunks);
    assert.throws(() => decode('m', nested), QiDecodeError);
    assert.throws(
      () => scanReferences('m', nested, {}, BIG),
      (e: unknown) => e instanceof QiDecodeError && /nest deeper/.test(e.message),
    );
    const lying = Buffer.from([3, 0, 0, 0, 0x5b, 0x6d, 0x5d, 0xff, 0xff, 0xff, 0xff]);
    const t0 = performance.now();
    assert.throws(() => scanReferences('m', lying, {}, BIG), QiDecodeError);
    assert.ok(performance.now() - t0 < 50);
    assert.throws(() => scanReferences('X', Buffer.alloc(4), {}, BIG), QiDecodeError);
  });

  it('counts the signatures of dynamics against the budget: fresh deep signatures cannot make it parse for long', () => {
    const items: Buffer[] = [Buffer.from([3, 0, 0, 0, 0x5b, 0x6d, 0x5d, 0xe8, 3, 0, 0])]; // [m] of 1000
    for (let i = 0; i < 1000; i++) {
      const sig = Buffer.from(`${'['.repeat(600)}m<N${i}>${']'.repeat(600)}`);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(sig.length);
      items.push(len, sig, Buffer.alloc(4)); // an empty outer list
    }
    const bytes = Buffer.concat(items);
    const t0 = performance.now();
    assert.throws(() => scanReferences('m', bytes, {}, 1_000_000), QiScanBudgetError);
    assert.ok(performance.now() - t0 < 2000, `refused in ${(performance.now() - t0).toFixed(0)} ms`);
    assert.deepEqual(scanReferences('m', bytes, {}, 2_000_000), [], 'within a larger budget it is only data');
  });

  it('refuses the MetaObject cache layout, and tells which signatures may hold references', () => {
    assert.throws(
      () => scanReferences('o', Buffer.alloc(40), { metaObjectCache: createMetaObjectCache() }, BIG),
      QiError,
    );
    for (const s of ['o', 'm', '[(so)]', '{sm}', '+o', '(i(s[o]))<A,x,y>']) assert.equal(mayHoldReferences(s), true, s);
    for (const s of ['i', '[s]', '{s(ii)}', '(ii)<Point,x,y>', 'r', '+[d]'])
      assert.equal(mayHoldReferences(s), false, s);
  });
});
