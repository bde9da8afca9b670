/**
 * Streams through a Gateway: the stream object travels by reference through the gateway like any
 * object, its `next` calls are forwarded, a client that breaks off or leaves frees the writer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Gateway, QiStreamClosedError, QiStreamError, Session, listenStandalone, openStream } from '../../src/index.js';
import { Camera, camera, sleep, within } from './fixtures.js';

const INSIDE = '127.0.0.2';
const OUTSIDE = '127.0.0.3';

let sd: Session;
let service: Session;
let gw: Gateway;
const cam = camera();
const clients: Session[] = [];

async function client(): Promise<Session> {
  const s = await Session.connect(gw.url, { ipc: false, lpc: false, auth: { user: 'viewer', token: 'v' } });
  clients.push(s);
  return s;
}

before(async () => {
  sd = await listenStandalone(`tcp://${INSIDE}:0`, { ipc: false });
  service = await Session.connect(sd.endpoints[0], { ipc: false });
  await service.listen(`tcp://${INSIDE}:0`);
  await service.registerService('Camera', cam.object);
  gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: `tcp://${OUTSIDE}:0`,
    access: { users: { viewer: { token: 'v', allow: ['Camera'] } } },
  });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw?.close();
  await service?.close();
  await sd?.close();
});

describe('streams through a gateway', () => {
  it('delivers typed and 1 MiB raw chunks in order, beside plain calls', async () => {
    const c = await (await client()).service<typeof Camera>('Camera');
    assert.equal(await c.ping('gw'), 'pong gw');
    const reader = openStream(await c.frames(500, 100), { credit: 16 });
    assert.equal(reader.route, gw.url, 'the stream comes through the gateway');
    let n = 0;
    for await (const f of reader) {
      assert.equal(f.index, n);
      assert.ok(f.data.length === 100 && f.data[99] === (n & 255));
      n++;
    }
    assert.equal(n, 500);
    let m = 0;
    for await (const b of openStream(await c.blobs(12, 1024 * 1024), { credit: 4 })) {
      assert.ok(b.length === 1024 * 1024 && b[0] === (m & 255) && b[b.length - 1] === (m & 255));
      m++;
    }
    assert.equal(m, 12);
    assert.equal(await c.ping('after'), 'pong after');
  });

  it('carries the writer error', async () => {
    const c = await (await client()).service<typeof Camera>('Camera');
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const i of openStream(await c.failAfter(3, 'lens cap on'))) got.push(i);
      })(),
      (e: unknown) => e instanceof QiStreamError && e.remoteMessage === 'lens cap on',
    );
    assert.deepEqual(got, [0, 1, 2]);
  });

  it('frees the writer when the reader breaks off, and when the client leaves mid-stream', async () => {
    const s = await client();
    const c = await s.service<typeof Camera>('Camera');
    let n = 0;
    for await (const _ of openStream(await c.endless(2000, 4), { credit: 4 })) if (++n === 10) break;
    const broken = await within(cam.made.at(-1)!.outcome, 2000, 'the writer to see the break');
    assert.ok(
      broken instanceof QiStreamClosedError && /the reader closed the stream/.test(broken.message),
      String(broken),
    );

    const reader = openStream(await c.endless(2000, 4), { credit: 4 });
    const p = cam.made.at(-1)!;
    const reading = (async () => {
      for await (const _ of reader) await sleep(1);
    })();
    reading.catch(() => {});
    await sleep(50);
    await s.close(); // the client goes away; the gateway cancels its pending next() upstream
    const outcome = await within(p.outcome, 3000, 'the writer to be freed after the client left');
    assert.ok(outcome instanceof QiStreamClosedError, String(outcome));
    await assert.rejects(within(reading, 3000, 'the reader to end'));
  });

  it('frees the writer of a client that leaves with no call pending on the stream (a libqi reader between two next calls)', async () => {
    const s = await client();
    const c = await s.service<typeof Camera>('Camera');
    await c.endless(2000, 4); // the stream object, never read: nothing of the client's is pending at the service
    const p = cam.made.at(-1)!;
    await sleep(50);
    await s.close(); // the gateway terminates what the client held; the released stream closes itself
    const outcome = await within(p.outcome, 3000, 'the writer to be freed (not after its 60 s idle timeout)');
    assert.ok(outcome instanceof QiStreamClosedError && /released the stream/.test(outcome.message), String(outcome));
  });
});
