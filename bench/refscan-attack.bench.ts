/**
 * The reference-scan attack of issue 16, measured: `--parallel` calls at once (default 6), each of 45 MB
 * carrying `--elements` void dynamic values (default 9,000,000), to a method taking a dynamic, through a
 * gateway; meanwhile a second client calls a cheap method one call at a time (5 ms apart). Prints the wall
 * time until every attack call was answered, what they were answered, how many reached the service, and
 * the second client's latency (p50, p99, max). The SD with the service and the gateway run in processes of
 * their own (test/gateway/fixtures/refscan-node.ts); this process runs both clients.
 *
 *   node dist/bench/refscan-attack.bench.js [--parallel=N] [--elements=N] [--against[=<git-ref>]] [--keep-ref]
 *
 * `--against` runs the attack on another revision's gateway too (default 313372f, before issue 16), built in
 * a temporary worktree as `gateway.bench.ts --against` does (bench/gateway-against.ts).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { attack } from '../test/gateway/fixtures/hostile.js';
import { killAll, track } from './children.js';
import { againstRef, buildRef } from './gateway-against.js';
import { num } from './harness.js';

const parallel = num('parallel', 6);
const elements = num('elements', 9_000_000);
const against = againstRef();
const HERE = dirname(fileURLToPath(import.meta.url));
const NODE_SCRIPT = join(HERE, '..', 'test', 'gateway', 'fixtures', 'refscan-node.js');

/** Starts the fixture in `args` mode and resolves with the URL of its first JSON line. */
function start(args: string[]): Promise<string> {
  const child = track(spawn(process.execPath, [NODE_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args[0]} not ready after 10 s`)), 10_000);
    createInterface({ input: child.stdout }).once(
      'line',
      (l) => (clearTimeout(timer), resolve((JSON.parse(l) as { url: string }).url)),
    );
    child.once('exit', (code) => reject(new Error(`${args[0]} exited (${code})`)));
  });
}

async function run(label: string, index?: string): Promise<void> {
  const sd = await start(['service']);
  const gw = await start(['gateway', sd, ...(index === undefined ? [] : [index])]);
  const r = await attack(gw, parallel, elements);
  const kinds = r.answers.map((a) =>
    a.type === 3 ? `error: ${a.text.slice(0, 60)}…` : a.type === 2 ? 'reply' : `type ${a.type}`,
  );
  console.log(
    `${label}: ${parallel} x ${((elements * 5) / 1e6).toFixed(0)} MB calls answered in ${r.wallMs.toFixed(0)} ms (${[...new Set(kinds)].join('; ')}), ${r.taken} reached the service`,
  );
  console.log(
    `${label}: other client during the attack: ${r.probe.calls} calls, p50 ${r.probe.p50.toFixed(1)} ms, p99 ${r.probe.p99.toFixed(1)} ms, max ${r.probe.max.toFixed(1)} ms`,
  );
  killAll();
}

await run('this build');
if (against !== undefined) {
  const build = buildRef(join(HERE, '..', '..'), against, process.argv.includes('--keep-ref'));
  try {
    await run(against, join(dirname(build.gatewayServer), '..', 'src', 'index.js'));
  } finally {
    build.remove();
  }
}
process.exit(0);
