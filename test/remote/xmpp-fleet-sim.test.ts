/**
 * The fleet simulator, small (scripts/fleet.ts; the large runs are in docs/fleet.md): 6 robots in 2
 * processes and 2 clients through a real Prosody, and through a 2-node ejabberd cluster (robots on node A,
 * clients and watcher on B, accounts and shared roster groups made through the ReST API), with churn fast
 * enough to cut a few robots in a few seconds. Every robot logs in and is seen online, calls go through IBB and over TCP, no signal is
 * missed, and the watcher sees each robot that logged in again go offline and come back, no more.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Run } from '../../scripts/fleet/report.js';

const FLEET = fileURLToPath(new URL('../../scripts/fleet.js', import.meta.url));

const SERVERS = [
  ['prosody', '/usr/bin/prosody'],
  ['ejabberd-cluster', '/usr/sbin/ejabberdctl'],
] as const;

describe('fleet simulator', () => {
  for (const [server, bin] of SERVERS)
    it(`${server}: 6 robots, 2 clients, churn: all online, calls both ways, presence consistent`, async (t) => {
      if (!existsSync(bin)) return t.skip(`${server} is not installed`);
      await run(server);
    });
});

/** Runs a small fleet through `server`, and checks what it reports. */
async function run(server: string): Promise<void> {
  const args = [
    '--server',
    server,
    '--robots',
    '6',
    '--clients',
    '2',
    '--seconds',
    '8',
    '--calls-seconds',
    '1.5',
    '--churn',
    '6',
    '--json',
  ];
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [FLEET, ...args], { env, timeout: 90_000, maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      e ? reject(new Error(`${e.message}\n${stderr}\n${stdout}`)) : resolve(stdout),
    ),
  );
  const line = out.split('\n').find((l) => l.startsWith('{"robots"'));
  assert.ok(line, out);
  const r = JSON.parse(line) as Run;
  assert.deepEqual(r.failedLogins, []);
  assert.deepEqual(r.checks.mismatched, [], 'each login again seen offline then online');
  assert.equal(r.checks.online, 6);
  assert.ok((r.checks.reconnects ?? 0) >= 1, `a robot was cut and came back (${r.churns} cuts)`);
  for (const c of [r.xmpp, r.tcp]) {
    assert.ok(c.calls > 50, `calls: ${c.calls}`);
    assert.equal(c.failed, 0, c.errors.join('; '));
    assert.equal(c.gaps, 0);
    assert.ok(c.ticks > 0);
  }
  assert.ok(r.during.calls > 0);
  assert.ok(r.serverRss > 0 && r.robotBytesPerSession > 0);
}
