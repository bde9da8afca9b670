/** shortestFloat32: how a float32 is shown (the `qi` command line and the web dashboard). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shortestFloat32 } from '../../src/type/index.js';

describe('shortestFloat32', () => {
  it('gives the shortest decimal that is the same float32', () => {
    assert.equal(shortestFloat32(Math.fround(0.8)), 0.8);
    assert.equal(shortestFloat32(Math.fround(0.1)), 0.1);
    assert.equal(shortestFloat32(Math.fround(3.4028234663852886e38)), 3.4028235e38);
    assert.equal(shortestFloat32(Math.fround(1e-45)), 1e-45);
    assert.equal(shortestFloat32(16777216), 16777216, 'not rounded to 7 digits (16777220)');
    assert.equal(shortestFloat32(-0.5), -0.5);
    for (let i = 0; i < 10_000; i++) {
      const f = Math.fround((Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 20 - 10));
      assert.equal(Math.fround(shortestFloat32(f)), f, `${f} round-trips`);
    }
  });

  it('leaves values that are not float32 values as they are', () => {
    assert.equal(shortestFloat32(0.1), 0.1);
    assert.ok(Number.isNaN(shortestFloat32(NaN)));
    assert.equal(shortestFloat32(Infinity), Infinity);
  });
});
