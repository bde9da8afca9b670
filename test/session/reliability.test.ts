/**
 * Limits and faults over real sockets: every limit of docs/reliability.md is hit once, and a fault relay
 * between client and service blacks out, cuts (in the middle of a large message) and scrambles the
 * traffic. Each time: pending calls end within a bounded time with a clear error, the server and its
 * other clients stay healthy, and nothing (timers, sockets) is left behind.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { QiClosedError, QiLimitError, Session, listenStandalone, type AnyProxy } from '../../src/index.js';
import { calculator, type CalcState } from '../object/fixtures.js';
import { FaultRelay } from '../helpers/relay.js';

const open: Session[] = [];
after(async () => {
  await Promise.all(open.map((s) => s.close()));
});
const keep = (s: Session) => (open.push(s), s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A standalone SD hosting the test Calculator, tcp only, with these session options. */
async function host(options: Parameters<typeof listenStandalone>[1] = {}, state?: CalcState) {
  const sd = keep(await listenStandalone('tcp://127.0.0.1:0', { ipc: false, ...options }));
  const calc = calculator(state);
  await sd.registerService('Calculator', calc);
  return { sd, calc, url: sd.endpoints[0] };
}

/** Time taken by `p` to settle, and how. */
async function settle(p: Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const t0 = Date.now();
  try {
    await p;
    return { ms: Date.now() - t0 };
  } catch (e) {
    return { ms: Date.now() - t0, error: e as Error };
  }
}

function resources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) out[r] = (out[r] ?? 0) + 1;
  return out;
}

