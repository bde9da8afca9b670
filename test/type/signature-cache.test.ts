/**
 * Signatures invented by a peer (every dynamic value carries one) must not hold memory without bound:
 * the caches of parsed and compiled signatures are bounded by the total length of their keys. Found by
 * the fuzzer: 3,000 distinct 3.6 kB signatures held 1.2 GB of heap.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dynamic, compile, decode, encode } from '../../src/index.js';
import { SignatureCache } from '../../src/type/signature-cache.js';
import { gc } from '../helpers/gc.js';

describe('signature caches', () => {
  it('stay bounded when every message brings a new large signature', () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const body = 'i[s]{sm}(ff)'.repeat(300);
    for (let i = 0; i < 1500; i++) {
      // A dynamic with a fresh 3.6 kB signature, decoded as a server decodes a peer's value.
      const sig = `(${i.toString(2).replace(/0/g, 's').replace(/1/g, 'i')}(${body}))`;
      assert.equal(compile(sig).signature, sig);
    }
    const bytes = encode('m', new Dynamic('(i)', [7]));
    assert.deepEqual((decode('m', bytes) as Dynamic).value, [7]);
    gc();
    const grown = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    assert.ok(grown < 96, `heap grew by ${grown.toFixed(0)} MiB after 1,500 distinct 3.6 kB signatures`);
  });

  it('keeps what fits and starts over past its budget', () => {
    const c = new SignatureCache<number>(100, 40);
    c.set('x'.repeat(41), 1);
    assert.equal(c.size, 0, 'a key longer than maxKey is not cached');
    for (let i = 0; i < 3; i++) c.set(String(i).repeat(30), i);
    assert.equal(c.size, 3);
    c.set('y'.repeat(30), 9);
    assert.equal(c.size, 1, 'past 100 characters of keys the cache starts over');
    assert.equal(c.get('y'.repeat(30)), 9);
  });
});
