/**
 * A long-running process on libdatachannel: links made one after another, each gone before the next
 * (so the process has no peer connection between them), all direct and answering, and the process
 * ending by itself soon after its last link closed. A dropped link's late "disconnected" state used to
 * start a 20 s timer on the host that held the process (22 s from the last close to the exit).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

describe('direct links over a process lifetime (libdatachannel)', () => {
  it(
    'makes 16 links one after another, each direct, then ends by itself within seconds',
    { timeout: 90_000 },
    async () => {
      const fixture = fileURLToPath(new URL('./fixtures/ice-many-links.js', import.meta.url));
      const child = spawn(process.execPath, [fixture, '16'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let closedAt = 0;
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (closedAt === 0 && stdout.includes('"closed"')) closedAt = performance.now();
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 80_000);
      const [code, signal] = (await new Promise((resolve) => child.once('exit', (c, s) => resolve([c, s])))) as [
        number | null,
        string | null,
      ];
      clearTimeout(killer);
      const endedAfter = performance.now() - closedAt;
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const links = lines.filter((l) => typeof l.i === 'number') as {
        i: number;
        path: string;
        reason?: string;
        sum: number;
      }[];
      assert.equal(signal, null, `the process was killed (${signal}): ${stderr.slice(-500)}`);
      assert.equal(code, 0, `exit ${code}: ${stderr.slice(-500)}`);
      assert.equal(links.length, 16, stderr.slice(-500));
      for (const l of links) {
        assert.equal(l.path, 'direct', `link ${l.i}: ${l.reason}`);
        assert.equal(l.sum, l.i + 1);
      }
      assert.ok(closedAt > 0, 'the fixture said it closed everything');
      assert.ok(
        endedAfter < 10_000,
        `the process ended ${Math.round(endedAfter)} ms after closing everything (expected within seconds)`,
      );
    },
  );
});
