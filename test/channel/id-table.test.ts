/** The table of calls by message id: the same answers as a Map under random use, growth and shrinking included. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdTable } from '../../src/channel/id-table.js';

/** A small deterministic generator (the same run every time). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
}

describe('IdTable', () => {
  it('agrees with a Map under random sets, takes and lookups, across the uint32 range', () => {
    const t = new IdTable<number>();
    const m = new Map<number, number>();
    const next = lcg(7);
    // Ids from a small range (many collisions and removals) and from the whole uint32 range.
    for (let i = 0; i < 100_000; i++) {
      const id = i % 3 === 0 ? next() : next() % 700;
      switch (next() % 4) {
        case 0:
        case 1:
          t.set(id, i);
          m.set(id, i);
          break;
        case 2: {
          const had = m.get(id);
          m.delete(id);
          assert.equal(t.take(id), had);
          break;
        }
        default:
          assert.equal(t.get(id), m.get(id));
          assert.equal(t.has(id), m.has(id));
      }
      assert.equal(t.size, m.size);
    }
    assert.deepEqual(
      t.valueList().sort((a, b) => a - b),
      [...m.values()].sort((a, b) => a - b),
    );
  });

  it('grows to thousands of ids, shrinks back, and keeps every id reachable', () => {
    const t = new IdTable<string>();
    for (let round = 0; round < 3; round++) {
      for (let id = 1; id <= 5000; id++) t.set(id * 4096, `v${id}`); // ids sharing their low bits
      assert.equal(t.size, 5000);
      for (let id = 1; id <= 5000; id++) assert.equal(t.get(id * 4096), `v${id}`);
      for (let id = 1; id <= 4990; id++) assert.equal(t.take(id * 4096), `v${id}`);
      assert.equal(t.size, 10);
      for (let id = 4991; id <= 5000; id++) assert.equal(t.get(id * 4096), `v${id}`);
      assert.equal(t.take(1), undefined);
      t.clear();
      assert.equal(t.size, 0);
      assert.equal(t.get(5000 * 4096), undefined);
    }
  });

  it('counts an id set twice once and takes it once', () => {
    const t = new IdTable<boolean>();
    t.set(0, true);
    t.set(0xffff_ffff, true);
    t.set(0, false);
    assert.equal(t.size, 2);
    assert.equal(t.take(0), false);
    assert.equal(t.delete(0), false);
    assert.equal(t.delete(0xffff_ffff), true);
    assert.equal(t.size, 0);
  });
});
