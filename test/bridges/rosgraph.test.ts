/**
 * The ROS graph bridge against a real ROS 1 graph (Debian's rosmaster, rostopic, rosnode and rospy):
 * qi signals published as topics, ROS topics emitted into qi, a clean leave, start-up refusals.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import net from 'node:net';
import { join } from 'node:path';
import {
  Dynamic as DynamicValue,
  LocalObject,
  Session,
  defineObject,
  method,
  signal,
  t,
  type Dynamic,
} from '../../src/index.js';
import { md5sum, messageTypeOf } from '../../src/bridges/index.js';
import { encodeHeader, frame } from '../../src/bridges/rosgraph/tcpros.js';
import { generatePython, rosSkip } from '../helpers/rosmaster.js';
import { rosGraphWorld } from '../helpers/rosgraph-world.js';
import { SERVICE_SERVER, SRV_CLASS } from '../helpers/rospy.js';
import { until } from '../helpers/until.js';

const Point = t.struct('Point', { x: t.int32, y: t.int32 });
const Path = t.struct('Path', { name: t.string, points: t.list(Point), blob: t.raw, big: t.int64, level: t.float });
const Robot = defineObject({
  methods: {
    add: method([t.int32, t.int32], t.int32, { paramNames: ['a', 'b'] }),
    greet: method([t.string], t.string, { paramNames: ['name'] }),
    secret: method([], t.void),
  },
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

/** A rospy client of /qi/Robot/add and /qi/Robot/greet. */
const SERVICE_CLIENT = `${SRV_CLASS}
Add = service('qi_srvs/Robot_add', 'int32 a\\nint32 b\\n---\\nint32 data\\n')
Greet = service('qi_srvs/Robot_greet', 'string name\\n---\\nstring data\\n')
h = rosservice.get_service_headers('/qi/Robot/add', rosservice.get_service_uri('/qi/Robot/add'))
print('MD5', h['md5sum'], Add._md5sum, flush=True)
rospy.init_node('qi_client', anonymous=True)
print('ADD', rospy.ServiceProxy('/qi/Robot/add', Add)(2, 3).data, flush=True)
greet = rospy.ServiceProxy('/qi/Robot/greet', Greet)
print('GREET', greet('ROS').data, flush=True)
try:
    greet('')
except rospy.ServiceException as e:
    print('ERROR', e, flush=True)
`;

