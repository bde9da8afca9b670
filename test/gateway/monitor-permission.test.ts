/**
 * Statistics and trace (built-ins 80–86) through the gateway: a trace shows every caller's arguments and
 * results, so a client allowed to use a service must not see other clients' calls through it. They take
 * an explicit `monitor:` rule, as registering takes `register:`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, QiCallError, Session, listenStandalone } from '../../src/index.js';
import { calculator } from '../object/fixtures.js';

let sd: Session;
let inside: Session;
let gw: Gateway;
const sessions: Session[] = [];
const calc = calculator();

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  inside = await Session.connect(sd.endpoints[0], { ipc: false });
  await inside.listen('tcp://127.0.0.1:0');
  await inside.registerService('Calculator', calc);
  gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: {
      anonymous: { allow: ['Calculator'] },
      users: { admin: { token: 't', allow: ['Calculator', 'monitor:Calculator'] } },
    },
  });
});
after(async () => {
  for (const s of sessions) await s.close();
  await gw.close();
  await inside.close();
  await sd.close();
});

async function client(auth?: { user: string; token: string }) {
  const s = await Session.connect(gw.url, { auth, ipc: false });
  sessions.push(s);
  return s.service('Calculator');
}

describe('statistics and trace through the gateway', () => {
  it('are denied to a client allowed the whole service but no monitor: rule', async () => {
    const c = await client();
    assert.equal(await c.add(1, 2), 3, 'the service itself is allowed');
    const denied = (e: unknown) =>
      e instanceof QiCallError &&
      /Permission denied: an anonymous client may not use monitor Calculator\.\w+/.test(e.message) &&
      /"monitor:Calculator\.\w+"/.test(e.message);
    await assert.rejects(c.enableTrace(true), denied);
    await assert.rejects(c.enableStats(true), denied);
    await assert.rejects(c.stats(), denied);
    await assert.rejects(
      c.traceObject.connect(() => {}),
      (e: unknown) => e instanceof Error && /monitor Calculator\.traceObject/.test(e.message),
    );
    assert.equal(await (await inside.service('Calculator')).isTraceEnabled(), false, 'nothing was turned on');
  });

  it('are given by monitor:SERVICE, and the trace then shows the calls of others', async () => {
    const admin = await client({ user: 'admin', token: 't' });
    const seen: unknown[] = [];
    const off = await admin.traceObject.connect((e) => seen.push(e));
    await admin.enableStats(true);
    const other = await client();
    await other.add(20, 22);
    const deadline = Date.now() + 3000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(seen.length, 2, 'call and result traced');
    assert.equal(((await admin.stats()) as Map<number, { count: number }>).get(100)?.count, 1);
    await admin.enableStats(false);
    await off();
  });
});
