/**
 * Bounds-checked little-endian reads over a received buffer. Every read checks what is left first, so
 * a lying length can only produce a {@link QiDecodeError}, never a read past the end or a huge allocation.
 */
import { isUtf8 } from 'node:buffer';
import { QiDecodeError } from './errors.js';
import type { CodecOptions } from './options.js';

export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  /** Current nesting of dynamic values, bounded by MAX_NESTING_DEPTH. */
  depth = 0;

  constructor(
    bytes: Uint8Array,
    readonly options: CodecOptions = {},
    start = 0,
    end = bytes.length,
  ) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string, offset = this.pos): never {
    throw new QiDecodeError(reason, offset);
  }

  need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      this.fail(`${what} needs ${n} bytes but only ${this.end - this.pos} remain (truncated data)`);
    }
  }

  u8(): number {
    if (this.pos >= this.end) this.need(1, 'a byte');
    return this.buf[this.pos++];
  }

  i8(): number {
    if (this.pos >= this.end) this.need(1, 'an int8');
    return (this.buf[this.pos++] << 24) >> 24;
  }

  u16(): number {
    this.need(2, 'a 16-bit integer');
    const b = this.buf, p = this.pos;
    this.pos = p + 2;
    return b[p] | (b[p + 1] << 8);
  }

  i16(): number {
    return (this.u16() << 16) >> 16;
  }

  i32(): number {
    if (this.end - this.pos < 4) this.need(4, 'a 32-bit integer');
    const b = this.buf, p = this.pos;
    this.pos = p + 4;
    return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
  }

  u32(): number {
    return this.i32() >>> 0;
  }

  i64(): bigint {
    this.need(8, 'a 64-bit integer');
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  u64(): bigint {
    this.need(8, 'a 64-bit integer');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  f32(): number {
    this.need(4, 'a float');
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8, 'a double');
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A `uint32` length followed by that many bytes; returns a view on the buffer, never a copy. */
  sizedBytes(what: string): Buffer {
    const start = this.pos;
    const n = this.u32();
    if (this.end - this.pos < n) {
      this.fail(`${what} claims ${n} bytes but only ${this.end - this.pos} remain`, start);
    }
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /**
   * A qi string. Valid UTF-8 becomes a JS string; other bytes (libqi strings are raw bytes, e.g.
   * ServiceInfo.objectUid) come back as a `Uint8Array` view so that nothing is lost.
   */
  string(): string | Uint8Array {
    const start = this.pos;
    const n = this.u32();
    if (this.end - this.pos < n) this.fail(`a string claims ${n} bytes but only ${this.end - this.pos} remain`, start);
    const b = this.buf;
    const p = this.pos;
    const e = p + n;
    this.pos = e;
    if (n <= 24) {
      // Short ASCII strings (names, keys) are the common case: skip the native call.
      let s = '';
      for (let i = p; i < e; i++) {
        const c = b[i];
        if (c >= 0x80) return utf8(b, p, e);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8(b, p, e);
  }

  /** A qi string that must be text (signatures, names): invalid UTF-8 is a decode error. */
  text(what: string): string {
    const start = this.pos;
    const s = this.string();
    if (typeof s !== 'string') this.fail(`${what} is not valid UTF-8`, start);
    return s;
  }
}

function utf8(b: Buffer, p: number, e: number): string | Uint8Array {
  const s = b.toString('utf8', p, e);
  // A replacement character is either in the text or marks invalid bytes; only then pay for the check.
  if (s.indexOf('\ufffd') !== -1 && !isUtf8(b.subarray(p, e))) return b.subarray(p, e);
  return s;
}
