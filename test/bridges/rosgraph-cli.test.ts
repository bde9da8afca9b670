/**
 * `qi gateway --ros-graph`: refused without the flag, else the gateway's node joins a real ROS graph and
 * leaves it on Ctrl-C; `--ros-call` makes a rospy node's service callable from qi.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Dynamic, LocalObject, Session, defineObject, listenStandalone, signal, t } from '../../src/index.js';
import { runQi } from '../helpers/demo-robot.js';
import { RosMaster, rosSkip } from '../helpers/rosmaster.js';
import { SERVICE_SERVER } from '../helpers/rospy.js';
import { until } from '../helpers/until.js';
import { qiJson, within } from './fixtures.js';

const Talker = defineObject({ signals: { said: signal([t.string]) } });

describe('qi gateway --ros-graph', { skip: rosSkip }, () => {
  let sd: Session;
  let master: RosMaster;
  let url = '';
  let timer: NodeJS.Timeout;
  before(async () => {
    master = await RosMaster.start();
    sd = await listenStandalone('tcp://127.0.0.1:0');
    url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    const talker = new LocalObject(Talker, {});
    await sd.registerService('Talker', talker);
    let n = 0;
    timer = setInterval(() => talker.emit('said', `line ${++n}`), 100);
  });
  after(async () => {
    clearInterval(timer);
    await sd.close();
    await master.stop();
  });

  it('is refused without --insecure-unauthenticated; with it, publishes what --ros-allow names until SIGINT', async () => {
    const gateway = [
      'gateway',
      '--sd',
      url,
      '--listen',
      'tcp://127.0.0.1:0',
      '--allow',
      '*',
      '--ros-graph',
      master.uri,
    ];
    const refused = await runQi(gateway);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to join the ROS graph\. The ROS graph bridge has no authentication/);
    const run = qiJson('the gateway', ...gateway, '--ros-allow', 'signal:Talker.*', '--insecure-unauthenticated');
    try {
      const info = JSON.parse(await run.line()) as { rosGraph: { node: string; topics: string[] } };
      assert.deepEqual(info.rosGraph.topics, ['/qi/Talker/said']);
      const echo = await master.run('rostopic', ['echo', '-n', '1', '/qi/Talker/said']);
      assert.match(echo.stdout, /data: "line \d+"/);
    } finally {
      run.child.kill('SIGINT');
      assert.equal(await within(run.exited, 'the gateway to exit on SIGINT'), 0);
    }
    const nodes = await master.run('rosnode', ['list']);
    assert.doesNotMatch(nodes.stdout, /qi_bridge/);
  });

  it("--ros-call NAME=FILE.srv: a qi client calls a rospy node's service; bad specs are refused before anything starts", async () => {
    const base = ['gateway', '--sd', url, '--listen', 'tcp://127.0.0.1:0', '--allow', '*'];
    const graph = ['--ros-graph', master.uri, '--insecure-unauthenticated'];
    for (const [args, message] of [
      [[...graph, '--ros-call', 'add_two_ints'], /"add_two_ints" is not NAME=TYPE or NAME=FILE\.srv/],
      [
        [...graph, '--ros-call', '/x=no_such_pkg/Missing'],
        /the service type no_such_pkg\/Missing is not installed: no no_such_pkg\/srv\/Missing\.srv in/,
      ],
      [['--ros-call', '/x=a/B'], /--ros-call needs --ros-graph/],
    ] as const) {
      const r = await runQi([...base, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
    const srv = join(master.dir, 'qi_test', 'srv', 'AddTwoInts.srv');
    mkdirSync(join(srv, '..'), { recursive: true });
    writeFileSync(srv, 'int64 a\nint64 b\n---\nint64 sum\n');
    const server = master.spawn('/usr/bin/python3', ['-c', SERVICE_SERVER], 60_000);
    let out = '';
    server.child.stdout!.on('data', (d) => (out += d));
    const run = qiJson('the gateway', ...base, ...graph, '--ros-call', `/add_two_ints=${srv}`);
    let client: Session | undefined;
    try {
      const info = JSON.parse(await run.line()) as { rosGraph: { calls: string[] } };
      assert.deepEqual(info.rosGraph.calls, ['/add_two_ints']);
      await until(() => out.includes('READY'), 'the rospy service', 20_000);
      client = await Session.connect(url, { lpc: false });
      const ros = (await client.service('RosGraph')) as unknown as { add_two_ints(r: unknown): Promise<unknown> };
      const answer = await ros.add_two_ints({ a: 2, b: 40 });
      assert.equal(((answer instanceof Dynamic ? answer.value : answer) as { sum: bigint }).sum, 42n);
      await assert.rejects(ros.add_two_ints({ a: -1, b: 0 }), /\/add_two_ints failed: .*a must not be negative/);
    } finally {
      await client?.close();
      run.child.kill('SIGINT');
      assert.equal(await within(run.exited, 'the gateway to exit on SIGINT'), 0);
      server.child.kill('SIGINT');
      await server.done;
    }
  });
});
