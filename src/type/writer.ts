/**
 * A growable little-endian byte writer. Large byte blobs (raw values, big strings) are not copied: they
 * are kept as separate chunks so a transport can hand them to the socket as they are (writev).
 */
import type { CodecOptions } from './options.js';

/** Node's native writer behind `Buffer.write`, without its argument checks; typings omit it. */
type WriteBuffer = Buffer & { utf8Write(s: string, offset: number): number };

/** Blobs at least this large are referenced, not copied, by {@link Writer.bytes}. */
export const ZERO_COPY_THRESHOLD = 16 * 1024;

/** An output buffer for compiled codecs; large blobs are referenced, not copied (see {@link Writer.finishChunks}). */
export class Writer {
  buf: Buffer;
  pos: number;
  /** Start of the part of `buf` not yet moved to `chunks`. */
  private mark: number;
  private chunks: Buffer[] | null = null;
  private chunkBytes = 0;
  /** Nesting of the types opened by dynamic values being written (bounded like the decoder's). */
  depth = 0;

  /**
   * @param options codec options for object references
   * @param capacity initial buffer size in bytes
   * @param reserve bytes left free at the start (a message header, filled later with {@link Writer.patch})
   * @param into a buffer to write into from offset `reserve` instead of a new one (the output then starts
   *   there: `reserve` is not part of it); a larger one replaces it when it fills up
   */
  constructor(
    public options: CodecOptions = {},
    capacity = 256,
    reserve = 0,
    into?: Buffer,
  ) {
    this.buf = into ?? Buffer.allocUnsafe(Math.max(capacity, reserve + 16));
    this.pos = reserve;
    this.mark = into === undefined ? 0 : reserve;
  }

  /** Empties the writer for reuse, keeping its buffer (and leaving `reserve` bytes free at the start). */
  reset(options: CodecOptions, reserve = 0): void {
    this.options = options;
    this.pos = reserve;
    this.mark = 0;
    this.chunks = null;
    this.chunkBytes = 0;
    this.depth = 0;
  }

  /**
   * Empties the writer to write into `buf` from offset `start`, after `reserve` free bytes (a message written in
   * place in a transport's buffer). The output then starts at `start` ({@link headOffset}); if it outgrows `buf`,
   * it moves to a new buffer as it would from its own, and `buf` is left as it was from `start + reserve` on.
   */
  into(buf: Buffer, start: number, reserve: number, options: CodecOptions): void {
    this.options = options;
    this.buf = buf;
    this.mark = start;
    this.pos = start + reserve;
    this.chunks = null;
    this.chunkBytes = 0;
    this.depth = 0;
  }

  /** True when large blobs were kept as separate chunks (the output is not in `buf` alone). */
  get chunked(): boolean {
    return this.chunks !== null;
  }

  /** Total bytes written so far, chunks included (the reserved prefix counts). */
  get length(): number {
    return this.chunkBytes + this.pos - this.mark;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const used = this.pos - this.mark;
    const size = Math.max(Math.min(this.buf.length, used + 256) * 2, used + n);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, this.mark, this.pos);
    this.pos -= this.mark;
    this.mark = 0;
    this.buf = next;
  }

  u8(v: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    const b = this.buf,
      p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    this.pos = p + 2;
  }

  u32(v: number): void {
    if (this.pos + 4 > this.buf.length) this.ensure(4);
    const b = this.buf,
      p = this.pos;
    b[p] = v;
    b[p + 1] = v >>> 8;
    b[p + 2] = v >>> 16;
    b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }

  /** 64-bit integer from a number (must be a safe integer) or a bigint, already range-checked. */
  u64(v: number | bigint): void {
    this.ensure(8);
    if (typeof v === 'bigint') {
      this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    } else {
      const hi = Math.floor(v / 0x1_0000_0000);
      this.buf.writeUInt32LE(v - hi * 0x1_0000_0000, this.pos);
      this.buf.writeInt32LE(hi | 0, this.pos + 4);
    }
    this.pos += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeFloatLE(v, this.pos);
  }

  f64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  /** A qi string: `uint32` UTF-8 byte length, then the bytes. */
  string(s: string): void {
    const n = s.length;
    if (n <= 16) {
      // Short strings: a JS loop beats the native call while they are ASCII.
      this.ensure(4 + n * 3);
      const b = this.buf;
      let p = this.pos + 4;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[p++] = c;
      }
      if (i === n) {
        this.u32(n);
        this.pos = p;
        return;
      }
    } else if (n >= ZERO_COPY_THRESHOLD) {
      this.bytes(Buffer.from(s, 'utf8'));
      return;
    }
    this.ensure(4 + n * 3);
    const len = (this.buf as WriteBuffer).utf8Write(s, this.pos + 4);
    this.u32(len);
    this.pos += len;
  }

  /** A sized blob: `uint32` length, then the bytes (referenced, not copied, when large). */
  bytes(data: Uint8Array): void {
    const n = data.length;
    this.u32(n);
    if (n < ZERO_COPY_THRESHOLD) {
      this.ensure(n);
      this.buf.set(data, this.pos);
      this.pos += n;
      return;
    }
    this.chunks ??= [];
    if (this.pos > this.mark) {
      this.chunks.push(this.buf.subarray(this.mark, this.pos));
      this.chunkBytes += this.pos - this.mark;
    }
    const view = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, n);
    this.chunks.push(view);
    this.chunkBytes += n;
    this.mark = this.pos;
  }

  /** Writes `v` as uint32 at an absolute offset of the first chunk (for headers reserved up front). */
  patch32(offset: number, v: number): void {
    const b = this.chunks === null ? this.buf : this.chunks[0];
    b.writeUInt32LE(v >>> 0, offset);
  }

  /** The first buffer, where a reserved prefix lives (at {@link headOffset}). */
  get head(): Buffer {
    return this.chunks === null ? this.buf : this.chunks[0];
  }

  /** Where the output (and a reserved prefix) starts in {@link head}: 0 unless written {@link into} a buffer. */
  get headOffset(): number {
    return this.chunks === null ? this.mark : 0;
  }

  /** All bytes as a list of buffers, in order, without copying large blobs. */
  finishChunks(): Buffer[] {
    const tail = this.buf.subarray(this.mark, this.pos);
    if (this.chunks === null) return [tail];
    return tail.length > 0 ? [...this.chunks, tail] : this.chunks.slice();
  }

  /** All bytes in one buffer (copies only when large blobs were referenced). */
  finish(): Buffer {
    if (this.chunks === null) return this.buf.subarray(this.mark, this.pos);
    return Buffer.concat(this.finishChunks(), this.length);
  }
}
