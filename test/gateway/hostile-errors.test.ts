/**
 * Errors that cross the gateway leak nothing of the inside: whatever fails inside (a service nobody
 * listens for, a service dying mid-call, an upstream that refuses the handshake, a service whose own
 * error names inside endpoints and message ids), the client learns what failed, never an internal
 * address, port or upstream message id; the full text goes to the gateway's log.
 * The inside (SD and services) is on 127.0.0.2, the gateway's public side on 127.0.0.3.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Gateway,
  LocalObject,
  Session,
  defineObject,
  listenStandalone,
  method,
  t,
  type AnyProxy,
  type CallContext,
} from '../../src/index.js';
import { calculator } from '../object/fixtures.js';
import { captureRelay, type Capture } from '../helpers/capture.js';
import { freePort } from '../helpers/net.js';

const INSIDE = '127.0.0.2';
const OUTSIDE = '127.0.0.3';

let sd: Session;
let gw: Gateway;
let relay: Capture;
/** Inside ports that must never reach a client. */
const insidePorts: number[] = [];
const logged: string[] = [];
const open: { close(): Promise<void> }[] = [];
const track = <T extends { close(): Promise<void> }>(x: T): T => (open.push(x), x);
const portOf = (url: string) => Number(new URL(url).port);

/** A service that asks other services inside and passes their errors on, as services do. */
const Relay = defineObject({
  methods: {
    wait: method([], t.int32),
    askGhost: method([], t.int32),
    askIpv6: method([], t.int32),
    askMissingObject: method([], t.int32),
  },
});

/** Registers `name` on the internal SD at `endpoint`, where nothing qi listens. */
async function registerAt(inside: Session, name: string, endpoint: string): Promise<void> {
  const sdp = (await inside.service('ServiceDirectory')) as AnyProxy;
  const id = (await sdp.registerService({
    name,
    serviceId: 0,
    machineId: inside.machineId,
    processId: process.pid,
    endpoints: [endpoint],
    sessionId: inside.id,
    objectUid: '',
  })) as number;
  await sdp.serviceReady(id);
}

before(async () => {
  sd = track(await listenStandalone(`tcp://${INSIDE}:0`, { ipc: false }));
  insidePorts.push(portOf(sd.endpoints[0]));
  // Calculator in a process of its own; Relay calls it over a real connection.
  const calcSide = track(await Session.connect(sd.endpoints[0], { ipc: false }));
  await calcSide.listen(`tcp://${INSIDE}:0`);
  insidePorts.push(...calcSide.endpoints.map(portOf));
  await calcSide.registerService('Calculator', calculator());
  const inside = track(await Session.connect(sd.endpoints[0], { ipc: false }));
  await inside.listen(`tcp://${INSIDE}:0`);
  insidePorts.push(...inside.endpoints.map(portOf));
  const ghostPort = await freePort(INSIDE);
  insidePorts.push(ghostPort);
  await registerAt(inside, 'Ghost', `tcp://${INSIDE}:${ghostPort}`);
  // An endpoint that accepts and closes at once: the gateway's handshake with it fails.
  const refuser = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => refuser.listen(0, INSIDE, r));
  open.push({ close: () => new Promise<void>((r) => refuser.close(() => r())) });
  insidePorts.push((refuser.address() as net.AddressInfo).port);
  await registerAt(inside, 'Refuser', `tcp://${INSIDE}:${(refuser.address() as net.AddressInfo).port}`);
  await inside.registerService(
    'Relay',
    new LocalObject(Relay, {
      wait: (ctx: CallContext) =>
        new Promise<number>((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('canceled'))),
        ),
      askGhost: async () => {
        await inside.service('Ghost', { timeoutMs: 2000 });
        return 0;
      },
      askIpv6: () => {
        throw new Error('connect ECONNREFUSED ::1:9559 (then fe80::1%eth0 and 2001:db8::7)');
      },
      askMissingObject: async () => {
        // An object Calculator does not serve: its answer quotes this process's message (with its id).
        const info = await inside.serviceInfo('Calculator');
        const ch = await inside.channelFor(info);
        return (await ch.call({ service: info.serviceId, object: 99, action: 100 }, '(ii)', [1, 2], 'i')) as number;
      },
    }),
  );
  gw = track(
    await Gateway.start({
      sd: sd.endpoints[0],
      listen: `tcp://${OUTSIDE}:0`,
      access: { anonymous: { allow: ['*'] } },
      log: (l) => logged.push(l),
    }),
  );
  relay = track(await captureRelay(OUTSIDE, portOf(gw.url)));
});

