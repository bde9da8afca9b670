/**
 * Hostile callers of a DirectLinkHost, over real sockets on loopback: a client that knows a link's id
 * (ids are not secret: they are in ice: URLs and logs) but not its restart key cannot move the link,
 * which goes on working for its owner; a flood of restarts is refused past its bounds and costs the
 * host no peer connection beyond them; restart keys are never printed (errors, traces, inspected
 * objects); one connection cannot take every link slot; and calls in flight on a link that broke say
 * so and what to do.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Builtin } from '../../src/object/index.js';
import { Gateway, LocalObject, Session, type AnyProxy } from '../../src/index.js';
import { DirectLink, DirectLinkDefinition, DirectLinkHost } from '../../src/remote/index.js';
import { RestartBudget } from '../../src/remote/ice/restarts.js';
import { loadStack, type IcePeer } from '../../src/remote/ice/stack.js';
import { iceHost } from '../helpers/ice-host.js';
import { until } from '../helpers/until.js';

/** A peer connection's offer (loopback candidates), as an attacker would send it. */
async function offer(): Promise<{ pc: IcePeer; sdp: string }> {
  const pc = (await loadStack()).createPeer({ servers: [], hostAddress: '127.0.0.1' });
  pc.createChannel();
  return { pc, sdp: await pc.describe('offer', 1000) };
}

const REFUSED = /Restart refused: no movable link with that id and key here: a link moves only for the opener/;

