/**
 * The ROS graph bridge over time, against Debian's rosmaster and ROS tools: qi properties as latched
 * topics (a late `rostopic echo` gets the value now, then each change), and a qi service that leaves
 * and comes back (its ROS service leaves the master, so `rosservice call` fails at once, then works again).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { LocalObject, defineObject, method, property, t } from '../../src/index.js';
import { generatePython, rosSkip } from '../helpers/rosmaster.js';
import { rosGraphWorld } from '../helpers/rosgraph-world.js';
import { until } from '../helpers/until.js';

const Robot = defineObject({
  methods: { add: method([t.int32, t.int32], t.int32, { paramNames: ['a', 'b'] }) },
  properties: {
    level: property(t.int32, { initial: 7 }),
    mood: property(t.string, { initial: 'calm' }),
    secret: property(t.string, { initial: 'hidden' }),
    big: property(t.raw, { initial: Buffer.alloc(0) }),
  },
});

const newRobot = () => new LocalObject(Robot, { add: (a: number, b: number) => a + b });

describe('ROS graph bridge: properties and services that come and go', { skip: rosSkip }, () => {
  let env: NodeJS.ProcessEnv;
  const ros = rosGraphWorld(
    'Robot',
    newRobot,
    {
      allow: [
        'property:Robot.level',
        'property:Robot.mood',
        'property:Robot.big',
        'method:Robot.add',
        'signal:Robot.*',
      ],
      maxLatchedBytes: 4096,
    },
    { started: (w) => (env = { PYTHONPATH: generatePython(w.bridge.definitionFiles(), join(w.master.dir, 'types')) }) },
  );

  it('publishes a property as a latched topic: rostopic echo -n 2 gets its value now, then a change', async () => {
    assert.deepEqual([...ros.bridge.topics.keys()].sort(), ['Robot.big', 'Robot.level', 'Robot.mood']);
    const echo = ros.master.spawn('rostopic', ['echo', '-n', '2', '/qi/Robot/level']);
    let out = '';
    echo.child.stdout!.on('data', (d) => (out += d));
    await until(() => /data: 7/.test(out), 'the latched value on rostopic echo', 20_000);
    ros.object.set('level', 8);
    const r = await echo.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      [...r.stdout.matchAll(/data: (\d+)/g)].map((m) => Number(m[1])),
      [7, 8],
    );
    // A subscriber joining now gets the latest value at once, as ROS latched topics do.
    const late = await ros.master.run('rostopic', ['echo', '-n', '1', '/qi/Robot/level'], 20_000);
    assert.match(late.stdout, /^data: 8$/m);
    const info = await ros.master.run('rostopic', ['info', '/qi/Robot/mood']);
    assert.match(info.stdout, /Type: std_msgs\/String[\s\S]*Publishers: \n \* \/qi_bridge /);
  });

  it('publishes only what property: rules name (a signal: rule does not publish properties)', async () => {
    const list = await ros.master.run('rostopic', ['list']);
    assert.doesNotMatch(list.stdout, /secret/);
  });

  it('keeps no latched value over maxLatchedBytes: it is sent live, the operator is told, late subscribers wait', async () => {
    const live = ros.master.spawn('rostopic', ['echo', '-n', '2', '--noarr', '/qi/Robot/big'], 20_000, env);
    let out = '';
    live.child.stdout!.on('data', (d) => (out += d));
    await until(() => out.includes('---'), 'the latched empty value', 20_000);
    ros.object.set('big', Buffer.alloc(5000, 1));
    const r = await live.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /data: "<array type: uint8, length: 5000>"/);
    assert.ok(
      ros.warnings.some((w) => /\/qi\/Robot\/big has 5004 bytes, over maxLatchedBytes \(4096\)/.test(w)),
      ros.warnings.join('\n'),
    );
    const late = await ros.master.run('rostopic', ['echo', '-n', '1', '/qi/Robot/big'], 3000, env);
    assert.equal(late.stdout, '', 'nothing latched to a late subscriber');
  });

  it('unregisters a qi service that leaves and bridges it again when it comes back', async () => {
    const call = () => ros.master.run('rosservice', ['call', '/qi/Robot/add', '2', '3'], 20_000, env);
    assert.equal((await call()).stdout.trim(), 'data: 5');
    // A ROS subscriber listening across the restart: the value before, then the value after.
    const echo = ros.master.spawn('rostopic', ['echo', '-n', '2', '/qi/Robot/level'], 30_000);
    let out = '';
    echo.child.stdout!.on('data', (d) => (out += d));
    await until(() => /data: 8/.test(out), 'the value before the restart', 20_000);
    await ros.provider.unregisterService(ros.id);
    await until(() => !ros.bridge.services.has('Robot.add'), 'the bridge to drop Robot.add', 10_000);
    const gone = Date.now();
    const failed = await call();
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /Service \[\/qi\/Robot\/add\] is not available/);
    assert.ok(Date.now() - gone < 15_000, 'a clear failure, not a wait');
    assert.doesNotMatch((await ros.master.run('rostopic', ['list', '-p'])).stdout, /\/qi\/Robot\//);
    ros.object = newRobot();
    ros.object.set('level', 42);
    ros.id = await ros.provider.registerService('Robot', ros.object);
    await until(() => ros.bridge.services.has('Robot.add'), 'the bridge to serve Robot.add again', 10_000);
    assert.equal((await call()).stdout.trim(), 'data: 5');
    const level = await ros.master.run('rostopic', ['echo', '-n', '1', '/qi/Robot/level'], 20_000);
    assert.match(level.stdout, /^data: 42$/m);
    const across = await echo.done;
    assert.deepEqual(
      [...across.stdout.matchAll(/data: (\d+)/g)].map((m) => Number(m[1])),
      [8, 42],
      across.stderr,
    );
  });
});
