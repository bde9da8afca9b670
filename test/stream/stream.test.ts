/**
 * Streams over real loopback sockets (and in-process): order and sequence numbers, 1 MiB raw chunks,
 * backpressure, closing from either side, errors, a connection cut mid-stream, libqi-plain MetaObject.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  QiLimitError,
  QiStream,
  QiStreamBrokenError,
  QiStreamClosedError,
  QiStreamError,
  QiValueError,
  Session,
  backendOf,
  listenStandalone,
  openStream,
  t,
  type AnyProxy,
} from '../../src/index.js';
import { gc } from '../helpers/gc.js';
import { FaultRelay } from '../helpers/relay.js';
import { Camera, camera, sleep, until, within } from './fixtures.js';

let sd: Session;
let client: Session;
const cam = camera();
const sessions: Session[] = [];

before(async () => {
  sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Camera', cam.object);
  client = await Session.connect(sd.endpoints[0], { ipc: false, lpc: false });
  sessions.push(client);
});

after(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await sd?.close();
});

describe('streams over TCP', () => {
  it('delivers typed chunks complete and in order, with sequence numbers', async () => {
    const c = await client.service<typeof Camera>('Camera');
    assert.match(Session.route(c)!, /^(tcp:\/\/127\.0\.0\.1:\d+|qi:ServiceDirectory)$/);
    const reader = openStream(await c.frames(2000, 48), { credit: 32 });
    assert.match(reader.route, /^tcp:\/\/127\.0\.0\.1:\d+$/, 'the stream object is reached over the socket');
    let n = 0;
    for await (const f of reader) {
      assert.equal(f.index, n);
      assert.equal(f.width, 48);
      assert.equal(f.data.length, 48);
      assert.ok(
        f.data.every((b) => b === (n & 255)),
        `frame ${n} has its bytes`,
      );
      n++;
    }
    assert.equal(n, 2000);
    assert.equal(reader.received, 2000n);
    assert.ok(reader.peakBuffered <= 32, `the reader held at most its credit (${reader.peakBuffered})`);
    const p = cam.made.at(-1)!;
    assert.equal(await within(p.outcome, 2000, 'the writer to finish'), 'ended');
    await within(p.stream.finished, 1000, 'finished');
  });

  it('carries raw chunks up to 1 MiB', async () => {
    const c = await client.service<typeof Camera>('Camera');
    for (const size of [0, 1, 65_536, 1024 * 1024]) {
      const count = size >= 1024 * 1024 ? 24 : 50;
      let n = 0;
      for await (const b of openStream(await c.blobs(count, size), { credit: 4 })) {
        assert.equal(b.length, size);
        if (size > 0)
          assert.ok(
            b[0] === (n & 255) && b[size - 1] === (n & 255) && Buffer.from(b).equals(Buffer.alloc(size, n & 255)),
            `chunk ${n} of ${size} bytes`,
          );
        n++;
      }
      assert.equal(n, count, `${count} chunks of ${size} bytes`);
    }
  });

  it('keeps the stream object alive while it is read, though the caller dropped its proxy', async () => {
    const c = await client.service<typeof Camera>('Camera');
    const reader = openStream<Uint8Array>(await c.blobs(40, 1000), { credit: 2 });
    let n = 0;
    for await (const _ of reader) {
      if (n++ % 10 === 0) gc(); // a collected proxy would release the remote object (terminate)
      await sleep(1);
    }
    assert.equal(n, 40);
  });

  it('applies backpressure: a slow reader holds the writer, whose queue stays bounded', async () => {
    const c = await client.service<typeof Camera>('Camera');
    const size = 256 * 1024;
    const hwm = 8;
    const credit = 4;
    const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    const reader = openStream<Uint8Array>(await c.endless(size, hwm), { credit });
    const p = cam.made.at(-1)!;
    const w = p.stream;
    let read = 0;
    let maxQueued = 0;
    let maxAhead = 0;
    let peakArrayBuffers = 0;
    for await (const chunk of reader) {
      assert.equal(chunk.length, size);
      read++;
      await sleep(10); // the slow consumer
      maxQueued = Math.max(maxQueued, w.buffered);
      maxAhead = Math.max(maxAhead, p.written - read);
      peakArrayBuffers = Math.max(peakArrayBuffers, process.memoryUsage().arrayBuffers - arrayBuffersBefore);
      if (read === 60) break;
    }
    assert.ok(maxQueued <= hwm + 1, `writer queue ${maxQueued} <= highWaterMark + one waiting write`);
    assert.ok(reader.peakBuffered <= credit, `reader held ${reader.peakBuffered} <= credit ${credit}`);
    // Everything written and not yet read is in the writer's queue, on the wire or in the reader: bounded.
    assert.ok(maxAhead <= hwm + credit + 2, `the writer was at most ${maxAhead} chunks ahead of the reader`);
    assert.ok(
      peakArrayBuffers < 64 * 1024 * 1024,
      `buffers grew by ${(peakArrayBuffers / 1048576).toFixed(1)} MiB at most`,
    );
    console.log(
      `# backpressure: writer queue <= ${maxQueued} chunks, reader <= ${reader.peakBuffered}, writer ahead <= ${maxAhead} chunks (${((maxAhead * size) / 1048576).toFixed(1)} MiB), buffers +${(peakArrayBuffers / 1048576).toFixed(1)} MiB`,
    );
  });

  it('closes the writer side when the reader breaks out of its loop', async () => {
    const c = await client.service<typeof Camera>('Camera');
    let n = 0;
    for await (const _ of openStream(await c.endless(1000, 4), { credit: 2 })) if (++n === 5) break;
    const p = cam.made.at(-1)!;
    const outcome = await within(p.outcome, 2000, 'the pending write to fail');
    assert.ok(outcome instanceof QiStreamClosedError, `write rejected with ${String(outcome)}`);
    assert.match(outcome.message, /the reader closed the stream/);
    assert.equal(p.stream.signal.aborted, true);
    await assert.rejects(p.stream.finished, QiStreamClosedError);
    await assert.rejects(p.stream.write(Buffer.alloc(1)), QiStreamClosedError);
  });

  it('gives the writer error to the reader after the chunks written before it', async () => {
    const c = await client.service<typeof Camera>('Camera');
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const i of openStream(await c.failAfter(10, 'sensor unplugged'), { credit: 3 })) got.push(i);
      })(),
      (e: unknown) =>
        e instanceof QiStreamError && /sensor unplugged/.test(e.message) && e.remoteMessage === 'sensor unplugged',
    );
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('ends the iterator with a clear error when the connection is cut mid-stream, and frees the writer', async () => {
    const relay = await FaultRelay.start(sd.endpoints[0]);
    const s = await Session.connect(relay.url, { ipc: false, lpc: false, reconnect: false });
    sessions.push(s);
    const c = await s.service<typeof Camera>('Camera');
    const reader = openStream<Uint8Array>(await c.endless(4096, 4), { credit: 4 });
    const p = cam.made.at(-1)!;
    let n = 0;
    const t0 = { at: 0 };
    const done = (async () => {
      for await (const _ of reader) {
        if (++n === 20) {
          t0.at = Date.now();
          relay.cutNow();
        }
        await sleep(1);
      }
    })();
    await assert.rejects(
      within(done, 3000, 'the iterator to fail'),
      (e: unknown) =>
        e instanceof QiStreamBrokenError && /Lost the stream .* after \d+ chunks: .*closed/.test(e.message),
    );
    assert.ok(Date.now() - t0.at < 2000, 'noticed within 2 s');
    const outcome = await within(p.outcome, 2000, 'the writer to be freed');
    assert.ok(outcome instanceof QiStreamClosedError && /connection .* closed/.test(outcome.message), String(outcome));
  });

  it('notices a silent network (black hole) within the heartbeat on the reader and the idle timeout on the writer', async () => {
    const local = camera({ idleTimeoutMs: 800 });
    const host = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    sessions.push(host);
    await host.registerService('Camera', local.object);
    const relay = await FaultRelay.start(host.endpoints[0]);
    const s = await Session.connect(relay.url, {
      ipc: false,
      lpc: false,
      reconnect: false,
      limits: { heartbeatMs: 300 },
    });
    sessions.push(s);
    const c = await s.service<typeof Camera>('Camera');
    const reader = openStream<Uint8Array>(await c.endless(4096, 4), { credit: 4 });
    const p = local.made.at(-1)!;
    let n = 0;
    const t0 = Date.now();
    const done = (async () => {
      for await (const _ of reader) {
        if (++n === 10) relay.mode = 'blackhole';
        await sleep(5); // the reader holds chunks while the network goes silent
      }
    })();
    await assert.rejects(within(done, 5000, 'the iterator to fail'), QiStreamBrokenError);
    const outcome = await within(p.outcome, 5000, 'the writer to be freed');
    assert.ok(outcome instanceof QiStreamClosedError, String(outcome));
    assert.ok(Date.now() - t0 < 4000);
  });
});

describe('a stream is an ordinary qi object (libqi compatibility)', () => {
  it('has a MetaObject of plain methods, and plain calls on the service still work', async () => {
    const c = await client.service<typeof Camera>('Camera');
    assert.equal(await c.ping('x'), 'pong x');
    const ref = await c.frames(3, 2);
    const meta = backendOf(ref)!.type.metaObject;
    const own = [...meta.methods.values()]
      .filter((m) => m.uid >= 100)
      .map((m) => `${m.uid} ${m.name}${m.parametersSignature}${m.returnSignature}`);
    assert.deepEqual(own, [
      '100 next(I)(L[(iir)<Frame,index,width,data>]bs)<StreamBatch,seq,chunks,end,error>',
      '101 close()v',
      '102 finished()(Ls)<StreamEnd,chunks,error>',
    ]);
    assert.equal(meta.signals.size > 0, true, 'the built-in traceObject signal only');
    assert.deepEqual(
      [...meta.signals.values()].filter((s) => s.uid >= 100),
      [],
    );
    assert.equal(meta.methods.get(2)?.name, 'metaObject', 'libqi built-ins are there');
    // What a libqi client does: call next() by hand until a batch says end.
    const proxy = ref as AnyProxy;
    const all: number[] = [];
    for (;;) {
      const b = (await proxy.next(2)) as { seq: bigint; chunks: { index: number }[]; end: boolean; error: string };
      assert.equal(b.seq, BigInt(all.length));
      all.push(...b.chunks.map((f) => f.index));
      if (b.end) break;
    }
    assert.deepEqual(all, [0, 1, 2]);
    assert.equal(await c.ping('y'), 'pong y');
  });

  it('refuses what is not a stream, and chunks that do not fit the signature', async () => {
    const c = await client.service<typeof Camera>('Camera');
    assert.throws(() => openStream(c), /Camera is not a stream: it has no next\(I\)/);
    assert.throws(() => openStream(42 as unknown as object), TypeError);
    const s = new QiStream(t.int32);
    await assert.rejects(s.write('seven' as unknown as number), QiValueError);
    await assert.rejects(new QiStream(t.raw).write(7 as unknown as Uint8Array), QiValueError);
    assert.throws(() => new QiStream('[i'), /signature/i);
  });

  it('bounds a writer that does not await write(), and delivers what it accepted', async () => {
    const s = new QiStream(t.int32, { highWaterMark: 2 });
    const accepted = [s.write(1), s.write(2), s.write(3), s.write(4)]; // 2 queued, 2 waiting for room
    await assert.rejects(s.write(5), QiLimitError);
    assert.equal(s.buffered, 4);
    s.end();
    const got: number[] = [];
    for await (const i of openStream(s, { credit: 1 })) got.push(i);
    assert.deepEqual(got, [1, 2, 3, 4]);
    await Promise.all(accepted);
    await within(s.finished, 1000, 'finished');
    assert.equal(s.delivered, 4n);
  });

  it('destroy() drops queued chunks and fails the reader now', async () => {
    const s = new QiStream(t.int32);
    await s.write(1);
    s.destroy(new Error('camera unplugged'));
    await assert.rejects(
      openStream(s).next(),
      (e: unknown) => e instanceof QiStreamError && e.remoteMessage === 'camera unplugged',
    );
  });

  it('closes a stream nobody reads after idleTimeoutMs', async () => {
    const s = new QiStream(t.int32, { idleTimeoutMs: 100, highWaterMark: 1 });
    await s.write(1);
    const blocked = s.write(2);
    await assert.rejects(within(blocked, 2000, 'the idle timeout'), /no read for 100 ms/);
  });
});

describe('streams in-process', () => {
  it('reads a stream of a service of this process with the same API and flow control', async () => {
    const local = await Session.connect(sd.endpoints[0], { ipc: false });
    sessions.push(local);
    const c = await local.service<typeof Camera>('Camera');
    assert.equal(Session.route(c), 'local');
    const ref = await c.frames(300, 8);
    assert.ok(ref instanceof QiStream, 'in-process, the method gives the writer itself');
    const reader = openStream(ref, { credit: 5 });
    assert.equal(reader.route, 'local');
    let n = 0;
    for await (const f of reader) assert.equal(f.index, n++);
    assert.equal(n, 300);
    assert.ok(reader.peakBuffered <= 5);
    let m = 0;
    for await (const _ of openStream(await c.endless(10, 2), { credit: 2 })) if (++m === 3) break;
    const outcome = await within(cam.made.at(-1)!.outcome, 1000, 'the writer to stop');
    assert.ok(outcome instanceof QiStreamClosedError);
  });

  it('closes on an AbortSignal', async () => {
    const s = new QiStream(t.int32, { highWaterMark: 2 });
    const ac = new AbortController();
    const reader = openStream(s, { signal: ac.signal });
    void (async () => {
      for (let i = 0; ; i++) await s.write(i);
    })().catch(() => {});
    const first = await reader.next();
    assert.deepEqual(first, { value: 0, done: false });
    ac.abort();
    await until(() => s.signal.aborted, 1000, 'the writer to see the close');
    assert.deepEqual(await reader.next(), { value: undefined, done: true });
  });
});