describe('ROS graph bridge', { skip: rosSkip }, () => {
  let timer: NodeJS.Timeout;
  let n = 0;
  const ros = rosGraphWorld(
    'Robot',
    () =>
      new LocalObject(Robot, {
        add: (a, b) => a + b,
        greet: (name) => {
          if (name === '') throw new Error('greet needs a name');
          return `hello ${name}`;
        },
        secret: () => {},
      }),
    {
      allow: ['signal:Robot.*', 'method:Robot.add', 'method:Robot.greet'],
      subscribe: ['/chatter'],
      callServices: [
        { name: '/add_two_ints', type: 'qi_test/AddTwoInts', definition: 'int64 a\nint64 b\n---\nint64 sum\n' },
      ],
    },
    {
      // The robot keeps talking, as a real one does: subscribers that join late see the next emissions.
      started: ({ object: robot }) => {
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
      },
      stopping: () => clearInterval(timer),
    },
  );

  it('publishes a qi signal as a std_msgs topic: rostopic echo receives three emissions', async () => {
    const r = await ros.master.run('rostopic', ['echo', '-n', '3', '/qi/Robot/said']);
    assert.equal(r.code, 0, r.stderr);
    const seen = [...r.stdout.matchAll(/data: "hello (\d+)"/g)].map((m) => Number(m[1]));
    assert.equal(seen.length, 3, r.stdout);
    assert.deepEqual(seen, [seen[0], seen[0] + 1, seen[0] + 2]);
    const info = await ros.master.run('rostopic', ['info', '/qi/Robot/said']);
    assert.match(info.stdout, /Type: std_msgs\/String/);
    assert.match(info.stdout, /Publishers: \n \* \/qi_bridge \(http:\/\/127\.0\.0\.1:\d+\/\)/);
  });

  it('computes md5sums as ROS does: std_msgs as rosmsg says, structs as genpy says', async () => {
    const r = await ros.master.run('rosmsg', ['md5', 'std_msgs/String']);
    assert.equal(r.stdout.trim(), md5sum(messageTypeOf('S', 's', [{ kind: 'string' }]).spec));
    for (const [topic, type] of [
      ['/qi/Robot/walked', 'qi_msgs/Path'],
      ['/qi/Robot/fired', 'qi_msgs/Robot_fired'],
    ]) {
      const py = await ros.master.run('/usr/bin/python3', ['-c', ANY_SUBSCRIBER, topic, '2']);
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
      ros.warnings.some((w) => /Robot\.opaque is not published to ROS: .*map of string to int32/.test(w)),
      ros.warnings.join('\n'),
    );
    assert.equal(ros.bridge.topics.has('Robot.opaque'), false);
  });

  it('emits a ROS topic into qi: rostopic pub is seen by a qi watcher', async () => {
    const client = await Session.connect(ros.url, { lpc: false });
    try {
      const graph = await client.service('RosGraph');
      const got: Dynamic[] = [];
      await (graph.chatter as { connect(l: (d: Dynamic) => void): Promise<unknown> }).connect((d) => got.push(d));
      const pub = ros.master.spawn('rostopic', ['pub', '-r', '10', '/chatter', 'std_msgs/String', 'data: from ROS']);
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

  it('serves allowlisted qi methods as ROS services: a rospy client gets the answers, errors come back to it', async () => {
    assert.deepEqual(
      [...ros.bridge.services],
      [
        ['Robot.add', '/qi/Robot/add'],
        ['Robot.greet', '/qi/Robot/greet'],
      ],
    );
    const list = await ros.master.run('rosservice', ['list']);
    assert.match(list.stdout, /^\/qi\/Robot\/add$/m);
    assert.doesNotMatch(list.stdout, /secret/);
    const type = await ros.master.run('rosservice', ['type', '/qi/Robot/add']);
    assert.equal(type.stdout.trim(), 'qi_srvs/Robot_add');
    const py = await ros.master.run('/usr/bin/python3', ['-c', SERVICE_CLIENT]);
    assert.equal(py.code, 0, py.stderr);
    assert.match(py.stdout, /^MD5 (\w+) \1$/m);
    assert.match(py.stdout, /^ADD 5$/m);
    assert.match(py.stdout, /^GREET hello ROS$/m);
    assert.match(py.stdout, /^ERROR .*greet needs a name/m);
  });

  it('gives the generated types as .msg/.srv files: with their Python package, rosservice call and rostopic echo work', async () => {
    const files = ros.bridge.definitionFiles();
    assert.equal(files.get('qi_srvs/srv/Robot_add.srv'), 'int32 a\nint32 b\n---\nint32 data\n');
    assert.equal(files.get('qi_msgs/msg/Point.msg'), 'int32 x\nint32 y\n');
    const pythonPath = generatePython(files, join(ros.master.dir, 'types'));
    const env = { PYTHONPATH: pythonPath };
    const call = await ros.master.run('rosservice', ['call', '/qi/Robot/add', '2', '3'], 30_000, env);
    assert.equal(call.stdout.trim(), 'data: 5', call.stderr);
    const echo = await ros.master.run('rostopic', ['echo', '-n', '1', '/qi/Robot/walked'], 30_000, env);
    assert.match(echo.stdout, /name: "path \d+"\npoints: \n {2}- \n {4}x: \d+\n {4}y: -\d+/, echo.stderr);
  });

  it('answers a request that does not fit the service type with an error to the caller', async () => {
    const uri = await ros.master.run('rosservice', ['uri', '/qi/Robot/add']);
    const [, port] = /:(\d+)/.exec(uri.stdout)!;
    const answer = await new Promise<Buffer>((resolve) => {
      const s = net.connect(Number(port), '127.0.0.1');
      const chunks: Buffer[] = [];
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.write(encodeHeader({ callerid: '/x', service: '/qi/Robot/add', md5sum: '*' }));
      s.write(frame(Buffer.from([1, 2])));
    });
    const headerEnd = 4 + answer.readUInt32LE(0);
    assert.equal(answer[headerEnd], 0, 'ok byte 0');
    assert.match(
      answer.subarray(headerEnd + 5).toString(),
      /the request does not fit qi_srvs\/Robot_addRequest: the ROS message ends inside a/,
    );
  });

  it('calls a ROS service served by a rospy node from qi; its errors and values that do not fit reach the qi caller', async () => {
    const server = ros.master.spawn('/usr/bin/python3', ['-c', SERVICE_SERVER], 60_000);
    let out = '';
    server.child.stdout!.on('data', (d) => (out += d));
    const client = await Session.connect(ros.url, { lpc: false });
    try {
      await until(() => out.includes('READY'), 'the rospy service', 20_000);
      const graph = (await client.service('RosGraph')) as unknown as { add_two_ints(r: unknown): Promise<unknown> };
      const unwrap = (v: unknown) => (v instanceof DynamicValue ? v.value : v) as { sum: bigint };
      assert.equal(unwrap(await graph.add_two_ints({ a: 2, b: 40 })).sum, 42n);
      await assert.rejects(graph.add_two_ints({ a: -1, b: 0 }), /\/add_two_ints failed: .*a must not be negative/);
      await assert.rejects(graph.add_two_ints({ a: 'two', b: 0 }), /a: expected an int64/);
    } finally {
      await client.close();
      server.child.kill('SIGINT');
      await server.done;
    }
  });

  it('leaves the graph on close: rosnode and rostopic no longer show it', async () => {
    const before = await ros.master.run('rosnode', ['list']);
    assert.match(before.stdout, /^\/qi_bridge$/m);
    await ros.bridge.close();
    const nodes = await ros.master.run('rosnode', ['list']);
    assert.doesNotMatch(nodes.stdout, /qi_bridge/);
    const info = await ros.master.run('rostopic', ['info', '/qi/Robot/said']);
    assert.doesNotMatch(info.stdout, /qi_bridge/);
    const services = await ros.master.run('rosservice', ['list']);
    assert.doesNotMatch(services.stdout, /\/qi\//);
  });
});
