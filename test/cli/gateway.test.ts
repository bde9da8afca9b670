/** `qi gateway`, spawned for real in front of a demo robot, used by `qi` itself from outside. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QI, firstMatch, runQi, startDemoRobot } from '../helpers/demo-robot.js';

const kids: ChildProcess[] = [];
after(() => kids.forEach((k) => k.kill('SIGKILL')));

const qi = (...args: string[]) => runQi(args);

let sd = '';
let gatewayOutput = '';
let gw = '';
const dir = mkdtempSync(join(tmpdir(), 'qi-gw-'));

before(async () => {
  const robot = startDemoRobot();
  kids.push(robot.child);
  sd = await robot.url;
  const config = join(dir, 'access.json');
  writeFileSync(
    config,
    JSON.stringify({ users: { alice: { token: 'wonderland', allow: ['TextToSpeech', 'Battery.charge'] } } }),
  );
  const g = spawn(
    process.execPath,
    [QI, 'gateway', '--sd', sd, '--listen', 'tcp://127.0.0.1:0', '--config', config, '--json'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  kids.push(g);
  g.stdout.on('data', (d) => (gatewayOutput += d));
  g.stderr.on('data', (d) => (gatewayOutput += d));
  gw = JSON.parse(await firstMatch(g, /^(\{.*\})\n/, 'gateway')).endpoints[0];
});

describe('qi gateway', () => {
  it('serves the robot to an authenticated user, with only what the rules allow', async () => {
    const r = await qi('--url', gw, '--user', 'alice', '--token', 'wonderland', '--json', 'services');
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { name: string; endpoints: string[] }[];
    assert.deepEqual(
      list.map((s) => s.name),
      ['ServiceDirectory', 'TextToSpeech', 'Battery'],
    );
    assert.ok(
      list.every((s) => !s.endpoints.some((e) => e.includes(new URL(sd).port))),
      'no internal endpoint',
    );
    const get = await qi('--url', gw, '--user', 'alice', '--token', 'wonderland', 'get', 'Battery.charge');
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /^\d+$/m);
    const set = await qi('--url', gw, '--user', 'alice', '--token', 'wonderland', 'set', 'Battery.charging', 'true');
    assert.equal(set.code, 1);
    assert.match(set.stderr, /Permission denied: user "alice" may not use property Battery.charging/);
  });

  it('refuses a wrong token (exit 3) and says why', async () => {
    const r = await qi('--url', gw, '--user', 'alice', '--token', 'nope', 'services');
    assert.equal(r.code, 3);
    assert.match(r.stderr, /invalid user or token/);
  });

  it('never prints a token, right or wrong', async () => {
    await qi('--url', gw, '--user', 'alice', '--token', 'wrong-token-5f1c', 'services');
    await qi('--url', gw, '--user', 'alice', '--token', 'wonderland', 'services');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(gatewayOutput.length > 0);
    assert.ok(!gatewayOutput.includes('wrong-token-5f1c') && !gatewayOutput.includes('wonderland'), gatewayOutput);
  });

  it('rejects a bad configuration before starting (exit 2)', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ users: { bob: { token: 'x', allow: ['frobnicate:Foo'] } } }));
    const r = await qi('gateway', '--sd', sd, '--listen', 'tcp://127.0.0.1:0', '--config', bad);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown kind "frobnicate"/);
  });
});
