/**
 * Live video over a direct link: frame latency of an RTP track against DataChannels, clean and under
 * loss (docs/links.md#media-tracks):
 *
 *   npm run build && flock /work/bench.lock node dist/bench/media.bench.js [--seconds=8] [--fps=30]
 *
 * Each row is one libdatachannel peer connection pair in this process (both ends: latency is read on
 * one clock; each frame carries its send time, `performance.now()`, and the receiver subtracts it from
 * the time it reads the frame), on loopback through bench/media-relay.ts, a UDP relay in a child process
 * that drops and delays datagrams (loss and delay apply to each direction, RTT = 2 × delay; it stands
 * in for netem, which this machine's kernel lacks). Frames: `fps` per second, 20 to 40 KB, every 30th
 * 60 KB (a key frame). Rows:
 *   - RTP track: the link's media (src/remote/ice/media-libdatachannel.ts: H.264 packetizer, NACK
 *     retransmission, frames skipped after maxDelayMs, 150 ms), on a peer connection that also has the
 *     qi DataChannel, as a link's has;
 *   - DataChannel reliable, ordered: what a link's qi session runs on, one message per frame;
 *   - DataChannel unordered, maxPacketLifeTime 150 ms (partial reliability, the RTP track's budget);
 *   - DataChannel unordered, maxRetransmits 0 (no retransmission at all).
 * A frame that never arrives counts in `lost`; p50/p99 are over the frames that arrived.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import nodeDataChannel, { type PeerConnection } from 'node-datachannel';
import { LibdatachannelMedia } from '../src/remote/ice/media-libdatachannel.js';
import { fmt, num, quantile } from './harness.js';

const SECONDS = num('seconds', 8);
const FPS = num('fps', 30);
const CONDITIONS: { label: string; loss: number; delay: number }[] = [
  { label: 'clean', loss: 0, delay: 0 },
  { label: '20 ms each way', loss: 0, delay: 20 },
  { label: '1% loss, 20 ms each way', loss: 0.01, delay: 20 },
];

interface Row {
  variant: string;
  sent: number;
  latencies: number[];
}

/** A frame: an Annex B start code, a NAL header, then `index send-time` in ASCII, then filler (no zero bytes). */
function frame(index: number): Buffer {
  const size = index % 30 === 0 ? 60_000 : 20_000 + ((index * 7919) % 20_000);
  const b = Buffer.alloc(size, 0x55);
  b.writeUInt32BE(1, 0);
  b[4] = index % 30 === 0 ? 0x65 : 0x41;
  b.write(`${index} ${performance.now().toFixed(3)} `, 5, 'latin1');
  return b;
}

function sentAt(data: Buffer): number {
  return Number(data.toString('latin1', 5, 40).split(' ')[1]);
}

/** Sends `fps` frames a second for SECONDS with `send`; resolves with the count. */
async function stream(send: (frame: Buffer) => void): Promise<number> {
  const total = SECONDS * FPS;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / FPS;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    send(frame(i));
  }
  await new Promise((r) => setTimeout(r, 1000)); // the last frames' retransmissions
  return total;
}

/** The port of the first candidate of an SDP. */
function portOf(sdp: string): number {
  const m = / 127\.0\.0\.1 (\d+) typ host/.exec(sdp);
  if (m === null) throw new Error(`no loopback candidate in ${sdp}`);
  return Number(m[1]);
}

/** The SDP with its port `from` replaced by `to`, in candidates and media lines. */
function moved(sdp: string, from: number, to: number): string {
  return sdp
    .replaceAll(` 127.0.0.1 ${from} typ`, ` 127.0.0.1 ${to} typ`)
    .replace(new RegExp(`^(m=\\w+) ${from} `, 'gm'), `$1 ${to} `);
}

async function described(pc: PeerConnection, type: 'offer' | 'answer'): Promise<string> {
  pc.setLocalDescription(type);
  for (let i = 0; i < 200 && pc.gatheringState() !== 'complete'; i++) await new Promise((r) => setTimeout(r, 5));
  return pc.localDescription()!.sdp;
}

