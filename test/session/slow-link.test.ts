/**
 * A slow path with small TCP buffers, as a robot on poor Wi-Fi has: most of a large message waits in our
 * process while the link takes it, and the heartbeat must see those bytes leave (issue 22). Runs in a
 * network namespace of its own with small `tcp_wmem`/`tcp_rmem` (loopback's defaults let the kernel take
 * megabytes at once).
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { Netns } from '../helpers/netns.js';
import { finished } from '../helpers/running.js';

const script = fileURLToPath(new URL('./fixtures/slow-sender.js', import.meta.url));
const lab = Netns.create(['link'], 'qislow');
after(() => (typeof lab === 'string' ? undefined : lab.close()));

describe('a slow link with small socket buffers', { skip: typeof lab === 'string' && lab }, () => {
  it('a large argument that takes many heartbeats to leave our process is not taken for a dead peer', async () => {
    const ns = lab as Netns<'link'>;
    ns.ip('link', 'link', 'set', 'lo', 'up');
    ns.exec('link', 'sysctl', [
      '-q',
      '-w',
      'net.ipv4.tcp_wmem=4096 16384 65536',
      'net.ipv4.tcp_rmem=4096 65536 131072',
    ]);
    // 2 MiB each way at 1 MiB/s: about 4 s, a dozen heartbeats of 300 ms
    const r = await finished<{ ms: number; size?: number; failed?: string }>(
      ns.run('link', script, [String(1 << 20), String(2 << 20), '300']),
      'slow-sender',
      30_000,
    );
    assert.equal(r.failed, undefined, `the echo failed after ${r.ms} ms: ${r.failed}`);
    assert.equal(r.size, 2 << 20);
    assert.ok(r.ms > 2500, `the relay throttles (${r.ms} ms)`);
  });
});
