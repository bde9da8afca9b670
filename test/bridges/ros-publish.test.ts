/** The ROS bridge: ROS publishing into qi, ROS nodes serving qi clients, protocol errors, start-up refusals. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Dynamic, Gateway, QiError, Session } from '../../src/index.js';
import { RosBridge } from '../../src/bridges/index.js';
import { Service, Topic, callService, statusOf, subscribe, until, within, world } from './fixtures.js';

describe('ROS bridge: publishing into qi', () => {
  let w: Awaited<ReturnType<typeof world>>;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  it('posts to a qi method, emits a qi signal, sets a qi property', async () => {
    const ros = await w.ros();
    const record = new Topic({ ros, name: '/qi/Calculator/record', messageType: 'std_msgs/String' });
    record.publish({ data: 'from ROS' });
    await until(() => w.recorded.includes('from ROS'), 'the post to Calculator.record');

    const said: string[] = [];
    const client = await Session.connect(w.url, { lpc: false });
    try {
      const calc = await client.service('Calculator');
      await (calc.said as { connect(l: (s: string) => void): Promise<unknown> }).connect((s) => said.push(s));
      const topic = new Topic({ ros, name: '/qi/Calculator/said', messageType: 'std_msgs/String' });
      topic.publish({ data: 'emitted from ROS' });
      await until(() => said.includes('emitted from ROS'), 'the signal on a qi client');

      const moved = new Topic({ ros, name: '/qi/Calculator/fired', messageType: 'qi/Fired' });
      const fired: unknown[][] = [];
      await (calc.fired as { connect(l: (...a: unknown[]) => void): Promise<unknown> }).connect((...a) =>
        fired.push(a),
      );
      moved.publish({ data: [3, 'three'] });
      await until(() => fired.length === 1, 'fired');
      assert.deepEqual(fired[0], [3, 'three']);

      new Topic({ ros, name: '/qi/Calculator/volume', messageType: 'std_msgs/Float32' }).publish({ data: 0.75 });
      await until(() => w.calc.get('volume') === 0.75, 'the property set');
    } finally {
      await client.close();
    }
    // The bridge counts a publish once the qi side answered, which may come after a client saw it.
    await until(() => w.bridge.metrics.published === 4, 'four publishes counted');
  });

  it('answers a publish that does not fit, or is not allowlisted, with an error status', async () => {
    const raw = await w.raw();
    raw.send({ op: 'publish', id: 'p1', topic: '/qi/Calculator/said', msg: { data: 42 } });
    const st = await raw.next((m) => m.op === 'status' && m.id === 'p1', 'status p1');
    assert.equal(st.msg, 'publish: wrong msg: /qi/Calculator/said: args.data: expected string, got number 42');
    raw.send({ op: 'advertise', id: 'a1', topic: '/qi/Secret/launch', type: 'std_msgs/Empty' });
    assert.match(
      String((await raw.next((m) => m.id === 'a1', 'status a1')).msg),
      /advertise: \/qi\/Secret\/launch is not allowlisted/,
    );
    raw.send({ op: 'unadvertise', id: 'u1', topic: '/qi/Calculator/said' });
    raw.send({ op: 'set_level', level: 'warning' });
    raw.send({ op: 'unadvertise', id: 'u2', topic: '/qi/Calculator/said' });
    const warning = await raw.next((m) => m.id === 'u2', 'warning u2');
    assert.deepEqual(
      [warning.level, warning.msg],
      ['warning', 'unadvertise: /qi/Calculator/said was not advertised by this client'],
    );
    assert.equal(raw.received.filter((m) => m.id === 'u1').length, 0); // warnings were below the default level (error)
  });
});

describe('ROS bridge: ROS nodes serving qi clients (advertise_service)', () => {
  let w: Awaited<ReturnType<typeof world>>;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  it('registers a qi service whose method forwards to the ROS node; answers and failures reach the qi caller', async () => {
    const ros = await w.ros();
    const plan = new Service<{ a: number; b: number }, { sum: number; note: string }>({
      ros,
      name: '/qi/RosPlanner/plan',
      serviceType: 'rospy_tutorials/AddTwoInts',
    });
    await plan.advertiseAsync(async (req) => {
      if (req.a < 0) throw new Error('negative goals are not plannable');
      return { sum: req.a + req.b, note: 'planned' };
    });
    const client = await Session.connect(w.url, { lpc: false });
    try {
      const planner = await client.waitForService('RosPlanner', 5000);
      const result = (await within(
        planner.plan({ a: 2, b: 40 }) as Promise<Dynamic>,
        'qi call to the ROS node',
      )) as Dynamic;
      assert.ok(result instanceof Dynamic);
      assert.equal(result.signature, '(is)<Response,sum,note>');
      assert.deepEqual(result.value, { sum: 42, note: 'planned' });
      await assert.rejects(planner.plan({ a: -1, b: 0 }), /negative goals are not plannable/);

      // A second method of the same qi service, from a second ROS node.
      const other = await w.ros();
      const ping = new Service<Record<string, never>, { data: string }>({
        ros: other,
        name: '/qi/RosPlanner/ping',
        serviceType: 'std_srvs/Trigger',
      });
      await ping.advertiseAsync(async () => ({ data: 'pong' }));
      await until(
        async () =>
          (await client.services()).find((s) => s.name === 'RosPlanner') !== undefined &&
          (await client.service('RosPlanner').then(
            (p) => 'ping' in p,
            () => false,
          )),
        'the ping method',
      );
      const again = await client.service('RosPlanner');
      assert.deepEqual(((await again.ping()) as Dynamic).value, { data: 'pong' });

      // The ROS node leaves: its method goes, the other stays; when both are gone, so is the service.
      other.close();
      await until(
        async () =>
          client.service('RosPlanner').then(
            (p) => !('ping' in p) && 'plan' in p,
            () => false,
          ),
        'ping removed',
      );
      await plan.unadvertise();
      await until(
        async () => !(await client.services()).some((s) => s.name === 'RosPlanner'),
        'the service unregistered',
      );
    } finally {
      await client.close();
    }
  });

  it('a qi caller of a ROS node that disconnects mid-call gets an error, not a hang', async () => {
    const ros = await w.ros();
    const slow = new Service({ ros, name: '/qi/RosPlanner/never', serviceType: 'std_srvs/Trigger' });
    await slow.advertiseAsync(() => new Promise(() => {}));
    const client = await Session.connect(w.url, { lpc: false });
    try {
      const planner = await client.waitForService('RosPlanner', 5000);
      const pending = planner.never();
      await new Promise((r) => setTimeout(r, 50));
      ros.close();
      await assert.rejects(
        within(pending, 'the failed call'),
        /disconnected before answering|stopped answering|closed/,
      );
    } finally {
      await client.close();
    }
  });

  it("a ROS node's failed response reaches the qi caller with what the node said (roslib 1 sends the response object)", async () => {
    const raw = await w.raw();
    raw.send({ op: 'advertise_service', id: 'a', service: '/qi/RosPlanner/trigger', type: 'std_srvs/Trigger' });
    const client = await Session.connect(w.url, { lpc: false });
    try {
      const planner = await client.waitForService('RosPlanner', 5000);
      for (const [values, expected] of [
        [
          { success: false, message: 'battery too low' },
          /: the ROS service \/qi\/RosPlanner\/trigger failed: battery too low$/,
        ],
        [{ code: 7 }, /failed; its response: \{"code":7\}$/],
        ['arm is stuck', /: arm is stuck$/],
        [{ message: 'x'.repeat(5000) }, /failed: x{900,1000}…$/],
      ] as const) {
        const pending = planner.trigger();
        const call = await raw.next((m) => m.op === 'call_service', 'the forwarded call');
        raw.send({ op: 'service_response', id: call.id, service: call.service, values, result: false });
        await assert.rejects(within(pending, 'the failed call'), (e: Error) => expected.test(e.message));
      }
    } finally {
      await client.close();
    }
  });

  it('refuses services outside the prefix, not allowlisted, or already on the bus', async () => {
    const raw = await w.raw();
    raw.send({ op: 'advertise_service', id: 'x', service: '/add_two_ints', type: 'rospy_tutorials/AddTwoInts' });
    assert.match(
      String((await raw.next((m) => m.op === 'status', 'status')).msg),
      /ROS services offered to qi must be named \/qi\/<Service>\/<method>/,
    );
    raw.send({ op: 'advertise_service', service: '/qi/Sneaky/x', type: 't' });
    assert.match(
      String((await raw.next((m) => m.op === 'status', 'status')).msg),
      /not allowlisted: serving the qi service Sneaky .*--allow 'serve:Sneaky\.\*'/,
    );
    await w.bridge.close();
    const b = await RosBridge.start({
      sd: w.url,
      listen: 'ws://127.0.0.1:0',
      allow: ['serve:Calculator.*'],
      insecureUnauthenticated: true,
      onWarning: () => {},
    });
    try {
      const { Ros } = await import('./fixtures.js');
      const ros = new Ros({});
      const open = new Promise((r) => ros.once('connection', r));
      await ros.connect(b.endpoint!);
      await within(open, 'connection');
      ros.callOnConnection({ op: 'advertise_service', id: 'dup', service: '/qi/Calculator/add', type: 't' } as never);
      const st = await statusOf(ros, 'dup');
      assert.match(st.msg, /cannot serve \/qi\/Calculator\/add as the qi method Calculator\.add: .*already registered/);
      ros.close();
    } finally {
      await b.close();
    }
  });
});

describe('ROS bridge: protocol errors and start-up', () => {
  let w: Awaited<ReturnType<typeof world>>;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  it('answers malformed JSON, unknown ops and bad fields with status errors; the connection and other clients stay healthy', async () => {
    const healthy = await w.ros();
    const said = subscribe(healthy, '/qi/Calculator/said');
    const raw = await w.raw();
    raw.send('{"op": "call_service", nope');
    assert.match(
      String((await raw.next((m) => m.op === 'status', 'status')).msg),
      /^malformed JSON .*rosbridge messages are JSON objects with an "op" field/,
    );
    raw.send('[1, 2]');
    assert.match(
      String((await raw.next((m) => m.op === 'status', 'status')).msg),
      /a rosbridge message is a JSON object/,
    );
    raw.send({ op: 'teleport', id: 't1' });
    const st = await raw.next((m) => m.op === 'status', 'status');
    assert.equal(st.id, 't1');
    assert.match(String(st.msg), /^unknown op "teleport"; this bridge understands call_service, subscribe/);
    raw.send({ op: 'subscribe', id: 's1' });
    assert.equal(
      (await raw.next((m) => m.op === 'status', 'status')).msg,
      'subscribe: the "topic" field is missing or not a string',
    );
    raw.ws.send(Buffer.from([0xa1, 0x62]), { binary: true });
    assert.match(
      String((await raw.next((m) => m.op === 'status', 'status')).msg),
      /binary messages \(CBOR, BSON\) are not supported/,
    );
    raw.send({ op: 'auth', mac: 'x' });
    assert.match(String((await raw.next((m) => m.op === 'status', 'status')).msg), /this bridge has no authentication/);
    // Fragments reassemble into one operation.
    const whole = JSON.stringify({ op: 'call_service', id: 'f', service: '/qi/Calculator/add', args: [1, 2] });
    raw.send({ op: 'fragment', id: 'fr', data: whole.slice(0, 20), num: 0, total: 2 });
    raw.send({ op: 'fragment', id: 'fr', data: whole.slice(20), num: 1, total: 2 });
    assert.deepEqual((await raw.next((m) => m.op === 'service_response', 'fragmented call')).values, { data: 3 });
    // Still healthy: this connection and the other client.
    raw.send({ op: 'call_service', id: 'ok', service: '/qi/Calculator/add', args: { a: 1, b: 1 } });
    assert.deepEqual((await raw.next((m) => m.op === 'service_response', 'call')).values, { data: 2 });
    assert.deepEqual(await callService(healthy, '/qi/Calculator/add', [2, 2]), { data: 4 });
    await until(() => w.bridge.metrics.subscriptions >= 1, 'subscription');
    w.calc.emit('said', 'still here');
    assert.deepEqual(await said.next(), { data: 'still here' });
    assert.equal(w.bridge.metrics.refused, 6); // the six bad messages above; failed calls are not refusals
  });

  it('refuses web pages from origins it was not told to accept', async () => {
    await assert.rejects(w.raw({ origin: 'http://evil.example' }), /HTTP 403/);
    const res = await fetch(w.bridge.endpoint!.replace('ws:', 'http:'));
    assert.equal(res.status, 426);
    assert.match(await res.text(), /rosbridge v2 WebSocket endpoint/);
  });

  it('refuses to start without the acknowledgement, on a non-loopback address without confirmation, or with a bad rule', async () => {
    const start = (o: Record<string, unknown>) =>
      RosBridge.start({
        sd: w.url,
        listen: 'ws://127.0.0.1:0',
        onWarning: () => {},
        insecureUnauthenticated: true,
        ...o,
      });
    await assert.rejects(
      start({ insecureUnauthenticated: undefined }),
      (e: QiError) =>
        e.code === 'ERR_QI_CONFIG' && /has no authentication.*--insecure-unauthenticated/s.test(e.message),
    );
    await assert.rejects(
      start({ listen: 'ws://0.0.0.0:0' }),
      (e: QiError) => e.code === 'ERR_QI_CONFIG' && /not a loopback address.*--allow-non-loopback/s.test(e.message),
    );
    await assert.rejects(start({ listen: 'wss://127.0.0.1:0' }), /listens on ws:\/\/host:port/);
    await assert.rejects(start({ allow: ['write:Calculator.add'] }), /unknown kind "write"/);
    const warnings: string[] = [];
    const open = await RosBridge.start({
      sd: w.url,
      listen: 'ws://0.0.0.0:0',
      allowNonLoopback: true,
      insecureUnauthenticated: true,
      onWarning: (m) => warnings.push(m),
    });
    await open.close();
    assert.match(warnings.join('\n'), /WITHOUT AUTHENTICATION/);
    assert.match(warnings.join('\n'), /allows nothing \(deny by default\)/);
  });

  it("runs on the port of a Gateway's ws listener (listen: null and the httpHandler)", async () => {
    const bridge = await RosBridge.start({
      sd: w.url,
      listen: null,
      allow: ['method:Calculator.add'],
      insecureUnauthenticated: true,
      onWarning: () => {},
    });
    const gw = await Gateway.start({ sd: w.url, listen: 'ws://127.0.0.1:0/qi', http: bridge.httpHandler });
    try {
      const { Ros } = await import('./fixtures.js');
      const ros = new Ros({});
      const open = new Promise((r) => ros.once('connection', r));
      await ros.connect(`${gw.endpoints[0].replace(/\/qi$/, '')}/rosbridge`);
      await within(open, 'roslib through the gateway port');
      assert.deepEqual(await callService(ros, '/qi/Calculator/add', [1, 2]), { data: 3 });
      ros.close();
    } finally {
      await gw.close();
      await bridge.close();
    }
  });
});
