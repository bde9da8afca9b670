/**
 * Media tracks on the libdatachannel stack: a sending track is libdatachannel's own chain (its H.264 or
 * generic RTP packetizer, RTCP sender reports, a NACK responder that resends the packets the receiver
 * asks for); a received track is read here, RTP into frames (media-jitter.ts), since node-datachannel
 * has no depacketizer, and its NACKs are written here. node-datachannel's types do not leave this file.
 */
import { randomInt } from 'node:crypto';
import type { PeerConnection, Track } from 'node-datachannel';
import { QiError } from '../../errors/index.js';
import { FrameAssembler } from './media-jitter.js';
import { isRtcp, nackPacket, parseRtp } from './media-rtp.js';
import {
  CODECS,
  MediaReceiver,
  receiveDefaults,
  type MediaCodec,
  type MediaReceiveOptions,
  type MediaSender,
  type MediaTrackSpec,
  type PeerMedia,
} from './media.js';

type Binding = typeof import('node-datachannel');

/** How often a received track checks for frames past their time and packets to ask for again. */
const TICK_MS = 10;
/** Packets a sender keeps for retransmission (about 30 frames of 40 KB). */
const NACK_KEPT = 1024;

/** A sending track; see {@link MediaSender}. */
class LibdatachannelSender implements MediaSender {
  readonly metrics = { frames: 0, bytes: 0 };
  private closed = false;
  private started: number | undefined;
  /** RTP timestamps start at a random value (RFC 3550). */
  private readonly base = randomInt(0, 2 ** 31);

  constructor(
    private readonly binding: Binding,
    readonly name: string,
    readonly kind: 'video' | 'audio',
    readonly codec: MediaCodec,
    private readonly track: Track,
    private readonly config: InstanceType<Binding['RtpPacketizationConfig']>,
  ) {
    track.onClosed(() => this.close());
  }

  get isOpen(): boolean {
    return !this.closed && this.track.isOpen();
  }

  send(frame: Uint8Array, timestampMs?: number): void {
    if (!this.isOpen)
      throw new QiError(
        'ERR_QI_CLOSED',
        `The media track ${this.name} is not open (link not connected yet, or closed)`,
      );
    const data = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    if (this.codec === 'H264' && !(data.readUIntBE(0, 3) === 1 || data.readUInt32BE(0) === 1))
      throw new QiError(
        'ERR_QI_VALUE',
        `An H264 frame is an access unit in Annex B form: it starts with 00 00 01 or 00 00 00 01`,
      );
    if (this.codec === 'opus' && data.length > this.track.maxMessageSize() - 12)
      throw new QiError(
        'ERR_QI_VALUE',
        `An Opus frame of ${data.length} bytes does not fit one RTP packet: send shorter packets`,
      );
    const now = performance.now();
    this.started ??= now;
    const ms = timestampMs ?? now - this.started;
    this.config.timestamp = (this.base + Math.round((ms * CODECS[this.codec].clockRate) / 1000)) >>> 0;
    this.track.sendMessageBinary(data);
    this.metrics.frames++;
    this.metrics.bytes += data.length;
  }

  close(): void {
    this.closed = true;
  }
}

/** The payload type the peer's SDP gives `codec` in the section of `mid`. */
function payloadTypeOf(sdp: string, mid: string, codec: MediaCodec): number | undefined {
  const section = sdp.split(/\r?\nm=/).find((s) => new RegExp(`\\na=mid:${mid}\\r?(\\n|$)`).test(`\n${s}`));
  const rtpmap = section?.match(new RegExp(`a=rtpmap:(\\d+) ${codec}/`, 'i'));
  return rtpmap ? Number(rtpmap[1]) : undefined;
}

/** The media of one node-datachannel PeerConnection; see {@link PeerMedia}. */
export class LibdatachannelMedia implements PeerMedia {
  private readonly open = new Set<{ close(): void }>();
  private receiving: { handler: (r: MediaReceiver) => void; options: Required<MediaReceiveOptions> } | undefined;
  private closed = false;

