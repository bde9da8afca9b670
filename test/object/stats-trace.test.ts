/**
 * libqi's statistics and trace built-ins (ids 80–86) on our objects, at the wire level: calls by member
 * id, answers and events decoded with the signatures the spec quotes (qi-protocol.md §5.4), as a libqi
 * `qicli top` / `qicli trace` would send and read them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dynamic } from '../../src/index.js';
import { InProcessBackend, createProxy, type Message } from '../../src/wire.js';
import { calculator, served } from './fixtures.js';

// Spelled out from the spec, not imported: the test checks our bytes against libqi's signatures.
const MMS = '(fff)<MinMaxSum,minValue,maxValue,cumulatedValue>';
const STATS = `{I(I${MMS}${MMS}${MMS})<MethodStatistics,count,wall,user,system>}`;
const TRACE =
  '((IiIm(ll)<timeval,tv_sec,tv_usec>llII)<EventTrace,id,kind,slotId,arguments,timestamp,userUsTime,systemUsTime,callerContext,calleeContext>)';

interface MinMaxSum {
  minValue: number;
  maxValue: number;
  cumulatedValue: number;
}
interface MethodStatistics {
  count: number;
  wall: MinMaxSum;
  user: MinMaxSum;
  system: MinMaxSum;
}
interface EventTrace {
  id: number;
  kind: number;
  slotId: number;
  arguments: Dynamic;
  timestamp: { tv_sec: bigint; tv_usec: bigint };
  userUsTime: bigint;
  systemUsTime: bigint;
  callerContext: number;
  calleeContext: number;
}

const at = (action: number) => ({ service: 2, object: 1, action });

describe('statistics built-ins (80–83)', () => {
  it('count calls per method with wall, user and system time in seconds, until cleared or disabled', async () => {
    const { client, proxy } = await served();
    try {
      assert.equal(await client.call(at(80), '()', [], 'b'), false);
      await client.call(at(81), '(b)', [true], 'v');
      assert.equal(await client.call(at(80), '()', [], 'b'), true);
      for (let i = 0; i < 3; i++) await proxy.add(i, 1);
      await assert.rejects(proxy.fail('x'));
      assert.equal(await proxy.slow(30), 30);
      const stats = (await client.call(at(82), '()', [], STATS)) as Map<number, MethodStatistics>;
      assert.deepEqual(
        [...stats.keys()].sort(),
        [100, 103, 104],
        'add, fail and slow (failed calls count too, as in libqi)',
      );
      assert.equal(stats.get(100)!.count, 3);
      assert.equal(stats.get(103)!.count, 1);
      const slow = stats.get(104)!;
      assert.equal(slow.count, 1);
      assert.ok(
        slow.wall.minValue >= 0.025 && slow.wall.minValue < 10,
        `wall time of slow(30) in seconds: ${slow.wall.minValue}`,
      );
      assert.equal(slow.wall.maxValue, slow.wall.minValue);
      const add = stats.get(100)!;
      assert.ok(add.wall.minValue <= add.wall.maxValue && add.wall.cumulatedValue >= add.wall.maxValue);
      assert.ok(add.user.cumulatedValue >= 0 && add.system.cumulatedValue >= 0);

      await client.call(at(83), '()', [], 'v');
      assert.equal(
        ((await client.call(at(82), '()', [], STATS)) as Map<number, unknown>).size,
        0,
        'clearStats empties them',
      );
      await client.call(at(81), '(b)', [false], 'v');
      await proxy.add(1, 1);
      assert.equal(
        ((await client.call(at(82), '()', [], STATS)) as Map<number, unknown>).size,
        0,
        'nothing counted while disabled',
      );
      assert.equal(await client.call(at(80), '()', [], 'b'), false);
    } finally {
      client.close();
    }
  });

  it('are answered for in-process proxies too', async () => {
    const object = calculator();
    const proxy = createProxy(new InProcessBackend(object, 'Calculator'));
    await proxy.enableStats(true);
    await proxy.add(1, 2);
    const stats = (await proxy.stats()) as Map<number, MethodStatistics>;
    assert.equal(stats.get(100)?.count, 1);
    assert.equal(await proxy.isStatsEnabled(), true);
  });
});

describe('trace built-ins (84–86)', () => {
  it('emit traceObject for each call, result, error and signal while someone is subscribed', async () => {
    const { client, proxy, object } = await served();
    const events: EventTrace[] = [];
    let waiters: (() => void)[] = [];
    const off = client.onEvent(2, 1, (m: Message) => {
      if (m.action !== 86) return;
      events.push((m.decode(TRACE) as [EventTrace])[0]);
      for (const w of waiters.splice(0)) w();
    });
    const until = async (n: number) => {
      const deadline = Date.now() + 3000;
      while (events.length < n) {
        if (Date.now() > deadline)
          throw new Error(
            `expected ${n} trace events, got ${events.length}: ${JSON.stringify(events.map((e) => [e.kind, e.slotId]))}`,
          );
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          waiters.push(() => (clearTimeout(t), r()));
        });
      }
    };
    try {
      assert.equal(await client.call(at(84), '()', [], 'b'), false);
      // Subscribing to traceObject turns tracing on, as with libqi (qicli trace only subscribes).
      await client.call(at(0), '(IIL)', [2, 86, 7n], 'L');
      assert.equal(await client.call(at(84), '()', [], 'b'), true);
      const before = Date.now();
      assert.equal(await proxy.add(40, 2), 42);
      await until(2);
      const [call, result] = events;
      assert.deepEqual([call.kind, call.slotId, result.kind, result.slotId, result.id], [1, 100, 2, 100, call.id]);
      assert.equal(call.arguments.signature, '[m]');
      assert.deepEqual(
        (call.arguments.value as Dynamic[]).map((d) => [d.signature, d.value]),
        [
          ['i', 40],
          ['i', 2],
        ],
      );
      assert.deepEqual([result.arguments.signature, result.arguments.value], ['i', 42]);
      const ms = Number(call.timestamp.tv_sec) * 1000 + Number(call.timestamp.tv_usec) / 1000;
      assert.ok(ms >= before - 1000 && ms <= Date.now() + 1000, `timestamp is wall-clock time: ${ms} vs ${before}`);
      assert.ok(call.calleeContext > 0);

      await assert.rejects(proxy.fail('why'));
      await until(4);
      assert.deepEqual([events[2].kind, events[3].kind, events[3].id], [1, 3, events[2].id]);
      assert.notEqual(events[2].id, call.id, 'each call has its own trace id');
      assert.deepEqual([events[3].arguments.signature, events[3].arguments.value], ['s', 'failed on purpose: why']);

      object.emit('fired', 5, 'five');
      await until(5);
      assert.deepEqual([events[4].kind, events[4].slotId], [4, 109]);
      assert.deepEqual(
        (events[4].arguments.value as Dynamic[]).map((d) => d.value),
        [5, 'five'],
      );

      // Raw bytes are not copied into traces (libqi: "<??>" per argument, "**UNSERIALIZABLE**" for a value).
      await proxy.echoRaw(new Uint8Array(1000));
      await until(7);
      assert.deepEqual(
        (events[5].arguments.value as Dynamic[]).map((d) => d.value),
        ['<??>'],
      );
      assert.deepEqual(events[6].arguments.value, '**UNSERIALIZABLE**');

      await client.call(at(1), '(IIL)', [2, 86, 7n], 'v');
      assert.equal(await client.call(at(84), '()', [], 'b'), false, 'the last subscriber leaving turns tracing off');
      await proxy.add(1, 1);
      await client.call(at(85), '(b)', [true], 'v');
      assert.equal(await client.call(at(84), '()', [], 'b'), true, 'enableTrace(true) turns it on explicitly');
      await client.call(at(85), '(b)', [false], 'v');
      assert.equal(events.length, 7, 'no events without a subscriber');
    } finally {
      off();
      waiters = [];
      client.close();
    }
  });
});
