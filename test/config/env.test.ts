/** Numeric settings from the environment: defaults, accepted values, and a warning for the rest. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { envNumber } from '../../src/config/env.js';
import { resolveLimits } from '../../src/channel/limits.js';

describe('numeric settings from the environment', () => {
  it('use the default when unset or empty, the value when it fits the rule', () => {
    delete process.env.QI_TEST_N;
    assert.equal(envNumber('QI_TEST_N', 7), 7);
    process.env.QI_TEST_N = ' ';
    assert.equal(envNumber('QI_TEST_N', 7), 7);
    process.env.QI_TEST_N = '2.5';
    assert.equal(envNumber('QI_TEST_N', 7), 2.5);
    process.env.QI_TEST_N = '0';
    assert.equal(envNumber('QI_TEST_N', 7, { zero: true }), 0);
    process.env.QI_TEST_N = '99';
    assert.equal(envNumber('QI_TEST_N', 7, { integer: true, max: 50 }), 50);
    delete process.env.QI_TEST_N;
  });

  it('warn once, naming the variable, what it accepts and the value used, for a value that does not fit', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      process.env.QI_HEARTBEAT_MS = '15s';
      assert.equal(resolveLimits().heartbeatMs, 15_000, 'the default is used');
      assert.equal(resolveLimits().heartbeatMs, 15_000);
      process.env.QI_TEST_N = '1.5';
      assert.equal(envNumber('QI_TEST_N', 3, { integer: true }), 3);
      await once(process, 'warning');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, [
        'QI_HEARTBEAT_MS="15s" is not a number >= 0; using 15000. Unset it or give a number >= 0.',
        'QI_TEST_N="1.5" is not a whole number > 0; using 3. Unset it or give a whole number > 0.',
      ]);
    } finally {
      process.off('warning', onWarning);
      delete process.env.QI_HEARTBEAT_MS;
      delete process.env.QI_TEST_N;
    }
  });
});
