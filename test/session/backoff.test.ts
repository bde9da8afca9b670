/** The reconnection pace shared by sessions and the gateway. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from '../../src/session/index.js';

describe('Backoff', () => {
  it('doubles from the first wait up to the longest', () => {
    const b = new Backoff(500, 5000);
    assert.deepEqual(
      Array.from({ length: 7 }, () => b.next()),
      [500, 1000, 2000, 4000, 5000, 5000, 5000],
    );
  });

  it('defaults to 100 ms doubling up to 5 s', () => {
    const b = new Backoff();
    assert.deepEqual(
      Array.from({ length: 8 }, () => b.next()),
      [100, 200, 400, 800, 1600, 3200, 5000, 5000],
    );
  });

  it('draws each wait within its jitter share below the doubled wait', () => {
    const b = new Backoff(1000, 8000, 0.5);
    const waits = Array.from({ length: 200 }, () => b.next());
    const full = [1000, 2000, 4000, 8000];
    waits.forEach((w, i) => {
      const top = full[Math.min(i, 3)];
      assert.ok(w >= top / 2 && w <= top, `wait ${i}: ${w} not within [${top / 2}, ${top}]`);
    });
    assert.ok(new Set(waits.slice(3)).size > 10, 'the waits differ');
  });
});
