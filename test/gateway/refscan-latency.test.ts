/**
 * The attack of issue 16 on the gateway's search for object references: calls of 45 MB carrying 9
 * million tiny dynamic values to a method that takes a dynamic. Decoding and re-encoding them froze the
 * gateway for seconds; the bounded scan refuses them within its budget, and another client's calls
 * stay fast meanwhile. The service and the gateway run in processes of their own (real sockets).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MessageType } from '../../src/wire.js';
import { startFixture, type Child } from '../helpers/processes.js';
import { attack } from './fixtures/hostile.js';

let service: Child<{ url: string }>;
let gateway: Child<{ url: string }>;

before(async () => {
  service = await startFixture<{ url: string }>('gateway/fixtures/refscan-node', ['service']);
  gateway = await startFixture<{ url: string }>('gateway/fixtures/refscan-node', ['gateway', service.ready.url]);
});
after(async () => {
  await gateway?.kill();
  await service?.kill();
});

describe('gateway: a flood of dynamic values in one call', () => {
  it(
    "three 45 MB calls of 9 million dynamics at once are refused, and another client's calls stay fast",
    { timeout: 120_000 },
    async () => {
      const r = await attack(gateway.ready.url, 3, 9_000_000);
      const figures = `wall ${r.wallMs.toFixed(0)} ms, other client: ${r.probe.calls} calls, p50 ${r.probe.p50.toFixed(1)} ms, p99 ${r.probe.p99.toFixed(1)} ms, max ${r.probe.max.toFixed(1)} ms`;
      console.log(`attack: ${figures}`);
      for (const a of r.answers)
        assert.equal(a.type, MessageType.Error, `refused (${a.text || 'answered'}); ${figures}`);
      assert.match(r.answers[0].text, /maxReferenceScan/);
      assert.equal(r.taken, 0, 'the service never decoded them');
      // Wide margin: the scan stops after ~10 ms per call; decoding took seconds per call.
      assert.ok(r.probe.p99 < 1000, `p99 of the other client's calls during the attack: ${figures}`);
    },
  );
});
