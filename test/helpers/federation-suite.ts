/**
 * The scenarios of a federation (issue 23), run against each mix of servers the tests start
 * (test/remote/xmpp-federation.test.ts: Prosody; xmpp-federation-ejabberd.test.ts: ejabberd, and
 * Prosody with ejabberd): robot@a.test logs in to A, alice@b.test to B and reaches the robot across
 * s2s: presence (a roster subscription across servers), calls, a signal, a property and MiBs through
 * In-Band Bytestreams and through B's SOCKS5 proxy with 'auto'; mallory@b.test is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, QiConnectError, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { RobotWatcher, XmppGateway, closeXmppLinks } from '../../src/remote/index.js';
import { calculator } from '../object/fixtures.js';
import { calculatorRoundTrip } from './xmpp-suite.js';
import { startFederation, type Federation, type FederationOptions, type ServerKind } from './federation.js';

/**
 * Declares the scenarios against a federation of `a.test` and `b.test` run by `kinds`, set up with
 * `options` (e.g. Debian's stock s2s security); `mib.socks5` 0 leaves the SOCKS5 scenario out.
 */
export function federationSuite(
  kinds: { 'a.test': ServerKind; 'b.test': ServerKind },
  mib = { ibb: 2, socks5: 5 },
  options: FederationOptions = {},
) {
  let fed: Federation | string = 'not started';
  let sd: Session;
  let gw: Gateway;
  let robot: XmppGateway;
  const calc = calculator();
  const sessions: Session[] = [];
  const ROBOT = 'xmpp://robot@a.test';
  const onB = (name: string, bytestreams: 'auto' | 'ibb' | 'socks5' = 'auto') => ({
    xmpp: {
      service: (fed as Federation).servers['b.test'].service,
      jid: `${name}@b.test`,
      password: `${name}-pw`,
      bytestreams,
    },
  });
  const skipped = (t: { skip(m: string): void }): boolean => {
    if (typeof fed !== 'string') return false;
    console.error(`SKIPPED: ${fed}`);
    t.skip(fed);
    return true;
  };

  const how = options.stockSecurity ? ", Debian's stock s2s security" : '';
  describe(`qi across a federation: robot@a.test (${kinds['a.test']}) reached by alice@b.test (${kinds['b.test']})${how}`, () => {
    before(async () => {
      fed = await startFederation(kinds, options);
      if (typeof fed === 'string') return;
      fed.servers['a.test'].register('robot', 'robot-pw');
      for (const n of ['alice', 'mallory']) fed.servers['b.test'].register(n, `${n}-pw`);
      sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
      await sd.registerService('Calculator', calc);
      gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
      robot = await XmppGateway.start({
        account: { service: fed.servers['a.test'].service, jid: 'robot@a.test', password: 'robot-pw' },
        allow: ['alice@b.test'],
        gateway: gw,
      });
    });

    after(async () => {
      await Promise.all(sessions.map((s) => s.close()));
      await closeXmppLinks();
      await robot?.close();
      await gw?.close();
      await sd?.close();
    });

    it("alice follows the robot's presence across servers; mallory is refused", async (t) => {
      if (skipped(t)) return;
      const t0 = Date.now();
      const watcher = await RobotWatcher.start(onB('alice').xmpp, ['robot@a.test']);
      try {
        const up = await watcher.waitFor('robot@a.test', true, 10_000);
        t.diagnostic(`robot@a.test seen online from b.test after ${Date.now() - t0} ms (s2s set up on the way)`);
        assert.equal(up.address, 'robot@a.test/qi');
        assert.equal(up.services, 1, 'the robot announces its number of services');
      } finally {
        await watcher.close();
      }
      await assert.rejects(
        Session.connect(ROBOT, { transports: onB('mallory'), reconnect: false }),
        (e: unknown) =>
          e instanceof QiConnectError && /refused mallory@b\.test: it is not in the robot's allowlist/.test(e.message),
      );
      const asked = await (fed as Federation).dns.asked();
      assert.ok(asked.includes('_xmpp-server._tcp.a.test SRV'), `B looked a.test up: ${asked.join(', ')}`);
    });

    // 'auto' finds B's proxy: the robot on a.test connects to it (its address is reachable), alice activates it.
    for (const [kind, asked] of [
      ['ibb', 'ibb'],
      ['socks5', 'auto'],
    ] as const) {
      if (mib[kind] === 0) continue;
      it(`calls, a signal, a property and ${mib[kind]} MiB across s2s through ${kind === 'ibb' ? 'In-Band Bytestreams' : "B's SOCKS5 proxy ('auto')"}`, async (t) => {
        if (skipped(t)) return;
        const before = robot.metrics[kind];
        const s = await Session.connect(ROBOT, { transports: onB('alice', asked), reconnect: false });
        sessions.push(s);
        assert.equal(robot.metrics[kind], before + 1, `the session went through ${kind}`);
        const c = (await s.service('Calculator')) as AnyProxy;
        const ms = await calculatorRoundTrip(c, calc, 'across s2s', mib[kind]);
        t.diagnostic(`${mib[kind]} MiB each way, robot on a.test, client on b.test (${kind}): ${ms} ms`);
        await s.close();
      });
    }
  });
}
