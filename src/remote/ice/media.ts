/**
 * Media on a direct link (docs/links.md#media-tracks): camera and microphone frames as RTP tracks of the
 * link's peer connection, negotiated in its offer and answer, beside the DataChannels that carry the qi
 * session. The caller asks for tracks when it opens the link and sends frames on them; the host gets
 * each track as an async iterator of the frames received. Frames are opaque bytes to us (we do not
 * encode video): an H.264 access unit, an Opus packet. A track tolerates loss: a frame whose packets do
 * not all arrive in time is skipped, never waited for beyond `maxDelayMs`, and nothing a peer sends
 * costs more than a bounded amount of memory.
 *
 * This file holds the stack-free part: the types, and the bounded queue a receiver reads from.
 */
import { QiError } from '../../errors/index.js';

/** The codecs a track can be negotiated with. */
export type MediaCodec = 'H264' | 'opus';

/** A track asked for when a link opens (`DirectLinkOptions.media`). */
export interface MediaTrackSpec {
  /** The track's name, its SDP `mid`: 1 to 32 letters, digits, `_` or `-` (e.g. `camera`). */
  name: string;
  /** `video` or `audio`. */
  kind: 'video' | 'audio';
  /**
   * `H264` (video, the default for it: each frame is an access unit in Annex B form, NAL units after
   * start codes) or `opus` (audio, the default for it: each frame is one Opus packet, at most about
   * 1,100 bytes).
   */
  codec?: MediaCodec;
}

/** A frame received on a track. */
export interface MediaFrame {
  /**
   * The frame's bytes. H.264: the access unit's NAL units, each after a 4-byte start code `00 00 00 01`
   * (the sender's 3-byte start codes come out as 4-byte ones). Opus: the packet.
   */
  data: Buffer;
  /** Milliseconds after the first frame of the track, from the frame's RTP timestamp (the sender's clock). */
  timestamp: number;
}

/** Counters of a received track. */
export interface MediaReceiverMetrics {
  /** Frames given to the reader, and their bytes. */
  frames: number;
  bytes: number;
  /** Frames dropped, oldest first, because the reader was more than `maxQueuedFrames` behind. */
  dropped: number;
  /** Frames skipped because a packet of theirs was still missing after `maxDelayMs`, or came too late. */
  lost: number;
  /** Packets that were not RTP of this track (garbage, another stream, a frame over `maxFrameBytes`). */
  invalid: number;
  /** Retransmissions asked for (RTCP NACK), by sequence number. */
  nacks: number;
}

/** Limits of a received track (`DirectLinkHostOptions.media`). */
export interface MediaReceiveOptions {
  /** Frames kept for a reader that is behind; beyond, the oldest is dropped (default 30). */
  maxQueuedFrames?: number;
  /**
   * Longest wait for a missing packet (asked for again with a NACK) before its frame is skipped, and
   * newer complete frames are given without it (default 150 ms).
   */
  maxDelayMs?: number;
  /** Largest frame accepted; the packets of a larger one are dropped (default 1 MiB). */
  maxFrameBytes?: number;
}

/** The sending end of a track, on the side that opened the link. */
export interface MediaSender {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  readonly codec: MediaCodec;
  /** True once the track can carry frames (the link is connected), false again once it closed. */
  readonly isOpen: boolean;
  /** Frames and bytes sent. */
  readonly metrics: { frames: number; bytes: number };
  /**
   * Sends one frame, packetized into RTP (H.264: split into NAL units and fragmented to fit the path's
   * MTU); kept a short while for retransmission on the receiver's NACK.
   * @param timestampMs the frame's capture time in milliseconds on any clock that only goes forward
   *   (default: milliseconds since this track's first frame, from `performance.now()`)
   * @throws {@link QiError} `ERR_QI_CLOSED` when the track is not open, `ERR_QI_VALUE` for a frame the
   *   codec cannot carry (an Opus packet over one RTP packet, an H.264 frame with no start code)
   */
  send(frame: Uint8Array, timestampMs?: number): void;
}

/** The default clock rate and RTP payload type of each codec. */
export const CODECS: Record<MediaCodec, { kind: 'video' | 'audio'; clockRate: number; payloadType: number }> = {
  H264: { kind: 'video', clockRate: 90_000, payloadType: 96 },
  opus: { kind: 'audio', clockRate: 48_000, payloadType: 111 },
};

