/** toJsonValue: the one qi → JSON walk, and the options by which its callers differ. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dynamic, ObjectReference, emptyMetaObject, parseSignature, toJsonValue } from '../../src/type/index.js';
import type { JsonOptions } from '../../src/type/index.js';

const base: JsonOptions = { bigint: 'safe', bytes: (b) => Array.from(b) };

describe('toJsonValue', () => {
  it('unwraps dynamics (nested too), writes lists as arrays and structs by field', () => {
    const v = { a: [1, new Dynamic('m', new Dynamic('s', 'x'))], b: null, c: undefined };
    assert.deepEqual(toJsonValue(v, base), { a: [1, 'x'], b: null, c: null });
    assert.deepEqual(toJsonValue(v, { ...base, structs: 'array' }), [[1, 'x'], null, null]);
    assert.equal(JSON.stringify(toJsonValue(v, { ...base, keepUndefined: true })), '{"a":[1,"x"],"b":null}');
  });

  it('writes bigints as numbers, or as text when a number would not be exact', () => {
    assert.deepEqual(toJsonValue([5n, 2n ** 60n], base), [5, '1152921504606846976']);
    assert.deepEqual(toJsonValue([5n, 2n ** 60n], { ...base, bigint: 'number' }), [5, 2 ** 60]);
  });

  it('gives raw bytes to the caller, and typed arrays as arrays when asked', () => {
    const bytes = (b: Uint8Array) => `${b.length} bytes`;
    assert.deepEqual(toJsonValue([Buffer.from([1, 2]), new Uint8Array(3)], { ...base, bytes }), ['2 bytes', '3 bytes']);
    assert.deepEqual(toJsonValue(new Float32Array([0.5]), base), { 0: 0.5 });
    assert.deepEqual(toJsonValue(new Float32Array([0.5, NaN]), { ...base, typedArrays: true, strict: true }), [
      0.5,
      null,
    ]);
    assert.equal(toJsonValue(new Uint8Array([7]).buffer, { ...base, typedArrays: true, bytes }), '1 bytes');
  });

  it('leaves NaN and functions to JSON.stringify unless strict', () => {
    const v = [NaN, Infinity, () => 1];
    assert.equal(JSON.stringify(toJsonValue(v, base)), '[null,null,null]');
    assert.deepEqual(toJsonValue(v, { ...base, strict: true }), [null, null, null]);
    assert.ok(Number.isNaN((toJsonValue(v, base) as unknown[])[0]));
  });

  it('writes maps as objects, or as key/value pairs when a key is not a scalar', () => {
    const scalar = new Map<unknown, unknown>([
      [1, 'a'],
      [new Dynamic('s', 'k'), 'b'],
    ]);
    const pairs = new Map([[[1, 2], 'p']]);
    assert.deepEqual(toJsonValue(scalar, base), { 1: 'a', '[object Object]': 'b' });
    assert.deepEqual(toJsonValue(scalar, { ...base, maps: 'object-or-pairs' }), { 1: 'a', k: 'b' });
    assert.deepEqual(toJsonValue(pairs, { ...base, maps: 'object-or-pairs' }), [{ key: [1, 2], value: 'p' }]);
    assert.deepEqual(toJsonValue(pairs, { ...base, mapKey: (k) => JSON.stringify(k) }), { '[1,2]': 'p' });
  });

  it('asks the caller about objects that are not bytes, lists or maps', () => {
    const ref = new ObjectReference(emptyMetaObject(), 1, 2);
    const object = (v: object) => (v instanceof ObjectReference ? 'an object' : undefined);
    assert.deepEqual(toJsonValue({ r: ref, s: { x: 1 } }, { ...base, object }), { r: 'an object', s: { x: 1 } });
  });

  it('stops at the depth limit', () => {
    let v: unknown = 1;
    for (let i = 0; i < 5; i++) v = [v];
    assert.deepEqual(toJsonValue(v, { ...base, maxDepth: 3 }), [[[[null]]]]);
  });

  it('writes float32 values as their shortest decimal, by the signature given or a dynamic’s own', () => {
    const f = Math.fround(0.8);
    assert.deepEqual(toJsonValue([f], base, parseSignature('[f]')), [0.8]);
    assert.deepEqual(toJsonValue({ x: f }, base, parseSignature('(f)<P,x>')), { x: 0.8 });
    assert.deepEqual(toJsonValue(new Dynamic('f', f), base), f);
    assert.deepEqual(toJsonValue(new Dynamic('f', f), { ...base, typed: true }), 0.8);
    assert.deepEqual(toJsonValue(new Map([['a', f]]), base, parseSignature('{sf}')), { a: 0.8 });
  });
});