describe('restarts through a public gateway: only the link’s opener moves it', () => {
  const fx = iceHost({ host: false });
  let pub: Gateway;
  let robot: Session;
  let host: DirectLinkHost;
  let bob: Session;
  let eve: Session;
  const user = (token: string, allow: string[]) => ({ token, allow });
  before(async () => {
    pub = await Gateway.start({
      sd: fx.sd.endpoints[0],
      listen: 'tcp://127.0.0.1:0',
      access: {
        users: {
          robot: user('robot-pw', ['register:DirectLink']),
          bob: user('bob-pw', ['DirectLink']),
          eve: user('eve-pw', ['DirectLink']),
        },
      },
    });
    robot = await Session.connect(pub.url, { auth: { user: 'robot', token: 'robot-pw' }, ipc: false });
    host = await DirectLinkHost.register(robot, {
      accept: fx.gw,
      hostAddress: '127.0.0.1',
      restart: { perMinute: 3 },
      maxLinksPerCaller: 1,
    });
    bob = await Session.connect(pub.url, { auth: { user: 'bob', token: 'bob-pw' }, ipc: false });
    eve = await Session.connect(pub.url, { auth: { user: 'eve', token: 'eve-pw' }, ipc: false });
  });
  after(async () => {
    await eve?.close();
    await bob?.close();
    await host?.close();
    await robot?.close();
    await pub?.close();
  });

  it('a second client that knows the link id but not its key cannot move it', { timeout: 60_000 }, async () => {
    const owned = await DirectLink.open(bob, { session: { auth: fx.auth }, hostAddress: '127.0.0.1', timeoutMs: 8000 });
    const attacker = await offer();
    try {
      assert.equal(owned.path, 'direct', owned.reason);
      assert.equal(owned.resumable, true);
      const calc = (await owned.session.service('Calculator')) as AnyProxy;
      assert.equal(await calc.add(1, 2), 3);
      const before = { ...host.metrics };
      const signaling = (await eve.service('DirectLink')) as AnyProxy;
      await assert.rejects(signaling.restart(owned.id, attacker.sdp), REFUSED, 'the old restart takes no key');
      await assert.rejects(signaling.move(owned.id, 'guessed', attacker.sdp), REFUSED);
      await assert.rejects(signaling.move(owned.id, '', attacker.sdp), REFUSED);
      await assert.rejects(signaling.move('no-such-link', 'x', attacker.sdp), REFUSED, 'the same words for any id');
      assert.equal(host.metrics.restarts, before.restarts, 'nothing moved');
      assert.equal(host.metrics.peers, before.peers, 'no peer connection was made for the attacker');
      assert.equal(host.metrics.restartsRefused, before.restartsRefused + 4);
      // Nor close it.
      await assert.rejects(signaling.hangup(owned.id), /Hang-up refused: a link opened with offerMovable closes only/);
      await assert.rejects(
        signaling.release(owned.id, 'guessed'),
        /Release refused: no movable link with that id and key/,
      );
      // The owner's link is where it was and still answers.
      assert.equal(await calc.add(2, 3), 5);
      assert.equal(owned.isClosed, false);
      assert.deepEqual(
        host.active.map((l) => [l.id, l.path]),
        [[owned.id, 'direct']],
      );
    } finally {
      await attacker.pc.close();
      await owned.close();
    }
    // Its opener closed it (release, with the key; under load, the host notices the closed path later).
    await until(() => host.active.length === 0, 'the host to drop the closed link', 25_000);
  });

  it(
    'counts every caller behind the gateway as one connection: maxLinks bounds them',
    { timeout: 30_000 },
    async () => {
      // maxLinksPerCaller is 1, but both clients' calls come over the robot's one connection to the gateway.
      const opts = { session: { auth: fx.auth }, hostAddress: '127.0.0.1', timeoutMs: 8000 };
      const a = await DirectLink.open(bob, opts);
      const b = await DirectLink.open(eve, opts);
      try {
        assert.deepEqual([a.path, b.path], ['direct', 'direct'], `${a.reason} ${b.reason}`);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    },
  );

  it(
    'a restart flood is refused past the limit and builds no peer connection beyond it',
    { timeout: 30_000 },
    async () => {
      const signaling = (await bob.service('DirectLink')) as AnyProxy;
      const first = await offer();
      const errors: string[] = [];
      let key = '';
      try {
        const reply = (await signaling.offerMovable('flood', first.sdp)) as { answer: string; key: string };
        key = reply.key;
        assert.ok(key.length >= 22, 'at least 128 bits of key');
        const before = { ...host.metrics };
        // Ten at once: one at a time per link.
        const burst = await Promise.allSettled(
          Array.from({ length: 10 }, () => signaling.move('flood', key, first.sdp)),
        );
        const ok = burst.filter((r) => r.status === 'fulfilled').length;
        for (const r of burst) if (r.status === 'rejected') errors.push((r.reason as Error).message);
        assert.ok(ok >= 1 && ok <= 3, `${ok} of the burst answered`);
        assert.ok(
          errors.every((m) => /Restart refused: a restart of link flood is being answered/.test(m)),
          errors[0],
        );
        // Then one after the other, past the limit of 3 a minute.
        let answered = ok;
        for (let i = 0; i < 6; i++) {
          try {
            await signaling.move('flood', key, first.sdp);
            answered++;
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
        assert.equal(answered, 3, 'three restarts a minute');
        assert.match(
          errors.at(-1)!,
          /link flood reached its limit of 3 restarts a minute \(QI_ICE_RESTARTS_PER_MINUTE\)/,
        );
        assert.equal(host.metrics.restarts - before.restarts, 3);
        assert.equal(host.metrics.peers - before.peers, 3, 'one peer connection per restart let through, none more');
        assert.equal(host.metrics.restartsRefused - before.restartsRefused, 16 - 3);
        // A wrong SDP from the key's holder is an error that names no key either.
        await assert.rejects(signaling.offerMovable('flood2', 'not sdp'), (e: Error) => (errors.push(e.message), true));
      } finally {
        await first.pc.close();
        await signaling.release('flood', key);
      }
      for (const m of errors) assert.ok(!m.includes(key), `the key was printed: ${m}`);
    },
  );
});

describe('restart keys are never printed; links per connection; a broken link’s calls', () => {
  // lpc: false, so that each session's calls come over a connection of its own (not in-process).
  const fx = iceHost({
    host: { maxLinksPerCaller: 2, resume: { resumeMs: 1500 } },
    client: { ipc: false, lpc: false },
  });

  it('keeps keys out of traces, errors and inspected links', { timeout: 30_000 }, async () => {
    // A spy service forwarding to the real host, to learn the key a DirectLink got.
    const real = (await fx.client.service('DirectLink')) as AnyProxy;
    let key = '';
    const spy = new LocalObject(DirectLinkDefinition, {
      offer: (l, s) => real.offer(l, s) as Promise<string>,
      offerTrickle: (l, s) => real.offerTrickle(l, s) as Promise<string>,
      offerResumable: (l, s) => real.offerResumable(l, s) as Promise<string>,
      offerMovable: async (l, s) => {
        const r = (await real.offerMovable(l, s)) as { answer: string; key: string };
        key = r.key;
        return r;
      },
      move: (l, k, s) => real.move(l, k, s) as Promise<string>,
      restart: (l, s) => real.restart(l, s) as Promise<string>,
      trickle: (l, c) => real.trickle(l, c) as Promise<string[]>,
      hangup: async (l) => void (await real.hangup(l)),
      release: async (l, k) => void (await real.release(l, k)),
    });
    const id = await fx.sd.registerService('DirectLinkSpy', spy);
    const traced: unknown[] = [];
    const off = fx.host.object.subscribe(Builtin.traceObject, (args) => traced.push(args));
    try {
      const link = await fx.open({ service: 'DirectLinkSpy' });
      try {
        assert.equal(link.resumable, true);
        assert.ok(key.length > 0);
        const seen = inspect(link, { depth: Infinity, showHidden: true });
        assert.ok(!seen.includes(key), 'the key is not in the inspected link');
        assert.ok(traced.length >= 2, 'the host traced the calls');
        assert.ok(!inspect(traced, { depth: Infinity }).includes(key), 'nor in the host’s trace');
        assert.ok(!inspect(fx.host, { depth: Infinity, showHidden: true }).includes(key), 'nor in the host');
      } finally {
        await link.close();
      }
    } finally {
      off();
      await fx.sd.unregisterService(id);
    }
  });

  it('bounds the links one connection holds; others still get theirs', { timeout: 30_000 }, async () => {
    const a = (await fx.client.service('DirectLink')) as AnyProxy;
    const other = await Session.connect(fx.sd.endpoints[0], { ipc: false, lpc: false });
    const peers: IcePeer[] = [];
    try {
      const before = fx.host.metrics.peers;
      const offers = await Promise.all(Array.from({ length: 5 }, () => offer()));
      peers.push(...offers.map((o) => o.pc));
      // Five at once from one connection: the bound holds although the offers overlap.
      const tries = await Promise.allSettled(offers.map((o, i) => a.offerTrickle(`mine-${i}`, o.sdp)));
      const taken = tries.filter((r) => r.status === 'fulfilled').length;
      assert.equal(taken, 2);
      for (const r of tries)
        if (r.status === 'rejected')
          assert.match(String(r.reason), /Too many direct links open from this connection \(2, maxLinksPerCaller/);
      assert.equal(fx.host.metrics.peers - before, 2, 'no peer connection for the refused offers');
      const b = (await other.service('DirectLink')) as AnyProxy;
      const theirs = await offer();
      peers.push(theirs.pc);
      assert.match((await b.offerTrickle('theirs', theirs.sdp)) as string, /^v=0/, 'another connection gets a link');
      const mine = tries.findIndex((r) => r.status === 'fulfilled');
      await a.hangup(`mine-${mine}`);
      const again = await offer();
      peers.push(again.pc);
      assert.match((await a.offerTrickle('mine-again', again.sdp)) as string, /^v=0/, 'a slot freed by hangup');
      for (const l of fx.host.active) await a.hangup(l.id);
    } finally {
      await Promise.all(peers.map((p) => p.close()));
      await other.close();
    }
  });

  it('calls in flight on a link that broke fail saying so, and what to do', { timeout: 30_000 }, async () => {
    const link = await fx.open({ resume: { resumeMs: 1500 } });
    assert.equal(link.resumable, true);
    const calc = (await link.session.service('Calculator')) as AnyProxy;
    assert.equal(await calc.add(1, 1), 2);
    const closed = new Promise<Error | undefined>((r) => link.onClose(r));
    const pending = calc.slow(20_000) as Promise<number>;
    await new Promise((r) => setTimeout(r, 100));
    // The host drops the link (as when it restarts): no new path will be found.
    await fx.host.close();
    await assert.rejects(pending, (e: Error & { code?: string }) => {
      assert.equal(e.code, 'ERR_QI_CLOSED');
      assert.match(e.message, /the direct link broke \(/);
      assert.match(e.message, /Calls in flight on it failed \(they may be repeated\)/);
      assert.match(e.message, /open a new link with DirectLink\.open \(it falls back to the gateway path/);
      return true;
    });
    // The host no longer has the link: the opener stops at its first refusal.
    assert.match(
      String((await closed)?.message),
      /no new path worked within 1500 ms \(.*Restart refused: no movable link/,
    );
  });

  it('bounds restarts being answered at once on the host', () => {
    const budget = new RestartBudget({ concurrent: 2, perMinute: 1 });
    budget.take('a');
    budget.take('b');
    assert.throws(() => budget.take('c'), /2 restarts are being answered on this host \(QI_ICE_CONCURRENT_RESTARTS\)/);
    budget.done('a');
    budget.take('c');
    budget.done('b');
    budget.done('c');
    assert.throws(() => budget.take('a'), /link a reached its limit of 1 restarts a minute/);
    assert.doesNotThrow(() => budget.take('a', Date.now() + 61_000), 'a minute later');
  });
});
