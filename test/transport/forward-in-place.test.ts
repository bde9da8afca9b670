/**
 * Forwarding received messages with their header rewritten in place (what a gateway does): over real loopback
 * sockets, a forwarder passes every message of a client on to a recorder under new ids, in runs of adjacent
 * messages sent as they were received, mixed with copied messages in the same tick, drops some (the gaps split
 * the runs), and mirrors some to a second recorder (a message is rewritten in place once; a second send copies).
 * Every byte must arrive, in order: batched at the end of each tick, and cut through (written every 64 bytes
 * while the tick goes on, as a gateway with time to spare does).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cutThrough } from '../../src/transport/index.js';
import {
  Message,
  MessageType,
  connect,
  encodeMessage,
  listen,
  type Listener,
  type MessageStream,
} from '../../src/wire.js';

const listeners: Listener[] = [];
const streams: MessageStream[] = [];
after(async () => {
  for (const s of streams) s.close();
  await Promise.all(listeners.map((l) => l.close()));
});

/** A server that records what it receives; resolves once `n` messages came. */
async function recorder(n: number): Promise<{ url: string; got: Promise<Message[]> }> {
  let done!: (m: Message[]) => void;
  const got = new Promise<Message[]>((r) => (done = r));
  const out: Message[] = [];
  const l = await listen('tcp://127.0.0.1:0', (s) =>
    s.start({ onMessage: (m) => void (out.push(m) === n && done(out)), onClose: () => {} }),
  );
  listeners.push(l);
  return { url: l.url, got };
}

const N = 300;
/** Sizes from empty to over the 16 KiB copy limit; the whole lot spans many socket reads. */
const sizeOf = (i: number) => (i % 50 === 49 ? 20_000 + i : i % 13 === 0 ? 0 : 10 + ((i * 37) % 300));
const payloadOf = (i: number) => Buffer.alloc(sizeOf(i), i % 251);
const EXTRA = (i: number) => Buffer.from(`extra after ${i}`);
/** Messages the forwarder keeps to itself (a gateway answering a call itself). */
const dropped = (i: number) => i % 11 === 3;

/** Runs the scenario; returns how many of the forwarder's sends were written before their tick ended. */
async function forwardAll(): Promise<number> {
  let midTick = 0;
  let tickStart = -1;
  const extras = Array.from({ length: N }, (_, i) => i).filter((i) => i % 5 === 0).length;
  const mirrored = Array.from({ length: N }, (_, i) => i).filter((i) => i % 7 === 0).length;
  const kept = Array.from({ length: N }, (_, i) => i).filter((i) => !dropped(i)).length;
  const main = await recorder(kept + extras);
  const mirror = await recorder(mirrored);
  const fwd = await listen('tcp://127.0.0.1:0', (inbound) => {
    void Promise.all([connect(main.url), connect(mirror.url)]).then(([out, side]) => {
      streams.push(out, side);
      out.start({ onMessage: () => {}, onClose: () => {} });
      side.start({ onMessage: () => {}, onClose: () => {} });
      inbound.start({
        onMessage: (m) => {
          const i = m.id - 1;
          if (tickStart < 0) {
            tickStart = out.traffic.sent;
            process.nextTick(() => (tickStart = -1));
          }
          if (!dropped(i)) out.sendMessage({ ...m, id: m.id + 1000 }, m.payload, m);
          if (out.traffic.sent > tickStart) midTick++;
          if (i % 7 === 0) side.sendMessage({ ...m, id: m.id + 2000 }, m.payload, m);
          if (i % 5 === 0) {
            const x = Buffer.concat(
              encodeMessage(
                { id: 5000 + i, type: MessageType.Post, service: 3, object: 1, action: 101 },
                'r',
                EXTRA(i),
              ),
            );
            out.sendCopy(x, 0, x.length);
          }
        },
        onClose: () => {},
      });
    });
  });
  listeners.push(fwd);
  const client = await connect(fwd.url);
  streams.push(client);
  client.start({ onMessage: () => {}, onClose: () => {} });
  for (let i = 0; i < N; i++)
    client.send(
      encodeMessage({ id: i + 1, type: MessageType.Call, service: 2, object: 1, action: 100 }, 'r', payloadOf(i)),
    );

  const expected: Array<[number, number, Buffer]> = [];
  for (let i = 0; i < N; i++) {
    if (!dropped(i)) expected.push([i + 1001, MessageType.Call, payloadOf(i)]);
    if (i % 5 === 0) expected.push([5000 + i, MessageType.Post, EXTRA(i)]);
  }
  const got = await main.got;
  assert.equal(got.length, expected.length);
  got.forEach((m, k) => {
    const [id, type, payload] = expected[k];
    assert.deepEqual([m.id, m.type], [id, type], `message ${k}`);
    assert.ok((m.decode('r') as Buffer).equals(payload), `payload of message ${k} (id ${id})`);
  });
  const side = await mirror.got;
  side.forEach((m, j) => {
    assert.equal(m.id, 7 * j + 2001);
    assert.ok((m.decode('r') as Buffer).equals(payloadOf(7 * j)), `mirrored call ${7 * j + 1}`);
  });
  return midTick;
}

describe('forwarding in place', () => {
  it(
    'passes every message on intact and in order, in runs, copies and mirrors mixed',
    { timeout: 20_000 },
    async () => {
      assert.equal(await forwardAll(), 0, 'batched: nothing leaves before the end of its tick');
    },
  );

  it('does the same cut through: written every 64 bytes while the tick goes on', { timeout: 20_000 }, async () => {
    const release = cutThrough.hold(64);
    try {
      assert.equal(cutThrough.bytes, 64);
      assert.ok((await forwardAll()) > 0, 'cut through: some messages left before their tick ended');
    } finally {
      release();
    }
    assert.equal(cutThrough.bytes, 0, 'the last holder gone, the process batches again');
  });

  it('rewrites a header in place only for a message received whole, and only once', () => {
    const wire = Buffer.concat(
      encodeMessage({ id: 7, type: MessageType.Call, service: 2, object: 1, action: 100 }, 'r', Buffer.from('abc')),
    );
    const seen: Array<[number, number]> = [];
    const sink = (b: Buffer, from: number, to: number) => void seen.push([from, to]);
    const received = new Message(7, MessageType.Call, 0, 2, 1, 100, wire, 28, wire.length, true);
    const fields = { id: 9, type: MessageType.Call, service: 2, object: 1, action: 100 };
    assert.equal(received.rewriteHeader(fields, sink), true);
    assert.deepEqual(seen, [[0, wire.length]]);
    assert.equal(wire.readUInt32LE(4), 9, 'id rewritten in the received bytes');
    assert.equal(received.rewriteHeader(fields, sink), false, 'a second send must copy');
    assert.equal(Message.of(fields, Buffer.from('abc')).rewriteHeader(fields, sink), false, 'not received: no header');
    assert.equal(seen.length, 1);
  });
});
