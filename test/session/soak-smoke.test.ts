/**
 * The soak (scripts/soak.ts) for a few seconds: an SD + service process, a gateway process and a load
 * process, every kind of traffic (streams and abandoned objects among them), memory and handle checks. It
 * must pass (exit 0) and leave nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/soak.js', import.meta.url));
let kill: (() => void) | undefined;
after(() => kill?.());

it('runs 5 s of mixed load across processes and exits 0', { timeout: 15_000 }, async () => {
  // Not a test process of ours: without NODE_TEST_CONTEXT, node:test in the soak's children reports nothing to us.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [script, '--seconds', '5', '--loads', '1'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  kill = () => child.kill('SIGKILL');
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, out);
  assert.match(out, /^PASS/m);
  assert.match(out, /calls +\d+ \(\d+\/s\)/);
  assert.match(out, /unexpected \{\}, wrong values 0/);
  // The newer kinds ran too: streams read with every frame checked, sessions that left holding objects.
  assert.match(out, /streams +[1-9]\d* opened: .* [1-9]\d* frames checked/);
  assert.match(
    out,
    /abandon +[1-9]\d* gateway sessions closed .* the service serves 0 object\(s\) by reference, the gateway counts 0 held/,
  );
});
