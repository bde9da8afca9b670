/**
 * The receiving side of one RTP stream: packets back into frames, in timestamp order, with a bounded
 * wait for lost ones. A gap in sequence numbers is asked for again at once (RTCP NACK, and again while
 * it is still missing); a frame still incomplete `maxDelayMs` after its oldest packet arrived is skipped,
 * so newer complete frames never wait longer than that behind it (no head-of-line blocking beyond the
 * budget). Memory and work are bounded whatever the peer sends: packets held for frames in progress
 * are capped at twice `maxFrameBytes` and {@link MAX_HELD} (the frame of the oldest packet is skipped to
 * make room), retransmissions asked for at {@link MAX_MISSING}; each packet costs the work of its frame.
 */
import { depacketize, Unwrapper, type RtpPacket } from './media-rtp.js';
import type { MediaCodec, MediaReceiverMetrics } from './media.js';

/** Packets held for frames in progress, at most (besides the bytes' bound). */
const MAX_HELD = 4096;
/** Sequence numbers waiting for a retransmission, at most. */
const MAX_MISSING = 512;
/** A packet further than this from the stream's position is not of it (or a restart: see {@link RESYNC}). */
const WINDOW = 4096;
/** After this many packets in a row outside the window, the stream starts over from the next one. */
const RESYNC = 64;
/** How often a missing packet is asked for, and how long apart. */
const NACK_TRIES = 3;
const NACK_RETRY_MS = 40;

interface Held {
  ts: number;
  marker: boolean;
  payload: Buffer;
  at: number;
}

/** What the assembler gives out. */
export interface AssemblerOutput {
  /** A complete frame, with its timestamp in ms after the first frame given. */
  frame(data: Buffer, timestampMs: number): void;
  /** Asks the sender again for these 16-bit sequence numbers. */
  nack(sequences: number[]): void;
}

/** Reassembles one stream; see the module comment. */
export class FrameAssembler {
  private readonly seqs = new Unwrapper(16);
  private readonly stamps = new Unwrapper(32);
  /** Packets of frames in progress by extended sequence number, in the order they arrived. */
  private readonly held = new Map<number, Held>();
  /** The sequence numbers held for each timestamp. */
  private readonly frames = new Map<number, number[]>();
  private heldBytes = 0;
  private next: number | undefined;
  /** True when a frame is known to start at `next`. */
  private startKnown = false;
  /** The timestamp of the last frame given or skipped: older packets are late. */
  private lastTs = -Infinity;
  private firstTs: number | undefined;
  private highest: number | undefined;
  private readonly missing = new Map<number, { at: number; tries: number }>();
  private outside = 0;

  constructor(
    private readonly codec: MediaCodec,
    private readonly clockRate: number,
    private readonly maxDelayMs: number,
    private readonly maxFrameBytes: number,
    private readonly metrics: MediaReceiverMetrics,
    private readonly out: AssemblerOutput,
  ) {}

  /** Takes one packet of the stream (arrived at `now`, in ms). */
  push(p: RtpPacket, now: number): void {
    const seq = this.seqs.extend(p.sequence);
    const ts = this.stamps.extend(p.timestamp);
    if (this.next === undefined || this.highest === undefined) {
      this.next = this.highest = seq;
      this.startKnown = true;
    } else if (seq > this.highest + WINDOW || seq < this.next - WINDOW) {
      this.metrics.invalid++;
      if (++this.outside >= RESYNC) this.restart();
      return;
    }
    this.outside = 0;
    this.missing.delete(seq);
    if (seq < this.next) {
      // Late: the packet just before the stream's position tells where the frame at `next` starts.
      const first = this.held.get(this.next);
      if (seq === this.next - 1 && first !== undefined && ts !== first.ts) this.startKnown = true;
      return this.drain(now);
    }
    if (ts <= this.lastTs || this.held.has(seq)) return;
    if (seq > this.highest + 1) this.lost(seq, now);
    if (seq > this.highest) this.highest = seq;
    this.hold(seq, { ts, marker: p.marker, payload: p.payload, at: now });
    while (this.heldBytes > 2 * this.maxFrameBytes || this.held.size > MAX_HELD) this.skipOldest();
    this.drain(now);
  }

