/**
 * Hostile clients against the gateway's fair sharing of the inside: every client shares one upstream
 * connection per service, so one client must not be able to fill a service's limits for everyone
 * (calls in flight, bytes in flight), to slip past its quota by reusing one message id, to leave calls
 * running after it left, or to grow the gateway by asking for answers it never reads.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  Dynamic,
  Gateway,
  LocalObject,
  Session,
  defineObject,
  listenStandalone,
  method,
  t,
  type AnyProxy,
  type CallContext,
  type GatewayOptions,
} from '../../src/index.js';
import { FrameReader, MessageType, ObjectType, encodeMessage } from '../../src/wire.js';
import { calculator, counter } from '../object/fixtures.js';
import { gc } from '../helpers/gc.js';
import { RawPeer } from '../helpers/net.js';
import { specVectors } from '../helpers/shared.js';

/** A service whose calls wait until released or canceled, counting both. */
const Parking = defineObject({ methods: { park: method([t.string], t.int32) } });
const PARK = ObjectType.of(Parking).methodsByName.get('park')![0].uid;

interface ParkingState {
  started: number;
  aborted: number;
  release: (() => void)[];
}

function parking(state: ParkingState) {
  return new LocalObject(Parking, {
    park: (data: string, ctx: CallContext) =>
      new Promise<number>((resolve, reject) => {
        state.started++;
        state.release.push(() => resolve(data.length));
        ctx.signal.addEventListener('abort', () => {
          state.aborted++;
          reject(new Error('canceled'));
        });
      }),
  });
}

const ALL = { anonymous: { allow: ['*'] } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `p`, or `fallback` after `ms` (the timer does not keep the process alive). */
const within = <T>(p: Promise<T>, ms: number, fallback: T): Promise<T> =>
  Promise.race([p, new Promise<T>((r) => setTimeout(() => r(fallback), ms).unref())]);
const open: { close(): Promise<void> }[] = [];
const track = <T extends { close(): Promise<void> }>(x: T): T => (open.push(x), x);

let sd: Session;
const state: ParkingState = { started: 0, aborted: 0, release: [] };
let parkingId = 0;

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  const inside = track(await Session.connect(sd.endpoints[0], { ipc: false }));
  parkingId = await inside.registerService('Parking', parking(state));
  await inside.registerService('Calculator', calculator());
  // More services make the gateway's own answer to `services` larger (about 1 KiB).
  for (let i = 0; i < 5; i++) await inside.registerService(`Extra${i}`, counter(i));
});
after(async () => {
  for (const r of state.release.splice(0)) r();
  for (const x of open.reverse()) await x.close().catch(() => {});
  await sd.close();
});

async function gateway(options: Partial<GatewayOptions> = {}): Promise<Gateway> {
  return track(await Gateway.start({ sd: sd.endpoints[0], listen: 'tcp://127.0.0.1:0', access: ALL, ...options }));
}

/** Waits until `done()` holds, at most `ms`; returns whether it did. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await sleep(20);
  return done();
}

/** A raw client past the gateway's handshake (libqi's own authenticate call, anonymous). */
async function rawClient(gw: Gateway): Promise<RawPeer> {
  const peer = await RawPeer.connect(Number(new URL(gw.url).port));
  peer.socket.write(specVectors()[0].bytes);
  await peer.waitFor(1);
  peer.messages.length = 0;
  return peer;
}

const frame = (id: number, service: number, action: number, sig: string, value: unknown, object = 1) =>
  Buffer.concat(encodeMessage({ id, type: MessageType.Call, service, object, action }, sig, value));
const text = (m: { decode(s: string): unknown }) => String((m.decode('m') as Dynamic).value);

/** Releases every parked call and waits until the service has none left. */
async function releaseAll(): Promise<void> {
  for (const r of state.release.splice(0)) r();
  await sleep(50);
}

