/**
 * RTP as a receiver reads it (RFC 3550): a packet's header fields, a frame's payloads back into the
 * codec's frame (H.264 per RFC 6184: single NAL units, STAP-A, FU-A), and the RTCP generic NACK
 * (RFC 4585) that asks the sender again for lost packets. Pure functions over bytes: any input,
 * however hostile, gives `undefined` rather than an exception.
 */
import type { MediaCodec } from './media.js';

/** The fields of an RTP packet that reassembly uses. */
export interface RtpPacket {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

/** True for an RTCP packet (payload types 192 to 223 share RTP's port under rtcp-mux, RFC 5761). */
export function isRtcp(b: Buffer): boolean {
  return b.length >= 8 && b[0] >> 6 === 2 && b[1] >= 192 && b[1] <= 223;
}

/** Parses an RTP packet; `undefined` for anything else. */
export function parseRtp(b: Buffer): RtpPacket | undefined {
  if (b.length < 12 || b[0] >> 6 !== 2 || isRtcp(b)) return undefined;
  let offset = 12 + (b[0] & 0x0f) * 4;
  if (b[0] & 0x10) {
    if (b.length < offset + 4) return undefined;
    offset += 4 + b.readUInt16BE(offset + 2) * 4;
  }
  let end = b.length;
  if (b[0] & 0x20) end -= b[b.length - 1];
  if (end <= offset) return undefined;
  return {
    payloadType: b[1] & 0x7f,
    marker: (b[1] & 0x80) !== 0,
    sequence: b.readUInt16BE(2),
    timestamp: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    payload: b.subarray(offset, end),
  };
}

const START_CODE = Buffer.from([0, 0, 0, 1]);

/**
 * The NAL units of one H.264 frame's payloads, in order, each after a 4-byte start code; `undefined`
 * when they do not make a frame (a fragment out of place, a truncated aggregate).
 */
function h264Frame(payloads: Buffer[]): Buffer | undefined {
  const parts: Buffer[] = [];
  let inFragment = false;
  for (const p of payloads) {
    const type = p[0] & 0x1f;
    if (type >= 1 && type <= 23) {
      if (inFragment) return undefined;
      parts.push(START_CODE, p);
    } else if (type === 24) {
      // STAP-A: NAL units, each after its 16-bit size.
      if (inFragment) return undefined;
      for (let o = 1; o < p.length;) {
        if (o + 2 > p.length) return undefined;
        const n = p.readUInt16BE(o);
        if (n === 0 || o + 2 + n > p.length) return undefined;
        parts.push(START_CODE, p.subarray(o + 2, o + 2 + n));
        o += 2 + n;
      }
    } else if (type === 28 && p.length > 2) {
      // FU-A: a start fragment carries the NAL header's type, the indicator its F and NRI bits.
      const start = (p[1] & 0x80) !== 0;
      if (start === inFragment) return undefined;
      if (start) parts.push(START_CODE, Buffer.from([(p[0] & 0xe0) | (p[1] & 0x1f)]));
      parts.push(p.subarray(2));
      inFragment = (p[1] & 0x40) === 0;
    } else return undefined;
  }
  return inFragment || parts.length === 0 ? undefined : Buffer.concat(parts);
}

/** A frame of `codec` from its packets' payloads in sequence order; `undefined` when they make none. */
export function depacketize(codec: MediaCodec, payloads: Buffer[]): Buffer | undefined {
  if (codec === 'H264') return h264Frame(payloads);
  return payloads.length === 1 ? payloads[0] : undefined;
}

/**
 * An RTCP generic NACK from `sender` asking `media` for the packets `sequences` (16-bit numbers),
 * in as few FCI entries (a first number and a bitmask of the next 16) as they need.
 */
export function nackPacket(sender: number, media: number, sequences: number[]): Buffer {
  const fci: [number, number][] = [];
  for (const s of [...new Set(sequences)].sort((a, b) => a - b)) {
    const last = fci[fci.length - 1];
    const d = last === undefined ? 0 : (s - last[0]) & 0xffff;
    if (last !== undefined && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else fci.push([s & 0xffff, 0]);
  }
  const b = Buffer.alloc(12 + 4 * fci.length);
  b[0] = 0x81; // version 2, FMT 1 (generic NACK)
  b[1] = 205; // RTPFB
  b.writeUInt16BE(b.length / 4 - 1, 2);
  b.writeUInt32BE(sender >>> 0, 4);
  b.writeUInt32BE(media >>> 0, 8);
  fci.forEach(([pid, blp], i) => {
    b.writeUInt16BE(pid, 12 + 4 * i);
    b.writeUInt16BE(blp, 14 + 4 * i);
  });
  return b;
}

/** Extends 16-bit (`bits` 16) or 32-bit counters that wrap into numbers that keep growing. */
export class Unwrapper {
  private last: number | undefined;
  constructor(private readonly bits: 16 | 32) {}

  /** The extended value of `v`: the one nearest to the previous value. */
  extend(v: number): number {
    const mod = 2 ** this.bits;
    if (this.last === undefined) return (this.last = v + mod); // room to go back a little
    let d = (v - (this.last % mod) + mod) % mod;
    if (d >= mod / 2) d -= mod;
    const ext = this.last + d;
    if (d > 0) this.last = ext;
    return ext;
  }

  /** Starts over: the next value extends from itself. */
  reset(): void {
    this.last = undefined;
  }
}