describe('limits', () => {
  it('refuses calls past maxPendingCalls at once, and accepts them again once answers came', async () => {
    const { url } = await host();
    const c = keep(await Session.connect(url, { ipc: false, lpc: false, limits: { maxPendingCalls: 3 } }));
    const calc = (await c.service('Calculator')) as AnyProxy;
    const slow = [1, 2, 3].map(() => calc.slow(150) as Promise<number>);
    await assert.rejects(
      calc.add(1, 1),
      (e: unknown) =>
        e instanceof QiLimitError &&
        e.code === 'ERR_QI_LIMIT' &&
        /3 calls to .* are already waiting .*limit 3.*maxPendingCalls/.test(e.message),
    );
    assert.deepEqual(await Promise.all(slow), [150, 150, 150]);
    assert.equal(await calc.add(1, 1), 2);
  });

  it('answers calls past maxIncomingCalls with an error, and runs the others', async () => {
    const { url } = await host({ limits: { maxIncomingCalls: 2 } });
    const c = keep(await Session.connect(url, { ipc: false, lpc: false }));
    const calc = (await c.service('Calculator')) as AnyProxy;
    const results = await Promise.allSettled([100, 100, 100].map((ms) => calc.slow(ms) as Promise<number>));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
    assert.match(
      String((results[2] as PromiseRejectedResult).reason.message),
      /Too many calls in flight on this connection: 2 are still running \(limit 2/,
    );
    assert.equal(await calc.add(2, 2), 4, 'the connection stays usable');
  });

  it('drops signals to a peer that does not read once maxQueueBytes wait, or disconnects it by policy', async () => {
    const N = 600; // 600 x 16 KiB: more than the kernel buffers of a loopback connection hold
    for (const slowPeer of ['drop-signals', 'disconnect'] as const) {
      const { sd, calc, url } = await host({ limits: { maxQueueBytes: 256 * 1024, slowPeer } });
      const stuck = keep(await Session.connect(url, { ipc: false, lpc: false }));
      const sp = (await stuck.service('Calculator')) as AnyProxy;
      const closed = new Promise<void>((r) => Session.channelOf(sp)!.onClose(() => r()));
      let stuckGot = 0;
      await (sp.fired as { connect(f: () => void): Promise<unknown> }).connect(() => stuckGot++);
      const healthy = keep(await Session.connect(url, { ipc: false, lpc: false }));
      const hp = (await healthy.service('Calculator')) as AnyProxy;
      let got = 0;
      await (hp.fired as { connect(f: () => void): Promise<unknown> }).connect(() => got++);
      const socket = Session.channelOf(sp)!.stream.socket;
      socket.pause(); // the stuck client stops reading
      const text = 'x'.repeat(16 * 1024);
      for (let i = 0; i < N; i++) {
        calc.emit('fired', i, text);
        if (i % 10 === 0) await sleep(1);
      }
      for (let t = 0; t < 300 && got < N; t++) await sleep(10);
      assert.equal(got, N, `${slowPeer}: the healthy client got every emission`);
      assert.equal(await hp.add(1, 2), 3);
      socket.resume();
      if (slowPeer === 'disconnect') {
        const r = await settle(Promise.race([closed, sleep(3000).then(() => Promise.reject(new Error('still open')))]));
        assert.equal(r.error, undefined, 'the server disconnected the stuck client');
      } else {
        await sleep(300);
        assert.ok(
          stuckGot > 0 && stuckGot < N,
          `the stuck client got ${stuckGot} of ${N}: the rest was dropped, not queued`,
        );
      }
      await sd.close();
    }
  });

  it('closes connections past maxConnections, and drops a client that never completes the handshake', async () => {
    const { url } = await host({ maxConnections: 2, handshakeTimeoutMs: 200 });
    const a = keep(await Session.connect(url, { ipc: false, lpc: false }));
    const silent = net.connect(Number(new URL(url).port), '127.0.0.1');
    const silentClosed = new Promise<number>((r) => {
      const t0 = Date.now();
      silent.on('close', () => r(Date.now() - t0));
    });
    silent.on('error', () => {});
    await sleep(50);
    await assert.rejects(
      Session.connect(url, { ipc: false, lpc: false, connectTimeoutMs: 2000 }),
      /closed|reset|handshake/i,
    );
    const ms = await silentClosed;
    assert.ok(ms >= 150 && ms < 2000, `the silent client was dropped after ${ms} ms`);
    const b = keep(await Session.connect(url, { ipc: false, lpc: false }));
    assert.equal(await ((await b.service('Calculator')) as AnyProxy).add(1, 1), 2);
    assert.equal(await ((await a.service('Calculator')) as AnyProxy).add(2, 1), 3);
  });
});

describe('faults between client and service', () => {
  it('a black-holed network: the heartbeat fails pending calls within a bounded time', async () => {
    const { url } = await host();
    const relay = await FaultRelay.start(url);
    const c = keep(await Session.connect(relay.url, { ipc: false, lpc: false, limits: { heartbeatMs: 150 } }));
    const calc = (await c.service('Calculator')) as AnyProxy;
    await sleep(400); // idle but answering: the probes keep it alive
    assert.equal(await calc.add(1, 1), 2, 'an idle healthy connection survives its heartbeats');
    relay.mode = 'blackhole';
    const r = await settle(calc.slow(60_000));
    assert.ok(r.error instanceof QiClosedError, String(r.error));
    assert.match(r.error.message, /stopped answering: nothing received for \d+ ms \(no byte either way\)/);
    assert.ok(r.ms < 1500, `failed after ${r.ms} ms`);
  });

  it('a slow link: a message that takes many heartbeats to cross, either way, is not taken for a dead peer', async () => {
    const { url } = await host();
    const relay = await FaultRelay.start(url);
    relay.rate = 2 * 1024 * 1024; // 4 MiB each way: about 2 s, seven heartbeats of 300 ms
    const c = keep(await Session.connect(relay.url, { ipc: false, lpc: false, limits: { heartbeatMs: 300 } }));
    const calc = (await c.service('Calculator')) as AnyProxy;
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    const r = await settle(calc.echoRaw(big));
    assert.equal(r.error, undefined, `the echo failed after ${r.ms} ms: ${String(r.error)}`);
    assert.ok(r.ms > 1500, `the relay throttles (${r.ms} ms)`);
    assert.ok(relay.bytes.up > big.length && relay.bytes.down > big.length);
    assert.equal(await calc.add(2, 2), 4, 'the connection is still up');
  });

  it('a cut in the middle of a large message: the call fails, the server keeps serving', async () => {
    for (const direction of ['up', 'down'] as const) {
      const { url } = await host();
      const relay = await FaultRelay.start(url);
      const c = keep(await Session.connect(relay.url, { ipc: false, lpc: false, limits: { heartbeatMs: 0 } }));
      const calc = (await c.service('Calculator')) as AnyProxy;
      relay.cutAfter(direction, 2 * 1024 * 1024);
      const r = await settle(calc.echoRaw(Buffer.alloc(5 * 1024 * 1024, 1)));
      assert.ok(r.error instanceof QiClosedError, `${direction}: ${String(r.error)}`);
      assert.ok(r.ms < 3000);
      const other = keep(await Session.connect(url, { ipc: false, lpc: false }));
      assert.equal(
        await ((await other.service('Calculator')) as AnyProxy).add(20, 22),
        42,
        `${direction}: the server is healthy`,
      );
    }
  });

  it('scrambled bytes: the connection is dropped with a protocol error, nothing else', async () => {
    const { url } = await host();
    const relay = await FaultRelay.start(url);
    const c = keep(await Session.connect(relay.url, { ipc: false, lpc: false, limits: { heartbeatMs: 0 } }));
    const calc = (await c.service('Calculator')) as AnyProxy;
    relay.reorder = true;
    const r = await settle(Promise.all([1, 2, 3, 4].map((i) => calc.echoRaw(Buffer.alloc(100_000 * i, i)))));
    assert.ok(r.error instanceof QiClosedError, String(r.error));
    assert.ok(r.ms < 3000);
    const other = keep(await Session.connect(url, { ipc: false, lpc: false }));
    assert.equal(await ((await other.service('Calculator')) as AnyProxy).add(1, 2), 3);
  });

  it('a slow, jittery network: every reply reaches its own caller', async () => {
    const { url } = await host();
    const relay = await FaultRelay.start(url);
    relay.mode = 'delay';
    relay.delayMs = 5;
    const clients = await Promise.all(
      [0, 1, 2, 3].map(() => Session.connect(relay.url, { ipc: false, lpc: false }).then(keep)),
    );
    const proxies = await Promise.all(clients.map((c) => c.service('Calculator') as Promise<AnyProxy>));
    const calls = proxies.flatMap((p, i) =>
      Array.from({ length: 50 }, (_, k) => (p.add(i * 1000, k) as Promise<number>).then((r) => [r, i * 1000 + k])),
    );
    for (const [got, want] of await Promise.all(calls)) assert.equal(got, want);
  });

  it('leaves no timer or socket behind once its sessions are closed', async () => {
    const before = resources();
    const { sd, url } = await host();
    const relay = await FaultRelay.start(url);
    const clients = await Promise.all(
      [0, 1, 2].map(() => Session.connect(relay.url, { ipc: false, lpc: false, limits: { heartbeatMs: 100 } })),
    );
    await Promise.all(clients.map(async (c) => ((await c.service('Calculator')) as AnyProxy).add(1, 1)));
    relay.cutNow();
    await sleep(100);
    await Promise.all(clients.map((c) => c.close()));
    await relay.close();
    await sd.close();
    await sleep(100);
    const now = resources();
    for (const k of ['Timeout', 'TCPSocketWrap', 'TCPServerWrap'])
      assert.ok((now[k] ?? 0) <= (before[k] ?? 0), `${k}: ${before[k] ?? 0} before, ${now[k] ?? 0} after`);
  });
});
