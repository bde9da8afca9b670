/**
 * The ROS graph bridge over time, against Debian's rosmaster and ROS tools: qi properties as latched
 * topics (a late `rostopic echo` gets the value now, then each change), and a qi service that leaves
 * and comes back (its ROS service leaves the master, so `rosservice call` fails at once, then works again).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { LocalObject, Session, defineObject, listenStandalone, method, property, t } from '../../src/index.js';
import { RosGraphBridge } from '../../src/bridges/index.js';
import { RosMaster, generatePython, rosSkip } from '../helpers/rosmaster.js';
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
  let master: RosMaster;
  let sd: Awaited<ReturnType<typeof listenStandalone>>;
  let provider: Session;
  let robot: LocalObject<typeof Robot>;
  let id: number;
  let bridge: RosGraphBridge;
  let env: NodeJS.ProcessEnv;
  const warnings: string[] = [];

  before(async () => {
    master = await RosMaster.start();
    sd = await listenStandalone('tcp://127.0.0.1:0');
    const url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    provider = await Session.connect(url);
    robot = newRobot();
    id = await provider.registerService('Robot', robot);
    bridge = await RosGraphBridge.start({
      insecureUnauthenticated: true,
      masterUri: master.uri,
      sd: url,
      sessionOptions: { lpc: false },
      allow: [
        'property:Robot.level',
        'property:Robot.mood',
        'property:Robot.big',
        'method:Robot.add',
        'signal:Robot.*',
      ],
      maxLatchedBytes: 4096,
      onWarning: (m) => warnings.push(m),
    });
    env = { PYTHONPATH: generatePython(bridge.definitionFiles(), join(master.dir, 'types')) };
  });
  after(async () => {
    await bridge?.close();
    await provider?.close();
    await sd?.close();
    await master?.stop();
  });

  it('publishes a property as a latched topic: rostopic echo -n 2 gets its value now, then a change', async () => {
    assert.deepEqual([...bridge.topics.keys()].sort(), ['Robot.big', 'Robot.level', 'Robot.mood']);
    const echo = master.spawn('rostopic', ['echo', '-n', '2', '/qi/Robot/level']);
    let out = '';
    echo.child.stdout!.on('data', (d) => (out += d));
    await until(() => /data: 7/.test(out), 'the latched value on rostopic echo', 20_000);
    robot.set('level', 8);
    const r = await echo.done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      [...r.stdout.matchAll(/data: (\d+)/g)].map((m) => Number(m[1])),
      [7, 8],
    );
    // A subscriber joining now gets the latest value at once, as ROS latched topics do.
    const late = await master.run('rostopic', ['echo', '-n', '1', '/qi/Robot/level'], 20_000);
    assert.match(late.stdout, /^data: 8$/m);
    const info = await master.run('rostopic', ['info', '/qi/Robot/mood']);
    assert.match(info.stdout, /Type: std_msgs\/String[\s\S]*Publishers: \n \* \/qi_bridge /);
  });

  it('publishes only what property: rules name (a signal: rule does not publish properties)', async () => {
    const list = await master.run('rostopic', ['list']);
    assert.doesNotMatch(list.stdout, /secret/);
  });

  it('keeps no latched value over maxLatchedBytes: it is sent live, the operator is told, late subscribers wait', async () => {
    const live = master.spawn('rostopic', ['echo', '-n', '2', '--noarr', '/qi/Robot/big'], 20_000, env);
    let out = '';
    live.child.stdout!.on('data', (d) => (out += d));
    await until(() => out.includes('---'), 'the latched empty value', 20_000);
    robot.set('big', Buffer.alloc(5000, 1));
    const r = await live.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /data: "<array type: uint8, length: 5000>"/);
    assert.ok(
      warnings.some((w) => /\/qi\/Robot\/big has 5004 bytes, over maxLatchedBytes \(4096\)/.test(w)),
      warnings.join('\n'),
    );
    const late = await master.run('rostopic', ['echo', '-n', '1', '/qi/Robot/big'], 3000, env);
    assert.equal(late.stdout, '', 'nothing latched to a late subscriber');
  });

  it('unregisters a qi service that leaves and bridges it again when it comes back', async () => {
    const call = () => master.run('rosservice', ['call', '/qi/Robot/add', '2', '3'], 20_000, env);
    assert.equal((await call()).stdout.trim(), 'data: 5');
    // A ROS subscriber listening across the restart: the value before, then the value after.
    const echo = master.spawn('rostopic', ['echo', '-n', '2', '/qi/Robot/level'], 30_000);
    let out = '';
    echo.child.stdout!.on('data', (d) => (out += d));
    await until(() => /data: 8/.test(out), 'the value before the restart', 20_000);
    await provider.unregisterService(id);
    await until(() => !bridge.services.has('Robot.add'), 'the bridge to drop Robot.add', 10_000);
    const gone = Date.now();
    const failed = await call();
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /Service \[\/qi\/Robot\/add\] is not available/);
    assert.ok(Date.now() - gone < 15_000, 'a clear failure, not a wait');
    assert.doesNotMatch((await master.run('rostopic', ['list', '-p'])).stdout, /\/qi\/Robot\//);
    robot = newRobot();
    robot.set('level', 42);
    id = await provider.registerService('Robot', robot);
    await until(() => bridge.services.has('Robot.add'), 'the bridge to serve Robot.add again', 10_000);
    assert.equal((await call()).stdout.trim(), 'data: 5');
    const level = await master.run('rostopic', ['echo', '-n', '1', '/qi/Robot/level'], 20_000);
    assert.match(level.stdout, /^data: 42$/m);
    const across = await echo.done;
    assert.deepEqual(
      [...across.stdout.matchAll(/data: (\d+)/g)].map((m) => Number(m[1])),
      [8, 42],
      across.stderr,
    );
  });
});
