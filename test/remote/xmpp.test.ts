/**
 * Remote access through a real XMPP server, Prosody on loopback: the key scenarios (test/helpers/xmpp-suite.ts,
 * also run against ejabberd by xmpp-ejabberd.test.ts), and a slow path to the server (a throttled relay).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Session, type AnyProxy } from '../../src/index.js';
import { Prosody } from '../helpers/prosody.js';
import { FaultRelay } from '../helpers/relay.js';
import { ROBOT, xmppSuite } from '../helpers/xmpp-suite.js';

xmppSuite(
  'Prosody',
  () => Prosody.start(),
  (suite) => {
    const { account, skipped, sessions } = suite;
    it('a slow path to the server (a rate limit) is not taken for a dead robot: IBB acknowledgements count as life', async (t) => {
      if (skipped(t)) return;
      const relay = await FaultRelay.start(`tcp://127.0.0.1:${(suite.server as Prosody).port}`);
      relay.rate = 128 * 1024; // 128 KiB as IBB (base64) takes about 1.3 s each way: four heartbeats of 300 ms
      const via = { xmpp: { ...account('alice', 'ibb').xmpp, service: relay.url.replace(/^tcp:/, 'xmpp:') } };
      const s = await Session.connect(ROBOT, { transports: via, reconnect: false, limits: { heartbeatMs: 300 } });
      sessions.push(s);
      const c = (await s.service('Calculator')) as AnyProxy;
      const big = Buffer.alloc(128 * 1024, 5);
      const t0 = Date.now();
      const back = (await c.echoRaw(big)) as Buffer;
      assert.ok(back.equals(big));
      assert.ok(Date.now() - t0 > 1500, `the relay throttles (${Date.now() - t0} ms)`);
      await s.close();
      await relay.close();
    });
  },
);
