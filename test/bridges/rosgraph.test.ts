/**
 * The ROS graph bridge against a real ROS 1 graph (Debian's rosmaster, rostopic, rosnode and rospy):
 * qi signals published as topics, ROS topics emitted into qi, a clean leave, start-up refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalObject, Session, defineObject, listenStandalone, signal, t, type Dynamic } from '../../src/index.js';
import { RosGraphBridge, md5sum, messageTypeOf } from '../../src/bridges/index.js';
import { RosMaster, rosSkip } from '../helpers/rosmaster.js';
import { until } from '../helpers/until.js';

const Point = t.struct('Point', { x: t.int32, y: t.int32 });
const Path = t.struct('Path', { name: t.string, points: t.list(Point), blob: t.raw, big: t.int64, level: t.float });
const Robot = defineObject({
  signals: {
    said: signal([t.string]),
    walked: signal([Path]),
    fired: signal([t.int32, t.string]),
    opaque: signal([t.map(t.string, t.int32)]),
  },
});

/** A rospy subscriber of any type: checks the md5sum against genpy's, prints each message (n of them). */
const ANY_SUBSCRIBER = `
import sys, rospy, genpy.dynamic
from rospy import AnyMsg
n = int(sys.argv[2]); got = []
def cb(m):
    h = m._connection_header
    cls = genpy.dynamic.generate_dynamic(h['type'], h['message_definition'])[h['type']]
    v = cls().deserialize(m._buff)
    print('MD5', h['md5sum'], cls._md5sum, h['type'], flush=True)
    print('MSG', repr(v).replace('\\n', ' '), flush=True)
    got.append(1)
    if len(got) >= n: rospy.signal_shutdown('done')
rospy.init_node('qi_any', anonymous=True)
rospy.Subscriber(sys.argv[1], AnyMsg, cb)
rospy.spin()
`;

describe('ROS graph bridge', { skip: rosSkip }, () => {
  let master: RosMaster;
  let sd: Awaited<ReturnType<typeof listenStandalone>>;
  let provider: Session;
  let robot: LocalObject<typeof Robot>;
  let bridge: RosGraphBridge;
  const warnings: string[] = [];
  let timer: NodeJS.Timeout;
  let n = 0;

  before(async () => {
    master = await RosMaster.start();
    sd = await listenStandalone('tcp://127.0.0.1:0');
    const url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    provider = await Session.connect(url);
    robot = new LocalObject(Robot, {});
    await provider.registerService('Robot', robot);
    bridge = await RosGraphBridge.start({
      insecureUnauthenticated: true,
      masterUri: master.uri,
      sd: url,
      sessionOptions: { lpc: false },
      allow: ['signal:Robot.*'],
      subscribe: ['/chatter'],
      onWarning: (m) => warnings.push(m),
    });
    // The robot keeps talking, as a real one does: subscribers that join late see the next emissions.
    timer = setInterval(() => {
      n++;
      robot.emit('said', `hello ${n}`);
      robot.emit('walked', {
        name: `path ${n}`,
        points: [{ x: n, y: -n }],
        blob: Buffer.from([1, 2, 255]),
        big: 2n ** 40n,
        level: 0.5,
      });
      robot.emit('fired', n, 'shot');
    }, 100);
  });
  after(async () => {
    clearInterval(timer);
    await bridge?.close();
    await provider?.close();
    await sd?.close();
    await master?.stop();
  });

  it('publishes a qi signal as a std_msgs topic: rostopic echo receives three emissions', async () => {
    const r = await master.run('rostopic', ['echo', '-n', '3', '/qi/Robot/said']);
    assert.equal(r.code, 0, r.stderr);
    const seen = [...r.stdout.matchAll(/data: "hello (\d+)"/g)].map((m) => Number(m[1]));
    assert.equal(seen.length, 3, r.stdout);
    assert.deepEqual(seen, [seen[0], seen[0] + 1, seen[0] + 2]);
    const info = await master.run('rostopic', ['info', '/qi/Robot/said']);
    assert.match(info.stdout, /Type: std_msgs\/String/);
    assert.match(info.stdout, /Publishers: \n \* \/qi_bridge \(http:\/\/127\.0\.0\.1:\d+\/\)/);
  });

  it('computes md5sums as ROS does: std_msgs as rosmsg says, structs as genpy says', async () => {
    const r = await master.run('rosmsg', ['md5', 'std_msgs/String']);
    assert.equal(r.stdout.trim(), md5sum(messageTypeOf('S', 's', [{ kind: 'string' }]).spec));
    for (const [topic, type] of [
      ['/qi/Robot/walked', 'qi_msgs/Path'],
      ['/qi/Robot/fired', 'qi_msgs/Robot_fired'],
    ]) {
      const py = await master.run('/usr/bin/python3', ['-c', ANY_SUBSCRIBER, topic, '2']);
      assert.equal(py.code, 0, py.stderr);
      const sums = [...py.stdout.matchAll(/^MD5 (\w+) (\w+) (\S+)$/gm)];
      assert.equal(sums.length, 2, py.stdout);
      for (const m of sums) {
        assert.equal(m[1], m[2], `genpy computes ${m[2]} for ${m[3]}, the bridge sent ${m[1]}`);
        assert.equal(m[3], type);
      }
      if (topic === '/qi/Robot/walked')
        assert.match(
          py.stdout,
          /MSG name: "path \d+" points:\s+-\s+x: \d+\s+y: -\d+ blob: \[1, 2, 255\] big: 1099511627776 level: 0\.5/,
        );
      else assert.match(py.stdout, /MSG arg0: \d+ arg1: "shot"/);
    }
  });

  it('tells the operator which signals have no ROS type, and does not publish them', () => {
    assert.ok(
      warnings.some((w) => /Robot\.opaque is not published to ROS: .*map of string to int32/.test(w)),
      warnings.join('\n'),
    );
    assert.equal(bridge.topics.has('Robot.opaque'), false);
  });

  it('emits a ROS topic into qi: rostopic pub is seen by a qi watcher', async () => {
    const client = await Session.connect(
      sd.endpoints.find((e) => e.startsWith('tcp://'))!,
      { lpc: false },
    );
    try {
      const graph = await client.service('RosGraph');
      const got: Dynamic[] = [];
      await (graph.chatter as { connect(l: (d: Dynamic) => void): Promise<unknown> }).connect((d) => got.push(d));
      const pub = master.spawn('rostopic', ['pub', '-r', '10', '/chatter', 'std_msgs/String', 'data: from ROS']);
      try {
        await until(() => got.length > 0, 'a chatter message on the qi side', 20_000);
      } finally {
        pub.child.kill('SIGINT');
        await pub.done;
      }
      assert.equal(got[0].signature, '(s)<String,data>');
      assert.deepEqual(got[0].value, { data: 'from ROS' });
    } finally {
      await client.close();
    }
  });

  it('leaves the graph on close: rosnode and rostopic no longer show it', async () => {
    const before = await master.run('rosnode', ['list']);
    assert.match(before.stdout, /^\/qi_bridge$/m);
    await bridge.close();
    const nodes = await master.run('rosnode', ['list']);
    assert.doesNotMatch(nodes.stdout, /qi_bridge/);
    const info = await master.run('rostopic', ['info', '/qi/Robot/said']);
    assert.doesNotMatch(info.stdout, /qi_bridge/);
  });
});
