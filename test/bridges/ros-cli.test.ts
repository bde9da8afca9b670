/** `qi ros-bridge`: the real CLI in another process, refusing without the flag, then serving roslib. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalObject, defineObject, listenStandalone, method, t, type Session } from '../../src/index.js';
import { runQi } from '../helpers/demo-robot.js';
import { Ros, callService, qiJson, within } from './fixtures.js';

const Adder = defineObject({ methods: { add: method([t.int32, t.int32], t.int32, { paramNames: ['a', 'b'] }) } });

const qi = (...args: string[]) => runQi(args);

/** A roslib client connected to `endpoint`. */
async function rosAt(endpoint: string): Promise<Ros> {
  const ros = new Ros({});
  const open = new Promise((r) => ros.once('connection', r));
  await ros.connect(endpoint);
  await within(open, 'roslib connection');
  return ros;
}

describe('qi ros-bridge', () => {
  let sd: Session;
  let url = '';
  before(async () => {
    sd = await listenStandalone('tcp://127.0.0.1:0');
    url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    await sd.registerService('Calculator', new LocalObject(Adder, { add: (a, b) => a + b }));
  });
  after(() => sd.close());

  it('refuses to start without --insecure-unauthenticated, saying why and which flag', async () => {
    const r = await qi('ros-bridge', '--sd', url, '--listen', 'ws://127.0.0.1:0', '--allow', 'Calculator.*');
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /refusing to start\. The ROS bridge has no authentication: any program that can open its WebSocket/,
    );
    assert.match(r.stderr, /--insecure-unauthenticated/);
    assert.equal(r.stdout, '');
  });

  it('refuses a non-loopback address without --allow-non-loopback', async () => {
    const r = await qi('ros-bridge', '--sd', url, '--listen', 'ws://0.0.0.0:0', '--insecure-unauthenticated');
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /refusing to listen on ws:\/\/0\.0\.0\.0:0: it is not a loopback address.*--allow-non-loopback/,
    );
  });

  it('with the flag, serves a roslib client until SIGINT', async () => {
    const run = qiJson(
      'the bridge',
      'ros-bridge',
      '--sd',
      url,
      '--listen',
      'ws://127.0.0.1:0',
      '--insecure-unauthenticated',
      '--allow',
      'Calculator.add,Other.*',
    );
    try {
      const line = await run.line();
      const info = JSON.parse(line) as { endpoint: string; allow: string[] };
      assert.deepEqual(info.allow, ['Calculator.add', 'Other.*']);
      const ros = await rosAt(info.endpoint);
      assert.deepEqual(await callService(ros, '/qi/Calculator/add', { a: 20, b: 22 }), { data: 42 });
      ros.close();
    } finally {
      run.child.kill('SIGINT');
      assert.equal(await within(run.exited, 'the bridge to exit on SIGINT'), 0);
    }
  });

  it('qi gateway --ros-bridge: refused without the flag, else the gateway serves ROS clients beside qi clients', async () => {
    const gateway = ['gateway', '--sd', url, '--listen', 'tcp://127.0.0.1:0', '--allow', '*'];
    const refused = await qi(...gateway, '--ros-bridge', 'ws://127.0.0.1:0');
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to start the ROS bridge\. The ROS bridge has no authentication/);
    assert.match(refused.stderr, /--insecure-unauthenticated/);
    const run = qiJson(
      'the gateway',
      ...gateway,
      '--ros-bridge',
      'ws://127.0.0.1:0',
      '--ros-allow',
      'Calculator.add',
      '--insecure-unauthenticated',
    );
    try {
      const line = await run.line();
      const info = JSON.parse(line) as { endpoints: string[]; rosBridge: string };
      assert.match(info.rosBridge, /^ws:\/\/127\.0\.0\.1:\d+/);
      const ros = await rosAt(info.rosBridge);
      assert.deepEqual(await callService(ros, '/qi/Calculator/add', { a: 1, b: 2 }), { data: 3 });
      ros.close();
    } finally {
      run.child.kill('SIGINT');
      assert.equal(await within(run.exited, 'the gateway to exit on SIGINT'), 0);
    }
  });
});
