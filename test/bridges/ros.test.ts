/** The ROS bridge against real roslib clients over loopback, with a real SD and qi services. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { callService, subscribe, until, world } from './fixtures.js';

describe('ROS bridge: qi methods as ROS services', () => {
  let w: Awaited<ReturnType<typeof world>>;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  it('calls a qi method: args by name, as a list, as {data: [...]}; the result comes back as {data}', async () => {
    const ros = await w.ros();
    assert.deepEqual(await callService(ros, '/qi/Calculator/add', { a: 2, b: 3 }), { data: 5 });
    assert.deepEqual(await callService(ros, '/qi/Calculator/add', [40, 2]), { data: 42 });
    assert.deepEqual(await callService(ros, '/qi/Calculator/add', { data: [1, 1] }), { data: 2 });
    assert.deepEqual(
      await callService(ros, 'qi/Calculator/add', { arg0: 1, a: 1, b: 2 }).catch((e: Error) => e.message),
      'call_service: wrong args: qi/Calculator/add takes (a: int32, b: int32): pass args as a list [a, b] or an object {"a": …, "b": …} or {"data": [a, b]}',
    );
  });

  it('maps structs, bytes, int64, maps and overloads', async () => {
    const ros = await w.ros();
    assert.deepEqual(await callService(ros, '/qi/Calculator/norm1', { x: 3, y: -4 }), { data: 7 }); // the struct is the message
    assert.deepEqual(await callService(ros, '/qi/Calculator/norm1', { p: { x: 1, y: 1 } }), { data: 2 }); // by parameter name
    assert.deepEqual(await callService(ros, '/qi/Calculator/mirror', { x: 3, y: -4 }), { x: -3, y: 4 }); // a struct result is the response
    assert.deepEqual(await callService(ros, '/qi/Calculator/echoRaw', { data: 'AAEC/w==' }), { data: 'AAEC/w==' }); // raw as base64
    assert.deepEqual(await callService(ros, '/qi/Calculator/echoRaw', { data: [0, 1, 2, 255] }), { data: 'AAEC/w==' }); // or uint8[]
    assert.deepEqual(await callService(ros, '/qi/Calculator/big', { data: '9007199254740993' }), {
      data: '18014398509481986',
    }); // int64 beyond 2^53 as text
    assert.deepEqual(await callService(ros, '/qi/Calculator/big', [21]), { data: 42 });
    assert.deepEqual(await callService(ros, '/qi/Calculator/table', {}), { one: 1, two: 2 }); // a map with string keys is an object
    assert.deepEqual(await callService(ros, '/qi/Calculator/concat', ['a', 'b']), { data: 'a+b' });
    assert.deepEqual(await callService(ros, '/qi/Calculator/concat', ['a', 7]), { data: 'a+7' });
    assert.deepEqual(await callService(ros, '/qi/Calculator/record', { text: 'hi' }), {}); // void: an empty response
    assert.deepEqual(w.recorded, ['hi']);
  });

  it('answers wrong args, unknown names and failing methods with a failed response and an error status', async () => {
    const ros = await w.ros();
    const fails = (name: string, args: unknown) =>
      callService(ros, name, args).then(
        () => assert.fail(`${name} succeeded`),
        (e: Error) => e.message,
      );
    assert.match(
      await fails('/qi/Calculator/add', { a: 'two', b: 3 }),
      /wrong args: \/qi\/Calculator\/add: args\.a: expected int32, got string "two"/,
    );
    assert.match(await fails('/qi/Calculator/add', [1]), /takes \(a: int32, b: int32\)/);
    assert.match(await fails('/qi/Calculator/norm1', { x: 1 }), /the field "y" \(int32\) is missing/);
    assert.match(await fails('/qi/Calculator/norm1', { x: 1, y: 2, z: 3 }), /unknown field z/);
    assert.match(await fails('/qi/Calculator/echoRaw', { data: 'not base64!' }), /text must be base64/);
    assert.match(
      await fails('/qi/Calculator/nope', {}),
      /unknown name \/qi\/Calculator\/nope: the qi service Calculator has no member "nope" \(methods: add, norm1/,
    );
    assert.match(await fails('/qi/Calculator/fired', {}), /is a qi signal, not a method/);
    assert.match(await fails('/qi/Calculator/fail', { data: 'why' }), /failed on purpose: why/);
    assert.match(
      await fails('/rosapi/topics', {}),
      /unknown name \/rosapi\/topics: this bridge only maps qi members, named \/qi\/<Service>\/<member>/,
    );
    // The status message carries the id of the call.
    const raw = await w.raw();
    raw.send({ op: 'call_service', id: 'c1', service: '/qi/Calculator/add', args: { a: true } });
    const st = await raw.next((m) => m.op === 'status', 'status');
    assert.deepEqual([st.id, st.level], ['c1', 'error']);
    assert.match(String(st.msg), /args\.a: expected int32, got boolean true/);
    const resp = await raw.next((m) => m.op === 'service_response', 'service_response');
    assert.deepEqual([resp.id, resp.result, resp.service], ['c1', false, '/qi/Calculator/add']);
  });

  it('honours the call timeout given by the ROS client', async () => {
    const ros = await w.ros();
    const e = await callService(ros, '/qi/Calculator/slow', { data: 3000 }, 0.2).then(
      () => assert.fail('no timeout'),
      (x: Error) => x.message,
    );
    assert.match(e, /within 200 ms/);
  });

  it('refuses what the allowlist does not name, before looking anything up, and says which rule to add', async () => {
    const ros = await w.ros();
    const e = await callService(ros, '/qi/Secret/launch', {}).then(
      () => assert.fail('allowed'),
      (x: Error) => x.message,
    );
    assert.equal(
      e,
      "call_service: /qi/Secret/launch is not allowlisted: calling Secret.launch is not allowed by this bridge's rules (its operator may add --allow 'method:Secret.launch')",
    );
    const missing = await callService(ros, '/qi/NoSuchService/x', {}).then(
      () => assert.fail('allowed'),
      (x: Error) => x.message,
    );
    assert.match(missing, /not allowlisted/); // an unlisted service that does not exist reads the same
  });
});

describe('ROS bridge: qi signals and properties as topics', () => {
  let w: Awaited<ReturnType<typeof world>>;
  before(async () => {
    w = await world();
  });
  after(() => w.close());

  it('streams a signal: one argument as {data}, a struct as the message, several as {data: [...]}', async () => {
    const ros = await w.ros();
    const base = w.bridge.metrics.subscriptions;
    const said = subscribe(ros, '/qi/Calculator/said');
    const fired = subscribe(ros, '/qi/Calculator/fired');
    const moved = subscribe(ros, '/qi/Calculator/moved');
    await until(() => w.bridge.metrics.subscriptions === base + 3, 'the subscriptions');
    w.calc.emit('said', 'hello');
    w.calc.emit('fired', 7, 'seven');
    w.calc.emit('moved', { x: 1, y: 2 });
    assert.deepEqual(await said.next(), { data: 'hello' });
    assert.deepEqual(await fired.next(), { data: [7, 'seven'] });
    assert.deepEqual(await moved.next(), { x: 1, y: 2 });
  });

  it('latches a property: its value at once, then each change', async () => {
    const ros = await w.ros();
    const volume = subscribe(ros, '/qi/Calculator/volume');
    assert.deepEqual(await volume.next(), { data: 0.5 });
    w.calc.set('volume', 0.25);
    assert.deepEqual(await volume.next(), { data: 0.25 });
  });

  it('stops on unsubscribe, and two clients of one topic each get every message', async () => {
    const [a, b] = [await w.ros(), await w.ros()];
    const base = w.bridge.metrics.subscriptions;
    const sa = subscribe(a, '/qi/Calculator/said');
    const sb = subscribe(b, '/qi/Calculator/said');
    await until(() => w.bridge.metrics.subscriptions === base + 2, 'two subscriptions');
    w.calc.emit('said', 'one');
    assert.deepEqual([await sa.next(), await sb.next()], [{ data: 'one' }, { data: 'one' }]);
    sa.topic.unsubscribe();
    await until(() => w.bridge.metrics.subscriptions === base + 1, 'one subscription left');
    w.calc.emit('said', 'two');
    assert.deepEqual(await sb.next(), { data: 'two' });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sa.queue.length, 0);
  });

  it('throttles a topic on throttle_rate, keeping the newest message', async () => {
    const ros = await w.ros();
    const base = w.bridge.metrics.subscriptions;
    const s = subscribe(ros, '/qi/Calculator/said', { throttle_rate: 150 });
    await until(() => w.bridge.metrics.subscriptions === base + 1, 'the subscription');
    for (let i = 0; i < 5; i++) w.calc.emit('said', `m${i}`);
    assert.deepEqual(await s.next(), { data: 'm0' });
    assert.deepEqual(await s.next(), { data: 'm4' });
    s.topic.unsubscribe();
  });

  it('refuses topics the allowlist does not name, with an error status', async () => {
    const raw = await w.raw();
    raw.send({ op: 'subscribe', id: 's1', topic: '/qi/Secret/launch' });
    const st = await raw.next((m) => m.op === 'status', 'status');
    assert.equal(st.id, 's1');
    assert.match(String(st.msg), /subscribe: \/qi\/Secret\/launch is not allowlisted/);
  });
});