describe('gateway: fair sharing of the upstream between clients', { timeout: 60_000 }, () => {
  it('one client parking 10,000 slow calls cannot make the other clients fail (per-client call quota)', async () => {
    const gw = await gateway();
    const a = track(await Session.connect(gw.url, { ipc: false }));
    const pa = (await a.service('Parking')) as AnyProxy;
    const started0 = state.started;
    const aborted0 = state.aborted;
    const N = 10_000;
    let refused = 0;
    const reasons = new Set<string>();
    for (let i = 0; i < N; i++) {
      pa.park('x').catch((e: Error) => {
        refused++;
        reasons.add(e.message.replace(/\d+/g, 'N'));
      });
    }
    // Every call of A has either reached the service or been refused.
    assert.ok(
      await until(() => state.started - started0 + refused >= N, 15_000),
      `A's calls: ${state.started - started0} running, ${refused} refused`,
    );
    const b = track(await Session.connect(gw.url, { ipc: false }));
    const pb = (await b.service('Calculator')) as AnyProxy;
    assert.equal(await pb.add(20, 22), 42, 'another client still gets its calls through');
    assert.ok(
      state.started - started0 <= 1000,
      `at most the per-client quota reached the service (${state.started - started0})`,
    );
    assert.ok(refused >= N - 1000, `A's calls over its quota were refused at once (${refused})`);
    assert.ok(
      [...reasons].some((r) => /limit N/.test(r) && /maxIncomingCalls/.test(r)),
      `the refusal names the quota and its option: ${[...reasons].join(' | ')}`,
    );
    // A leaves: every call it parked is canceled upstream.
    const parked = state.started - started0;
    await a.close();
    assert.ok(
      await until(() => state.aborted - aborted0 >= parked, 5000),
      `canceled upstream: ${state.aborted - aborted0} of ${parked}`,
    );
    await releaseAll();
  });

  it('a client reusing one message id gets an error for each reused call, and leaves nothing running', async () => {
    const gw = await gateway();
    const peer = await rawClient(gw);
    const started0 = state.started;
    const aborted0 = state.aborted;
    const N = 50;
    peer.socket.write(Buffer.concat(Array.from({ length: N }, () => frame(7, parkingId, PARK, '(s)', ['x']))));
    const got = await peer
      .waitFor(N - 1, 5000)
      .catch((e: Error) => assert.fail(`${e.message}; the service runs ${state.started - started0} calls of id 7`));
    assert.equal(got.length, N - 1);
    for (const m of got) {
      assert.equal(m.type, MessageType.Error);
      assert.equal(m.id, 7);
      assert.match(text(m), /message id 7 is already in use by a pending call/);
    }
    assert.ok(await until(() => state.started - started0 >= 1, 2000));
    await sleep(100);
    assert.equal(state.started - started0, 1, 'only the first call of id 7 reached the service');
    // The reused id is still the first call's: it can be canceled, and it is canceled when the client leaves.
    peer.socket.destroy();
    assert.ok(await until(() => state.aborted - aborted0 >= 1, 3000), 'the call outlived its client');
    await releaseAll();
  });

  it('a client over its quota of bytes in flight gets an error naming the quota, the others keep working', async () => {
    const gw = await gateway({ maxPendingBytesPerClient: 4 * 1024 * 1024 });
    const a = track(await Session.connect(gw.url, { ipc: false }));
    const pa = (await a.service('Parking')) as AnyProxy;
    const started0 = state.started;
    const big = 'y'.repeat(1024 * 1024);
    const results = Array.from({ length: 8 }, () =>
      (pa.park(big) as Promise<number>).then(
        () => 'ok',
        (e: Error) => e.message,
      ),
    );
    assert.ok(await until(() => state.started - started0 >= 3, 5000));
    const refusals = await within(Promise.all(results.slice(4)), 3000, ['(no answer: the calls were forwarded)']);
    for (const r of refusals) assert.match(r, /bytes of arguments .*not yet answered.*maxPendingBytesPerClient/);
    assert.ok(
      state.started - started0 <= 4,
      `at most 4 MiB of arguments reached the service (${state.started - started0} calls)`,
    );
    const b = track(await Session.connect(gw.url, { ipc: false }));
    assert.equal(await ((await b.service('Calculator')) as AnyProxy).add(1, 2), 3);
    await releaseAll();
    assert.deepEqual((await Promise.all(results)).slice(0, 3), ['ok', 'ok', 'ok'], 'answered calls free their bytes');
    const small = pa.park('small') as Promise<number>;
    assert.ok(
      await until(() => state.release.length > 0, 3000),
      'a new call goes through once the others are answered',
    );
    await releaseAll();
    assert.equal(await small, 5);
  });

  it('calls waiting for a service that does not answer its handshake count in the quota of bytes too', async () => {
    // An endpoint that accepts and never says a word: the gateway waits for its handshake.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const closeSilent = () => {
      for (const sock of sockets) sock.destroy();
      return new Promise<void>((r) => silent.close(() => r()));
    };
    track({ close: closeSilent });
    const inside = track(await Session.connect(sd.endpoints[0], { ipc: false }));
    const sdp = (await inside.service('ServiceDirectory')) as AnyProxy;
    const url = `tcp://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const hung = (await sdp.registerService({
      name: 'Hung',
      serviceId: 0,
      machineId: inside.machineId,
      processId: process.pid,
      endpoints: [url],
      sessionId: inside.id,
      objectUid: '',
    })) as number;
    await sdp.serviceReady(hung);
    const gw = await gateway({ maxPendingBytesPerClient: 4 * 1024 * 1024 });
    const peer = await rawClient(gw);
    const big = 'z'.repeat(1024 * 1024);
    peer.socket.write(Buffer.concat(Array.from({ length: 8 }, (_, i) => frame(100 + i, hung, 100, '(s)', [big]))));
    const got = await peer
      .waitFor(4, 5000)
      .catch((e: Error) => assert.fail(`${e.message}: the calls wait without bound, holding their bytes`));
    for (const m of got) {
      assert.equal(m.type, MessageType.Error);
      assert.match(text(m), /bytes of arguments .*not yet answered.*maxPendingBytesPerClient/);
    }
    peer.socket.destroy();
    await sdp.unregisterService(hung);
  });

  it('rejects a per-client quota that would let one client reach the upstream limits', async () => {
    await assert.rejects(gateway({ limits: { maxIncomingCalls: 20_000 } }), /maxIncomingCalls.*20000.*below/);
  });
});

describe('gateway: output towards a client is bounded whoever made it', { timeout: 60_000 }, () => {
  it('a client that sends 200,000 calls and never reads does not grow the gateway; others keep working', async () => {
    const gw = await gateway({ maxQueueBytes: 2 * 1024 * 1024 });
    const peer = await rawClient(gw);
    // Stop reading: the kernel buffers fill, then whatever the gateway queues stays in its memory.
    peer.socket.pause();
    const N = 200_000;
    // ServiceDirectory.services (action 101): answered by the gateway itself, from its per-client view.
    const calls = Buffer.concat(Array.from({ length: N }, (_, i) => frame(i + 10, 1, 101, '()', [])));
    gc();
    const m0 = process.memoryUsage();
    const base = m0.heapUsed + m0.arrayBuffers;
    peer.socket.write(calls);
    // Sampled until the gateway's memory stops moving (it stopped reading, or read everything).
    let peak = 0;
    const samples: number[] = [];
    for (let t = 0; t < 100; t++) {
      await sleep(200);
      gc();
      const m = process.memoryUsage();
      samples.push(m.heapUsed + m.arrayBuffers - base);
      peak = Math.max(peak, samples[samples.length - 1]);
      const last = samples.slice(-4);
      if (peak > 64 * 1024 * 1024 || (last.length === 4 && Math.max(...last) - Math.min(...last) < 1024 * 1024)) break;
    }
    const MiB = (n: number) => (n / 1024 / 1024).toFixed(1);
    assert.ok(
      peak < 32 * 1024 * 1024,
      `the gateway grew by ${MiB(peak)} MiB for a client that does not read (bound: 2 MiB queued)`,
    );
    const b = track(await Session.connect(gw.url, { ipc: false }));
    assert.ok((await b.services()).some((s) => s.name === 'Calculator'));
    assert.equal(await ((await b.service('Calculator')) as AnyProxy).add(2, 3), 5);
    // Reading again: the gateway reads the rest, and every call gets its answer.
    assert.equal(await readAll(peer, N), N, 'every call was answered once the client read');
    peer.socket.destroy();
  });
});

/** Starts reading a paused raw client again, counting its answers (not keeping them); returns how many came. */
async function readAll(peer: RawPeer, n: number): Promise<number> {
  let count = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const reader = new FrameReader((m) => {
    if (m.type === MessageType.Reply && ++count === n) done();
  });
  peer.socket.removeAllListeners('data');
  peer.socket.on('data', (c: Buffer) => reader.push(c));
  peer.socket.resume();
  await within(finished, 30_000, undefined);
  return count;
}