  constructor(
    private readonly binding: Binding,
    private readonly pc: PeerConnection,
  ) {
    pc.onTrack((track) => this.incoming(track));
  }

  addSender(spec: Required<MediaTrackSpec>): MediaSender {
    const { binding } = this;
    const { clockRate, payloadType } = CODECS[spec.codec];
    const ssrc = randomInt(1, 2 ** 32 - 1);
    const cname = `qi-${spec.name}`;
    let track: Track;
    if (spec.kind === 'video') {
      const video = new binding.Video(spec.name, 'SendOnly');
      video.addH264Codec(payloadType);
      video.addSSRC(ssrc, cname, 'qi', spec.name);
      track = this.pc.addTrack(video);
    } else {
      const audio = new binding.Audio(spec.name, 'SendOnly');
      audio.addOpusCodec(payloadType);
      audio.addSSRC(ssrc, cname, 'qi', spec.name);
      track = this.pc.addTrack(audio);
    }
    const config = new binding.RtpPacketizationConfig(ssrc, cname, payloadType, clockRate);
    const chain =
      spec.codec === 'H264'
        ? new binding.H264RtpPacketizer('StartSequence', config)
        : new binding.RtpPacketizer(config);
    chain.addToChain(new binding.RtcpSrReporter(config));
    chain.addToChain(new binding.RtcpNackResponder(NACK_KEPT));
    track.setMediaHandler(chain);
    const sender = new LibdatachannelSender(binding, spec.name, spec.kind, spec.codec, track, config);
    this.open.add(sender);
    return sender;
  }

  onReceiver(handler: (receiver: MediaReceiver) => void, options?: MediaReceiveOptions): void {
    this.receiving = { handler, options: receiveDefaults(options) };
  }

  /** A track of the peer's offer: read into a receiver, or drained when nobody asked for media. */
  private incoming(track: Track): void {
    const mid = track.mid();
    const kind = track.type() === 'audio' ? 'audio' : 'video';
    const codec: MediaCodec = kind === 'audio' ? 'opus' : 'H264';
    const payloadType = payloadTypeOf(this.pc.remoteDescription()?.sdp ?? '', mid, codec);
    if (this.closed || this.receiving === undefined || payloadType === undefined) {
      track.onMessage(() => {});
      return;
    }
    const { handler, options } = this.receiving;
    const receiver = new MediaReceiver(mid, kind, codec, options.maxQueuedFrames);
    const own = randomInt(1, 2 ** 32 - 1);
    let ssrc: number | undefined;
    const assembler = new FrameAssembler(
      codec,
      CODECS[codec].clockRate,
      options.maxDelayMs,
      options.maxFrameBytes,
      receiver.metrics,
      {
        frame: (data, timestamp) => receiver.deliver({ data, timestamp }),
        nack: (seqs) => {
          // Without a media handler on this track, libdatachannel sends RTCP whatever the direction.
          if (ssrc !== undefined && !receiver.isClosed) track.sendMessageBinary(nackPacket(own, ssrc, seqs));
        },
      },
    );
    track.onMessage((m) => {
      if (receiver.isClosed || isRtcp(m)) return;
      const p = parseRtp(m);
      if (p === undefined || p.payloadType !== payloadType || (ssrc !== undefined && p.ssrc !== ssrc)) {
        receiver.metrics.invalid++;
        return;
      }
      ssrc ??= p.ssrc;
      assembler.push(p, performance.now());
    });
    const timer = setInterval(() => assembler.tick(performance.now()), TICK_MS);
    timer.unref();
    const entry = {
      close: () => {
        clearInterval(timer);
        this.open.delete(entry);
        receiver.end();
      },
    };
    this.open.add(entry);
    // Not track.onClosed: a close callback left pending on a received track keeps Node running; the
    // peer connection ends its tracks with close().
    handler(receiver);
  }

  close(): void {
    this.closed = true;
    for (const t of [...this.open]) t.close();
  }
}
