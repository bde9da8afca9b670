/**
 * Media tracks on direct links, over real sockets on loopback (libdatachannel: ICE, DTLS-SRTP): frames
 * sent on a track arrive whole and in order; a peer that floods, or sends garbage RTP, costs bounded
 * memory; closing the link ends the host's iterator. And the RTP reading itself, byte by byte.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import nodeDataChannel from 'node-datachannel';
import { QiError, type AnyProxy } from '../../src/index.js';
import { DirectLink, type MediaFrame, type MediaReceiver } from '../../src/remote/index.js';
import { FrameAssembler } from '../../src/remote/ice/media-jitter.js';
import { depacketize, nackPacket, parseRtp, type RtpPacket } from '../../src/remote/ice/media-rtp.js';
import { iceHost } from '../helpers/ice-host.js';

/** An H.264-like access unit: NAL units after 4-byte start codes, their bytes free of 00 00 runs. */
function accessUnit(index: number, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  sizes.forEach((n, i) => {
    const nal = Buffer.from(randomBytes(n).map((b) => b || 1));
    nal[0] = i === 0 ? 0x65 : 0x41; // an IDR slice, then non-IDR ones: nal_ref_idc set, forbidden bit clear
    nal.writeUInt32BE(index, 1);
    parts.push(Buffer.from([0, 0, 0, 1]), nal);
  });
  return Buffer.concat(parts);
}

async function collect(track: MediaReceiver, n: number, ms: number): Promise<MediaFrame[]> {
  const frames: MediaFrame[] = [];
  const deadline = Date.now() + ms;
  const it = track[Symbol.asyncIterator]();
  while (frames.length < n && Date.now() < deadline) {
    const r = await Promise.race([it.next(), new Promise<'late'>((r) => setTimeout(() => r('late'), 200))]);
    if (r === 'late') continue;
    if (r.done) break;
    frames.push(r.value);
  }
  return frames;
}