/** The specs with their codec filled in, checked. */
export function checkMediaSpecs(specs: MediaTrackSpec[]): Required<MediaTrackSpec>[] {
  const names = new Set<string>();
  return specs.map((s) => {
    if (!/^[\w-]{1,32}$/.test(s.name))
      throw new QiError(
        'ERR_QI_CONFIG',
        `A media track name is 1 to 32 letters, digits, _ or -, not ${JSON.stringify(s.name)}`,
      );
    if (names.has(s.name) || s.name === '0')
      throw new QiError(
        'ERR_QI_CONFIG',
        `Two media tracks are named ${JSON.stringify(s.name)}: give each its own name`,
      );
    names.add(s.name);
    const codec = s.codec ?? (s.kind === 'audio' ? 'opus' : 'H264');
    if (CODECS[codec]?.kind !== s.kind)
      throw new QiError('ERR_QI_CONFIG', `A ${s.kind} track cannot use ${codec}: use H264 for video, opus for audio`);
    return { name: s.name, kind: s.kind, codec };
  });
}

/** The defaults of {@link MediaReceiveOptions}. */
export function receiveDefaults(o: MediaReceiveOptions = {}): Required<MediaReceiveOptions> {
  return {
    maxQueuedFrames: Math.max(1, o.maxQueuedFrames ?? 30),
    maxDelayMs: Math.max(0, o.maxDelayMs ?? 150),
    maxFrameBytes: Math.max(1, o.maxFrameBytes ?? 1024 * 1024),
  };
}

/**
 * The receiving end of a track, on the host: read frames with `for await (const frame of receiver)`;
 * the loop ends when the track or its link closes. Only one reader at a time.
 */
export class MediaReceiver implements AsyncIterable<MediaFrame> {
  readonly metrics: MediaReceiverMetrics = { frames: 0, bytes: 0, dropped: 0, lost: 0, invalid: 0, nacks: 0 };
  private readonly queue: MediaFrame[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  private readonly endListeners: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly kind: 'video' | 'audio',
    readonly codec: MediaCodec,
    private readonly maxQueued: number,
  ) {}

  /** Frames waiting for the reader (at most `maxQueuedFrames`). */
  get queued(): number {
    return this.queue.length;
  }

  /** True once the track closed; frames still queued can be read. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Queues a complete frame (from the stack's adapter), dropping the oldest when full. */
  deliver(frame: MediaFrame): void {
    if (this.ended) return;
    if (this.queue.length >= this.maxQueued) {
      this.queue.shift();
      this.metrics.dropped++;
    }
    this.queue.push(frame);
    this.metrics.frames++;
    this.metrics.bytes += frame.data.length;
    this.wake?.();
  }

  /** Ends the iteration once the queue is read (the track or its link closed). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake?.();
    for (const l of this.endListeners.splice(0)) l();
  }

  /** Called once when the track closes. */
  onClose(listener: () => void): void {
    if (this.ended) queueMicrotask(listener);
    else this.endListeners.push(listener);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<MediaFrame> {
    for (;;) {
      const frame = this.queue.shift();
      if (frame !== undefined) {
        yield frame;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

/** The media part of a peer connection, on stacks that have one (stack.ts `IcePeer.media`). */
export interface PeerMedia {
  /** Adds a sending track; call before the offer is made. */
  addSender(spec: Required<MediaTrackSpec>): MediaSender;
  /** Called with each track the peer's offer brings, as a receiver with these limits. */
  onReceiver(handler: (receiver: MediaReceiver) => void, options?: MediaReceiveOptions): void;
  /** Ends every track (the connection closed). */
  close(): void;
}

/**
 * Adds a sending track for each of `specs` to a new peer connection, before its offer.
 * @throws {@link QiError} `ERR_QI_CONFIG` for specs that cannot be used, or when the stack carries no media
 */
export function addSenders(
  media: PeerMedia | undefined,
  stack: string,
  specs: MediaTrackSpec[] = [],
): Map<string, MediaSender> {
  const checked = checkMediaSpecs(specs);
  if (checked.length > 0 && media === undefined)
    throw new QiError(
      'ERR_QI_CONFIG',
      `Media tracks need the libdatachannel stack, not ${stack}: open the link with stack: 'libdatachannel' (or QI_ICE_STACK=libdatachannel), or send frames on a stream`,
    );
  return new Map(checked.map((s) => [s.name, media!.addSender(s)]));
}