/** A pair of peer connections whose path goes through the relay; `setup` adds tracks and channels to each first. */
async function pair(relay: ChildProcess, setup: (a: PeerConnection, b: PeerConnection) => void): Promise<() => void> {
  const config = { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true };
  const a = new nodeDataChannel.PeerConnection('a', config);
  const b = new nodeDataChannel.PeerConnection('b', config);
  setup(a, b);
  const offer = await described(a, 'offer');
  const pa = portOf(offer);
  const via = await new Promise<{ ra: number; rb: number }>((resolve) => {
    relay.once('message', (m) => resolve(m as { ra: number; rb: number }));
    relay.send({ a: pa });
  });
  // Each side learns the other at the relay's ports only.
  b.setRemoteDescription(moved(offer, pa, via.ra), 'offer');
  const answer = await described(b, 'answer');
  a.setRemoteDescription(moved(answer, portOf(answer), via.rb), 'answer');
  return () => {
    a.close();
    b.close();
  };
}

async function rtpRow(relay: ChildProcess): Promise<Row> {
  const latencies: number[] = [];
  let metrics: { nacks: number; lost: number } | undefined;
  let sender: ReturnType<LibdatachannelMedia['addSender']> | undefined;
  const keep: unknown[] = [];
  const close = await pair(relay, (a, b) => {
    sender = new LibdatachannelMedia(nodeDataChannel, a).addSender({ name: 'camera', kind: 'video', codec: 'H264' });
    keep.push(a.createDataChannel('qi'));
    const media = new LibdatachannelMedia(nodeDataChannel, b);
    keep.push(media);
    media.onReceiver((track) => {
      metrics = track.metrics;
      void (async () => {
        for await (const f of track) latencies.push(performance.now() - sentAt(f.data));
      })();
    });
  });
  for (let i = 0; i < 500 && !sender!.isOpen; i++) await new Promise((r) => setTimeout(r, 10));
  const sent = await stream((f) => sender!.send(f));
  close();
  return { variant: `RTP track (NACKs ${metrics?.nacks ?? 0}, skipped ${metrics?.lost ?? 0})`, sent, latencies };
}

async function channelRow(
  relay: ChildProcess,
  label: string,
  init: nodeDataChannel.DataChannelInitConfig,
): Promise<Row> {
  const latencies: number[] = [];
  const keep: unknown[] = []; // a channel whose wrapper is collected closes
  let dc: nodeDataChannel.DataChannel | undefined;
  const close = await pair(relay, (a, b) => {
    dc = a.createDataChannel('frames', init);
    b.onDataChannel((ch) => {
      keep.push(ch);
      ch.onMessage((m) => latencies.push(performance.now() - sentAt(m as Buffer)));
    });
  });
  for (let i = 0; i < 500 && !dc!.isOpen(); i++) await new Promise((r) => setTimeout(r, 10));
  const sent = await stream((f) => dc!.sendMessageBinary(f));
  close();
  return { variant: label, sent, latencies };
}

const relayScript = fileURLToPath(new URL('./media-relay.js', import.meta.url));
console.log(
  `Media benchmark: node ${process.version}, ${FPS} fps for ${SECONDS} s per row, 20-60 KB frames, both ends in one process (one clock), loopback through a lossy UDP relay`,
);
console.log('| condition | transport | p50 ms | p99 ms | max ms | frames lost |');
console.log('|---|---|--:|--:|--:|--:|');
for (const c of CONDITIONS) {
  const relay = fork(relayScript, [`--loss=${c.loss}`, `--delay=${c.delay}`]);
  const rows = [
    await rtpRow(relay),
    await channelRow(relay, 'DataChannel reliable, ordered', {}),
    await channelRow(relay, 'DataChannel unordered, lifetime 150 ms', { unordered: true, maxPacketLifeTime: 150 }),
    await channelRow(relay, 'DataChannel unordered, 0 retransmits', { unordered: true, maxRetransmits: 0 }),
  ];
  relay.disconnect();
  for (const r of rows) {
    const s = [...r.latencies].sort((x, y) => x - y);
    const cells = [fmt(quantile(s, 0.5), 1), fmt(quantile(s, 0.99), 1), fmt(s.at(-1) ?? NaN, 1)];
    console.log(`| ${c.label} | ${r.variant} | ${cells.join(' | ')} | ${r.sent - r.latencies.length}/${r.sent} |`);
  }
}
nodeDataChannel.cleanup();
process.exit(0);