describe('media tracks on a direct link (libdatachannel, loopback)', () => {
  const tracks: MediaReceiver[] = [];
  let arrived: () => void = () => {};
  const fx = iceHost({
    access: { anonymous: { allow: ['*'] } },
    host: {
      stack: 'libdatachannel',
      media: { maxQueuedFrames: 8 },
      onMedia: (track) => {
        tracks.push(track);
        arrived();
      },
    },
  });

  async function open(): Promise<{ link: DirectLink; track: MediaReceiver }> {
    const before = tracks.length;
    const got = new Promise<void>((r) => (arrived = r));
    const link = await DirectLink.open(fx.client, {
      hostAddress: '127.0.0.1',
      stack: 'libdatachannel',
      media: [{ name: 'camera', kind: 'video' }],
      fallback: false,
      session: { ipc: false },
    });
    if (tracks.length === before) await got;
    const sender = link.track('camera');
    for (let i = 0; i < 100 && !sender.isOpen; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(sender.isOpen, 'the track opened with the link');
    return { link, track: tracks[tracks.length - 1] };
  }

  it('carries frames whole and in order, timestamped, beside the qi session', { timeout: 30_000 }, async () => {
    const { link, track } = await open();
    try {
      assert.equal(link.path, 'direct');
      assert.deepEqual([track.name, track.kind, track.codec], ['camera', 'video', 'H264']);
      const sent = Array.from({ length: 12 }, (_, i) => accessUnit(i, i % 4 === 0 ? [30, 40_000] : [3000 + i * 2000]));
      const sender = link.track('camera');
      const reading = collect(track, sent.length, 10_000);
      for (const [i, frame] of sent.entries()) {
        sender.send(frame, i * 33);
        await new Promise((r) => setTimeout(r, 5)); // under the reader's queue bound (8)
      }
      const frames = await reading;
      assert.equal(
        frames.length,
        sent.length,
        `frames received: ${frames.length}, metrics ${JSON.stringify(track.metrics)}`,
      );
      frames.forEach((f, i) => {
        assert.ok(f.data.equals(sent[i]), `frame ${i} arrived with its bytes (${f.data.length} vs ${sent[i].length})`);
        assert.equal(f.timestamp, i * 33);
      });
      assert.equal(sender.metrics.frames, sent.length);
      assert.deepEqual([track.metrics.lost, track.metrics.dropped, track.metrics.invalid], [0, 0, 0]);
      assert.throws(
        () => sender.send(Buffer.from('no start code')),
        (e: Error) => e instanceof QiError && e.code === 'ERR_QI_VALUE',
      );
      assert.throws(() => link.track('mic'), /No media track "mic" on this link \(asked for: camera\)/);
    } finally {
      await link.close();
    }
  });

  it(
    'keeps a bounded queue for a reader that does not read, and ends it when the link closes',
    { timeout: 30_000 },
    async () => {
      const { link, track } = await open();
      const sender = link.track('camera');
      for (let i = 0; i < 200; i++) {
        sender.send(accessUnit(i, [20_000]), i * 33);
        if (i % 20 === 19) await new Promise((r) => setTimeout(r, 10));
      }
      for (let i = 0; i < 100 && track.metrics.frames + track.metrics.lost < 200; i++)
        await new Promise((r) => setTimeout(r, 20));
      const m = track.metrics;
      assert.ok(m.frames >= 100, `frames that arrived: ${JSON.stringify(m)}`);
      assert.equal(track.queued, 8, 'the queue stays at its bound');
      assert.equal(m.dropped, m.frames - 8, 'every frame past the bound dropped the oldest');
      const frames: MediaFrame[] = [];
      const done = (async () => {
        for await (const f of track) frames.push(f);
      })();
      await link.close();
      await Promise.race([
        done,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the iterator did not end')), 5000)),
      ]);
      assert.equal(frames.length, 8, 'what was queued is still read, then the loop ends');
      const order = frames.map((f) => f.data.readUInt32BE(5));
      assert.deepEqual(
        order,
        [...order].sort((x, y) => x - y),
        'in order',
      );
      assert.ok(order[0] >= m.dropped, `the newest were kept: ${order.join(', ')}`);
      assert.throws(
        () => sender.send(accessUnit(0, [10])),
        (e: Error) => e instanceof QiError && e.code === 'ERR_QI_CLOSED',
      );
    },
  );

  it(
    'bounds what a hostile peer costs: garbage and a flood of RTP that never makes a frame',
    { timeout: 30_000 },
    async () => {
      // The peer is a bare node-datachannel connection that offers a video track and sends raw packets on it.
      // The link stack stops libdatachannel's threads just after its last peer connection closed (the
      // previous test's): this one is made after that.
      await new Promise((r) => setTimeout(r, 100));
      const config = { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true };
      const pc = new nodeDataChannel.PeerConnection('hostile', config);
      const video = new nodeDataChannel.Video('camera', 'SendOnly');
      video.addH264Codec(96);
      video.addSSRC(4242, 'hostile');
      const raw = pc.addTrack(video);
      const channel = pc.createDataChannel('qi');
      pc.setLocalDescription('offer');
      for (let i = 0; i < 200 && pc.gatheringState() !== 'complete'; i++) await new Promise((r) => setTimeout(r, 10));
      const before = tracks.length;
      const got = new Promise<void>((r) => (arrived = r));
      const signaling = (await fx.client.service('DirectLink')) as AnyProxy;
      pc.setRemoteDescription((await signaling.offer('hostile-1', pc.localDescription()!.sdp)) as string, 'answer');
      for (let i = 0; i < 200 && !raw.isOpen(); i++) await new Promise((r) => setTimeout(r, 10));
      if (tracks.length === before) await got;
      const track = tracks[tracks.length - 1];
      const heap = process.memoryUsage().heapUsed;
      try {
        for (let i = 0; i < 4000; i++) {
          // RTP headers (SRTP protects nothing else), then garbage: another payload type, another SSRC,
          // or this stream's FU-A middle fragments at scattered numbers and timestamps (never a frame).
          const p = randomBytes(1100);
          p.set([0x80, [96, 33, 96][i % 3], 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x92, 0x7c, 0x05]);
          p.writeUInt16BE((i * 7919) & 0xffff, 2);
          p.writeUInt32BE(i * 3000, 4);
          p.writeUInt32BE(i % 3 === 2 ? 777 : 4242, 8);
          raw.sendMessageBinary(p);
          if (i % 200 === 199) await new Promise((r) => setTimeout(r, 5));
        }
        await new Promise((r) => setTimeout(r, 500));
        const m = track.metrics;
        assert.equal(m.frames, 0, `no frame out of garbage: ${JSON.stringify(m)}`);
        assert.ok(m.invalid >= 2000, `packets of another payload type or SSRC counted: ${JSON.stringify(m)}`);
        assert.ok(process.memoryUsage().heapUsed - heap < 64 << 20, 'bounded memory');
        const done = (async () => {
          for await (const _ of track) assert.fail('no frame');
        })();
        channel.close();
        pc.close();
        await signaling.hangup('hostile-1');
        await Promise.race([
          done,
          new Promise((_, reject) => setTimeout(() => reject(new Error('the iterator did not end')), 5000)),
        ]);
      } finally {
        pc.close();
      }
    },
  );

  it('refuses media on werift, naming the fix', async () => {
    await assert.rejects(
      DirectLink.open(fx.client, {
        hostAddress: '127.0.0.1',
        stack: 'werift',
        media: [{ name: 'camera', kind: 'video' }],
      }),
      (e: Error) => e instanceof QiError && e.code === 'ERR_QI_CONFIG' && /stack: 'libdatachannel'/.test(e.message),
    );
    await assert.rejects(
      DirectLink.open(fx.client, { media: [{ name: 'bad name', kind: 'video' }] }),
      (e: Error) => e instanceof QiError && /letters, digits/.test(e.message),
    );
  });
});

/** RTP packets of a frame as libdatachannel's packetizer makes them: FU-A fragments of one NAL unit. */
function packets(frame: Buffer, seq: number, ts: number, size = 1000): RtpPacket[] {
  const nal = frame.subarray(4);
  const out: RtpPacket[] = [];
  for (let o = 1; o < nal.length; o += size) {
    const start = o === 1;
    const end = o + size >= nal.length;
    const header = Buffer.from([(nal[0] & 0xe0) | 28, (start ? 0x80 : 0) | (end ? 0x40 : 0) | (nal[0] & 0x1f)]);
    out.push({
      payloadType: 96,
      marker: end,
      sequence: (seq + out.length) & 0xffff,
      timestamp: ts,
      ssrc: 7,
      payload: Buffer.concat([header, nal.subarray(o, o + size)]),
    });
  }
  return out;
}

describe('RTP reading (media-rtp, media-jitter)', () => {
  function assembler(maxDelayMs = 100) {
    const frames: Buffer[] = [];
    const nacks: number[][] = [];
    const metrics = { frames: 0, bytes: 0, dropped: 0, lost: 0, invalid: 0, nacks: 0 };
    const a = new FrameAssembler('H264', 90_000, maxDelayMs, 1 << 20, metrics, {
      frame: (d) => frames.push(d),
      nack: (s) => nacks.push(s),
    });
    return { a, frames, nacks, metrics };
  }

  it('parses headers with CSRCs, an extension and padding; rejects RTCP and short packets', () => {
    const p = Buffer.from([
      0xb1, 0xe0, 0xff, 0xfe, 0, 0, 0, 9, 0, 0, 0, 7, 1, 2, 3, 4, 0xbe, 0xde, 0, 1, 9, 9, 9, 9, 0x41, 0xaa, 0, 2,
    ]);
    const r = parseRtp(p)!;
    assert.deepEqual([r.payloadType, r.marker, r.sequence, r.timestamp, r.ssrc], [96, true, 0xfffe, 9, 7]);
    assert.deepEqual([...r.payload], [0x41, 0xaa]);
    assert.equal(parseRtp(nackPacket(1, 2, [5])), undefined);
    assert.equal(parseRtp(Buffer.alloc(11)), undefined);
    assert.equal(
      parseRtp(Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200])),
      undefined,
      'an extension past the end',
    );
  });

  it('writes NACKs with a bitmask for the following 16, across the wrap', () => {
    const n = nackPacket(1, 2, [65535, 0, 3, 40]);
    assert.equal(n.readUInt16BE(2), 5, 'length in 32-bit words, minus one');
    assert.deepEqual(
      [n.readUInt16BE(12), n.readUInt16BE(14), n.readUInt16BE(16), n.readUInt16BE(18)],
      [0, 0b100, 40, 0],
    );
    assert.deepEqual([n.readUInt16BE(20), n.readUInt16BE(22)], [65535, 0]);
  });

  it('rebuilds frames across a sequence wrap, asks for a lost packet, and gives the frame when it comes back', () => {
    const { a, frames, nacks, metrics } = assembler();
    const f0 = accessUnit(0, [2500]);
    const f1 = accessUnit(1, [2500]);
    const p0 = packets(f0, 65534, 1000);
    const p1 = packets(f1, 65534 + p0.length, 4000);
    for (const p of p0) a.push(p, 0);
    assert.ok(frames[0].equals(f0));
    a.push(p1[0], 1);
    a.push(p1[2], 2); // p1[1] lost
    assert.deepEqual(nacks, [[p1[1].sequence]]);
    assert.equal(frames.length, 1);
    a.push(p1[1], 30); // the retransmission
    assert.ok(frames[1].equals(f1));
    assert.deepEqual([metrics.lost, metrics.nacks], [0, 1]);
    assert.ok(depacketize('H264', [Buffer.from([0x7c, 0x05, 1])]) === undefined, 'an FU-A without its start');
  });

  it('skips a frame still incomplete after maxDelayMs and gives the newer ones, in order', () => {
    const { a, frames, metrics } = assembler(100);
    const f = [0, 1, 2].map((i) => accessUnit(i, [2500]));
    const p = [packets(f[0], 10, 0), packets(f[1], 13, 3000), packets(f[2], 16, 6000)];
    a.push(p[0][0], 0);
    a.push(p[0][2], 0); // p[0][1] never comes
    for (const x of [...p[1], ...p[2]]) a.push(x, 10);
    assert.equal(frames.length, 0, 'newer frames wait while the older one may still be completed');
    a.tick(50);
    assert.equal(frames.length, 0);
    a.tick(101);
    assert.deepEqual(
      frames.map((x) => x.readUInt32BE(5)),
      [1, 2],
    );
    assert.equal(metrics.lost, 1);
    a.push(p[0][1], 120); // too late: dropped
    assert.equal(frames.length, 2);
  });

  it('holds bounded memory under a flood of garbage and out-of-window packets', () => {
    const { a, metrics } = assembler(1e9); // nothing is ever skipped for time
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 20_000; i++) {
      const payload = randomBytes(1000);
      payload[0] = 0x7c; // FU-A middles: frames that never complete
      payload[1] = 0x05;
      a.push(
        { payloadType: 96, marker: i % 7 === 0, sequence: (i * 3) & 0xffff, timestamp: i * 11, ssrc: 7, payload },
        0,
      );
    }
    const held = (a as unknown as { heldBytes: number }).heldBytes;
    assert.ok(held <= 2 * (1 << 20), `held ${held} bytes`);
    assert.ok(metrics.lost > 0);
    assert.ok(process.memoryUsage().heapUsed - before < 64 << 20);
  });
});
