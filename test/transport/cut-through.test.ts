/**
 * The forwarding policy (src/transport/cut-through.ts): a process cuts forwarded bursts through only while
 * its event loop has time to spare; a loop kept busy goes back to one write per tick, and returns to cutting
 * through once it idles. Measured on this process's own event loop, as a gateway's sampler reads it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BUSY,
  IDLE,
  SAMPLE_MS,
  SPARE_OFF,
  SPARE_ON,
  cutThrough,
  defaultCutThroughBytes,
  nextCutThrough,
} from '../../src/transport/cut-through.js';

/** Keeps the event loop busy for `ms`, yielding every few ms so that timers (the sampler) still run. */
async function spin(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const slice = Date.now() + 5;
    while (Date.now() < slice) {
      /* busy */
    }
    await new Promise((r) => setImmediate(r));
  }
}

/** Waits (at most `ms`) until `cutThrough.bytes` is `want`. */
async function until(want: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (cutThrough.bytes !== want && Date.now() < end) await sleep(20);
  assert.equal(cutThrough.bytes, want);
}

describe('cut-through policy', () => {
  it('turns off above BUSY, on below IDLE, and keeps its state between', () => {
    assert.equal(nextCutThrough(true, BUSY + 0.01), false);
    assert.equal(nextCutThrough(true, (BUSY + IDLE) / 2), true);
    assert.equal(nextCutThrough(false, (BUSY + IDLE) / 2), false);
    assert.equal(nextCutThrough(false, IDLE - 0.01), true);
    // The machine's idle share counts too: a process starved of CPU by others looks unsaturated to itself.
    assert.equal(nextCutThrough(true, 0.1, SPARE_OFF - 0.01), false);
    assert.equal(nextCutThrough(true, 0.1, (SPARE_OFF + SPARE_ON) / 2), true);
    assert.equal(nextCutThrough(false, 0.1, (SPARE_OFF + SPARE_ON) / 2), false);
    assert.equal(nextCutThrough(false, 0.1, SPARE_ON), true);
  });

  it('is off unless asked (QI_CUT_THROUGH_BYTES)', () => {
    assert.equal(defaultCutThroughBytes(), 0);
    process.env.QI_CUT_THROUGH_BYTES = '256';
    try {
      assert.equal(defaultCutThroughBytes(), 256);
    } finally {
      delete process.env.QI_CUT_THROUGH_BYTES;
    }
  });

  it('batches while the machine has no idle cores, though this process idles', { timeout: 15_000 }, async () => {
    let idle = 0.02;
    const release = cutThrough.hold(256, () => idle);
    try {
      await until(0, SAMPLE_MS * 4);
      idle = 0.5;
      await until(256, SAMPLE_MS * 4);
    } finally {
      release();
    }
  });

  it('batches while the event loop is saturated, cuts through again once it idles', { timeout: 15_000 }, async () => {
    const release = cutThrough.hold(256);
    try {
      assert.equal(cutThrough.bytes, 256, 'on at start');
      await spin(SAMPLE_MS * 3);
      assert.equal(cutThrough.bytes, 0, 'a saturated loop batches');
      await until(256, SAMPLE_MS * 8);
    } finally {
      release();
    }
    assert.equal(cutThrough.bytes, 0);
  });

  it('keeps the largest size of several holders until the last one leaves', () => {
    const a = cutThrough.hold(128);
    const b = cutThrough.hold(512);
    assert.equal(cutThrough.bytes, 512);
    a();
    a(); // a second release changes nothing
    assert.equal(cutThrough.bytes, 512);
    b();
    assert.equal(cutThrough.bytes, 0);
    const off = cutThrough.hold(0);
    assert.equal(cutThrough.bytes, 0, 'a holder with 0 never cuts through');
    off();
  });
});
