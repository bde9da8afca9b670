/**
 * A robot and its client both move to another hotspot while the client calls in a loop and iterates a
 * signal (issue 20, docs/roaming.md). The client finds the robot again by name (`robot.test`, as mDNS
 * would give it; here the client namespace's hosts file), the robot's services are listed at its new
 * address, and the loop goes on after a bounded pause: every call is answered or failed with an error
 * that says the network changed, the subscription is made again and the iterator reports the gap.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ready, type Running } from '../helpers/processes.js';
import { ask } from '../helpers/roam-report.js';
import { HEAD, HOTSPOT, INTERNAL, RoamLab } from '../helpers/roamlab.js';
import { finished } from '../helpers/processes.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

describe('a robot and its client move to another hotspot in the middle of calls and signals', () => {
  let lab: RoamLab | undefined;
  let refused = '';
  let robot: Running;
  let client: Running;
  before(async () => {
    const made = RoamLab.create();
    if (typeof made === 'string') return void (refused = made);
    lab = made;
    robot = lab.run('robot', fixture('roam-robot'), ['events', '2000'], 'pipe');
    await ready(robot, 'roam-robot');
    client = lab.run('client', fixture('roam-client'), ['tcp://robot.test:9559'], 'pipe');
    await ready(client, 'roam-client');
  });
  after(() => lab?.close());

  it('goes on after a bounded pause, every call accounted for, the gap reported', async (t) => {
    if (lab === undefined) return t.skip(refused);
    await new Promise((r) => setTimeout(r, 500));
    const before = await ask(client);
    assert.ok(before.answered > 0 && before.received > 0, JSON.stringify(before));
    assert.equal(before.failed.length, 0, before.failed.join('\n'));

    const moved = Date.now();
    lab.name('two');
    lab.move('one', 'two');
    let now = before;
    while (now.answered <= before.answered + 20 || now.afterGap === 0) {
      assert.ok(Date.now() - moved < 15_000, `the loop did not go on: ${JSON.stringify(now)} ${client.err()}`);
      await new Promise((r) => setTimeout(r, 100));
      now = await ask(client);
    }
    t.diagnostic(`calls and ticks again ${Date.now() - moved} ms after the move; gap ${JSON.stringify(now.gap)}`);
    const last = await ask(client, 'quit');
    assert.ok(last.final);
    t.diagnostic(`${last.made} calls: ${last.answered} answered, ${last.failed.length} failed; ${last.received} ticks`);
    assert.equal(last.answered + last.failed.length, last.made, 'every call answered or failed');
    for (const f of last.failed) assert.match(f, /the network changed/);
    assert.equal(last.gaps, 1, 'one gap');
    assert.match(last.gap!.reason, /the network changed/);
  });
});

describe("the robot's outside address changes while its client's stays", () => {
  let lab: RoamLab | undefined;
  let refused = '';
  let client: Running;
  before(async () => {
    const made = RoamLab.create();
    if (typeof made === 'string') return void (refused = made);
    lab = made;
    await ready(lab.run('robot', fixture('roam-robot'), ['events', '2000'], 'pipe'), 'roam-robot');
    client = lab.run('client', fixture('roam-client'), ['tcp://robot.test:9559'], 'pipe');
    await ready(client, 'roam-client');
  });
  after(() => lab?.close());

  it('the client finds out from the unanswered bytes of its waiting calls, well before its heartbeat', async (t) => {
    if (lab === undefined) return t.skip(refused);
    await new Promise((r) => setTimeout(r, 300));
    const before = await ask(client);
    assert.ok(before.answered > 0 && before.received > 0, JSON.stringify(before));
    const NEW = HOTSPOT.one.robot.replace(/\.7$/, '.8');
    const moved = Date.now();
    lab.nameAt(NEW);
    lab.renumberRobot(NEW);
    let now = before;
    // the client's heartbeat is the default 15 s (dead after 30 s): the loop must go on well before that
    while (now.answered <= before.answered + 20 || now.afterGap === 0) {
      assert.ok(Date.now() - moved < 12_000, `the loop did not go on: ${JSON.stringify(now)} ${client.err()}`);
      await new Promise((r) => setTimeout(r, 100));
      now = await ask(client);
    }
    t.diagnostic(`calls and ticks again ${Date.now() - moved} ms after the move; gap ${JSON.stringify(now.gap)}`);
    const last = await ask(client, 'quit');
    t.diagnostic(`${last.made} calls: ${last.answered} answered, ${last.failed.length} failed: ${last.failed[0]}`);
    assert.equal(last.answered + last.failed.length, last.made, 'every call answered or failed');
    for (const f of last.failed) assert.match(f, /stopped acknowledging what we send: .*the network changed/);
    assert.equal(last.gaps, 1, 'one gap');
  });
});

describe("the robot's second computer gets a new address", () => {
  let lab: RoamLab | undefined;
  let refused = '';
  let robot: Running;
  let head: Running;
  before(async () => {
    const made = RoamLab.create();
    if (typeof made === 'string') return void (refused = made);
    lab = made;
    robot = lab.run('robot', fixture('roam-robot'), ['events', '2000', 'gateway'], 'pipe');
    await ready(robot, 'roam-robot');
    head = lab.run('head', fixture('roam-head'), [`tcp://${INTERNAL}:9559`]);
    await ready(head, 'roam-head');
  });
  after(() => lab?.close());

  /** A new client in the client's namespace, through the robot's gateway. */
  const call = () =>
    finished<{ sum?: number; error?: string }>(
      lab!.run('client', fixture('roam-call'), ['tcp://robot.test:9503', 'Head']),
      'roam-call',
      10_000,
    ).catch((e: Error): { sum?: number; error?: string } => ({ error: e.message }));

  it('the directory and the gateway stop using the old endpoint; new clients reach the new one', async (t) => {
    if (lab === undefined) return t.skip(refused);
    assert.deepEqual(await call(), { sum: 5 });
    const moved = Date.now();
    const NEW = '10.50.0.3';
    lab.moveHead(NEW);
    let r = await ask(robot);
    while (!(r as unknown as { head?: string[] }).head?.some((e) => e.includes(`//${NEW}:`))) {
      assert.ok(
        Date.now() - moved < 10_000,
        `not listed at ${NEW}: ${JSON.stringify(r)}; head: ${head.out()} ${head.err()}`,
      );
      await new Promise((res) => setTimeout(res, 100));
      r = await ask(robot);
    }
    const listed = (r as unknown as { head: string[] }).head;
    assert.ok(!listed.some((e) => e.includes(`//${HEAD}:`)), `the old address is still listed: ${listed.join(' ')}`);
    t.diagnostic(`listed at the new address ${Date.now() - moved} ms after the move`);
    let answer = await call();
    while (answer.sum !== 5) {
      assert.ok(Date.now() - moved < 20_000, `no new client reaches Head: ${JSON.stringify(answer)}`);
      answer = await call();
    }
    t.diagnostic(`a new client through the gateway reached it ${Date.now() - moved} ms after the move`);
  });
});