  /** Asks again for packets still missing, and skips frames past their time (call every few ms). */
  tick(now: number): void {
    const again: number[] = [];
    for (const [seq, m] of this.missing) {
      if (seq < (this.next ?? 0)) this.missing.delete(seq);
      else if (now - m.at >= NACK_RETRY_MS) {
        m.at = now;
        if (++m.tries > NACK_TRIES) this.missing.delete(seq);
        else again.push(seq);
      }
    }
    this.ask(again);
    this.drain(now);
  }

  /** Packets between the highest so far and `seq` were lost (or are late): ask for them. */
  private lost(seq: number, now: number): void {
    const from = Math.max(this.highest! + 1, seq - 64);
    const asked: number[] = [];
    for (let s = from; s < seq && this.missing.size < MAX_MISSING; s++) {
      this.missing.set(s, { at: now, tries: 1 });
      asked.push(s);
    }
    this.ask(asked);
  }

  private ask(seqs: number[]): void {
    if (seqs.length === 0) return;
    this.metrics.nacks += seqs.length;
    this.out.nack(seqs.map((s) => s & 0xffff));
  }

  /** Gives every frame that is complete, and skips those past their time. */
  private drain(now: number): void {
    for (;;) {
      if (this.next === undefined || this.held.size === 0) return;
      if (this.giveNext()) continue;
      const oldest = this.held.values().next().value!;
      if (now - oldest.at < this.maxDelayMs) return;
      this.skipOldest();
    }
  }

  /** Gives the frame at `next` when it is complete; true when it did. */
  private giveNext(): boolean {
    const start = this.next!;
    const first = this.held.get(start);
    if (first === undefined || !(this.startKnown || this.codec === 'opus')) return false;
    const payloads: Buffer[] = [];
    for (let s = start; ; s++) {
      const h = this.held.get(s);
      if (h === undefined || h.ts !== first.ts) return false;
      payloads.push(h.payload);
      if (!h.marker) continue;
      for (let r = start; r <= s; r++) this.release(r);
      // Packets of this timestamp held out of place (a hostile sender) go with it.
      for (const r of [...(this.frames.get(first.ts) ?? [])]) this.release(r);
      this.next = s + 1;
      this.startKnown = true;
      this.lastTs = first.ts;
      const data = depacketize(this.codec, payloads);
      if (data === undefined || data.length > this.maxFrameBytes) this.metrics.lost++;
      else {
        this.firstTs ??= first.ts;
        this.out.frame(data, ((first.ts - this.firstTs) * 1000) / this.clockRate);
      }
      return true;
    }
  }

  /** Skips the frame of the oldest packet held: it will never be complete in time, or room is needed. */
  private skipOldest(): void {
    const oldest = this.held.values().next().value;
    if (oldest === undefined) return;
    const seqs = [...(this.frames.get(oldest.ts) ?? [])];
    let last = -1;
    let ended = false;
    for (const seq of seqs) {
      const h = this.held.get(seq);
      if (h !== undefined && seq > last) {
        last = seq;
        ended = h.marker;
      }
      this.release(seq);
    }
    this.metrics.lost++;
    this.lastTs = Math.max(this.lastTs, oldest.ts);
    if (last >= (this.next ?? 0)) {
      this.next = last + 1;
      this.startKnown = ended;
    }
  }

  private hold(seq: number, h: Held): void {
    this.held.set(seq, h);
    this.heldBytes += h.payload.length;
    const seqs = this.frames.get(h.ts);
    if (seqs === undefined) this.frames.set(h.ts, [seq]);
    else seqs.push(seq);
  }

  private release(seq: number): void {
    const h = this.held.get(seq);
    if (h === undefined) return;
    this.heldBytes -= h.payload.length;
    this.held.delete(seq);
    const seqs = this.frames.get(h.ts);
    if (seqs !== undefined && seqs.length <= 1) this.frames.delete(h.ts);
    else seqs?.splice(seqs.indexOf(seq), 1);
  }

  /** Starts over from the next packet (the sender restarted its numbering, or sends garbage). */
  private restart(): void {
    this.held.clear();
    this.frames.clear();
    this.missing.clear();
    this.heldBytes = 0;
    this.next = this.highest = undefined;
    this.lastTs = -Infinity;
    this.firstTs = undefined;
    this.outside = 0;
    this.seqs.reset();
    this.stamps.reset();
  }
}
