/**
 * Lanes (docs/reliability.md): small calls made while a large message crosses a slow link, either way,
 * complete before it, over a second connection; what libqi binds to a connection (signal subscriptions,
 * objects) keeps working; a server that refuses the lane gets the calls on the main connection. Through
 * a throttled relay at 1 MiB/s; assertions on order, not on time.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Session, listenStandalone, type AnyProxy, type SessionOptions } from '../../src/index.js';
import { calculator, counter } from '../object/fixtures.js';
import { FaultRelay } from '../helpers/relay.js';
import { MiB, bulk, race, until } from '../helpers/lanes.js';

const open: Session[] = [];
after(async () => {
  await Promise.all(open.map((s) => s.close()));
});
const keep = (s: Session) => (open.push(s), s);

/** A standalone SD serving Bulk and Calculator, reached through a relay at 1 MiB/s each way. */
async function slowHost(options: SessionOptions = {}, client: SessionOptions = {}) {
  const sd = keep(await listenStandalone('tcp://127.0.0.1:0', { ipc: false, ...options }));
  const calcObject = calculator();
  await sd.registerService('Bulk', bulk());
  await sd.registerService('Calculator', calcObject);
  const relay = await FaultRelay.start(sd.endpoints[0]);
  relay.rate = MiB;
  const c = keep(await Session.connect(relay.url, { ipc: false, lpc: false, ...client }));
  const big = (await c.service('Bulk')) as AnyProxy;
  const calc = (await c.service('Calculator')) as AnyProxy;
  return { sd, relay, c, big, calc, calcObject };
}

/** The lane of the connection of `proxy`. */
const laneOf = (session: Session, proxy: unknown) => session.laneOf(Session.channelOf(proxy)!);

describe('lanes', () => {
  it('a large argument crossing a slow link: 20 small calls made meanwhile complete before it', async () => {
    const { relay, c, big, calc } = await slowHost();
    const smalls = Array.from({ length: 20 }, (_, i) => () => calc.add(i, 1) as Promise<number>);
    const order = await race(() => big.size(Buffer.alloc(2 * MiB, 1)), smalls);
    assert.equal(order.at(-1), 'big', `order of completion: ${order.join(' ')}`);
    assert.equal(relay.connections, 2, 'one lane, opened once');
    assert.ok(laneOf(c, calc)?.channel !== undefined);
    assert.equal(await calc.add(2, 2), 4, 'the main connection is still fine');
  });

  it('a large answer crossing a slow link: 20 small calls made meanwhile complete before it', async () => {
    const { relay, big, calc } = await slowHost();
    const smalls = Array.from({ length: 20 }, (_, i) => () => calc.add(i, 1) as Promise<number>);
    const order = await race(
      () => big.blob(2 * MiB),
      smalls,
      () => until(() => relay.bytes.down > 256 * 1024), // the answer is coming in
    );
    assert.equal(order.at(-1), 'big', `order of completion: ${order.join(' ')}`);
    assert.equal(relay.connections, 2);
  });

  it('signals subscribed while the lane is in use arrive on the main connection', async () => {
    const { c, big, calc, calcObject } = await slowHost();
    const got: unknown[][] = [];
    const fired = calc.fired as { connect(l: (...a: unknown[]) => void): Promise<unknown> };
    const sent = big.size(Buffer.alloc(MiB, 1));
    assert.equal(await calc.add(1, 1), 2, 'the lane is open');
    await fired.connect((...a) => got.push(a));
    await sent;
    laneOf(c, calc)!.channel!.close(); // events do not depend on the lane
    calcObject.emit('fired', 7, 'seven');
    await until(() => got.length > 0);
    assert.deepEqual(got, [[7, 'seven']]);
  });

  it('objects by reference: received on the lane they work there; passed as arguments, they go on the main connection', async () => {
    const { c, big, calc } = await slowHost();
    const mine = (await calc.makeCounter(10)) as AnyProxy; // on the main connection
    let made: AnyProxy | undefined;
    const order = await race(
      () => big.size(Buffer.alloc(MiB, 1)),
      [
        async () => (made = (await calc.makeCounter(5)) as AnyProxy), // small: on the lane
        () => calc.useCounter(counter(20)).then((n) => assert.equal(n, 22)), // bound to the main connection
        () => mine.increment().then((n) => assert.equal(n, 11)), // an object of the main connection stays there
      ],
    );
    assert.deepEqual(order.slice(0, 2), [0, 'big'], `order of completion: ${order.join(' ')}`);
    const lane = laneOf(c, calc)!.channel;
    assert.ok(lane !== undefined && Session.channelOf(made) === lane, 'an object received on the lane lives there');
    assert.equal(Session.channelOf(mine), Session.channelOf(calc));
    assert.equal(await made!.increment(), 6, 'the lane stays while an object lives on it');
  });

  it('a server that refuses the lane: calls go on the main connection without error, and it is asked twice only', async () => {
    let asked = 0;
    const rotated = {
      authenticate: () =>
        ++asked === 1 ? { outcome: 'done' as const } : { outcome: 'refused' as const, reason: 'rotated' },
    };
    const { relay, big, calc } = await slowHost({ authenticator: rotated }, { auth: { user: 'nao', token: 't' } });
    for (let round = 1; round <= 3; round++) {
      const order = await race(() => big.size(Buffer.alloc(MiB / 2, 1)), [() => calc.add(round, 1)]);
      assert.deepEqual(order, ['big', 0], 'the small call waited on the main connection');
    }
    assert.equal(asked, 3, 'the session, then two refused lanes');
    assert.equal(relay.connections, 1);
  });
});