after(async () => {
  for (const x of open.reverse()) await x.close().catch(() => {});
});

/** Fails when anything the gateway sent to clients so far holds an inside address, port or upstream id. */
function assertNothingInside(): void {
  const all = relay.bytes().toString('latin1');
  assert.ok(all.length > 500, 'the relay recorded the traffic');
  assert.equal(
    all.indexOf(INSIDE),
    -1,
    `the inside address appears in what the gateway sent: …${all.slice(Math.max(0, all.indexOf(INSIDE) - 80), all.indexOf(INSIDE) + 40)}…`,
  );
  for (const p of insidePorts)
    assert.ok(
      !all.includes(`:${p}`) && !new RegExp(`\\b${p}\\b`).test(all),
      `inside port ${p} appears in what the gateway sent`,
    );
  assert.doesNotMatch(all, /\bid:\d+/, 'an upstream message id appears in what the gateway sent');
}

async function client(): Promise<Session> {
  return track(await Session.connect(relay.url, { ipc: false }));
}

/** The error message of a call that must fail. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  return assert.fail('the call succeeded');
}

describe('gateway: errors that cross it name no internal address', { timeout: 60_000 }, () => {
  it('a service whose endpoint is dead: the client learns it cannot be reached, not where', async () => {
    const s = await client();
    const text = await failure(s.service('Ghost'));
    assert.match(
      text,
      /Ghost: the gateway could not reach the service .*Cannot connect to an internal endpoint: nothing listens there/,
    );
    assert.ok(
      logged.some((l) => l.includes(`Cannot connect to tcp://${INSIDE}:`)),
      `the full text is logged: ${logged.join('\n')}`,
    );
    assertNothingInside();
  });

  it('an upstream that refuses the handshake', async () => {
    const s = await client();
    const text = await failure(s.service('Refuser'));
    assert.match(text, /Refuser: the gateway could not reach the service/);
    assertNothingInside();
  });

  it('a service dying while a call is pending', async () => {
    const dying = track(await Session.connect(sd.endpoints[0], { ipc: false }));
    await dying.listen(`tcp://${INSIDE}:0`);
    insidePorts.push(...dying.endpoints.map(portOf));
    await dying.registerService(
      'Dying',
      new LocalObject(Relay, {
        wait: () => new Promise<number>(() => {}),
        askGhost: () => 0,
        askIpv6: () => 0,
        askMissingObject: () => 0,
      }),
    );
    const s = await client();
    const d = (await s.waitForService('Dying', 5000)) as AnyProxy;
    const pending = failure(d.wait());
    await new Promise((r) => setTimeout(r, 100));
    await dying.close();
    assert.match(
      await pending,
      /stopped answering while this call was pending: The connection to an internal endpoint closed/,
    );
    assertNothingInside();
  });

  it('a service error that names an inside endpoint, or quotes an upstream message id', async () => {
    const s = await client();
    const r = (await s.service('Relay')) as AnyProxy;
    const ghost = await failure(r.askGhost());
    assert.match(ghost, /Relay\.askGhost failed: .*Ghost/);
    const missing = await failure(r.askMissingObject());
    assert.match(missing, /No object \d+\.99 on this connection/);
    assert.doesNotMatch(missing, /id:/);
    assertNothingInside();
  });

  it('IPv6 addresses as Node prints them (no brackets)', async () => {
    const s = await client();
    const r = (await s.service('Relay')) as AnyProxy;
    const text = await failure(r.askIpv6());
    assert.match(text, /connect ECONNREFUSED an internal address \(then an internal address and an internal address\)/);
  });

  it('a client making errors by the thousand does not flood the log', async () => {
    const s = await client();
    const r = (await s.service('Relay')) as AnyProxy;
    const before = logged.length;
    await Promise.all(Array.from({ length: 500 }, () => r.askIpv6().catch(() => {})));
    const lines = logged.length - before;
    assert.ok(lines >= 1 && lines <= 25, `${lines} log lines for 500 rewritten errors of one client`);
  });
});
