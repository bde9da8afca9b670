/**
 * Bounds-checked little-endian reads over a received buffer. Every read checks what is left first, so
 * a lying length can only produce a {@link QiDecodeError}, never a read past the end or a huge allocation.
 */
import { isUtf8 } from 'node:buffer';
import { QiDecodeError } from './errors.js';
import type { CodecOptions } from './options.js';

/** Elements of zero-size types (`[()]`, `[v]`) one decode may produce, however they are nested. */
export const MAX_EMPTY_ELEMENTS = 1 << 16;

/** A cursor over received bytes, used by compiled codecs; every read is bounds-checked. */
export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  /** Nesting of the types opened by dynamic values so far, bounded by MAX_NESTING_DEPTH. */
  depth = 0;
  /** Elements of zero-size types still allowed in this decode (they cannot be bounded by bytes). */
  emptyBudget: number;
  /** Where the value starts in `buf`: error offsets are counted from here. */
  private readonly base: number;

  constructor(
    bytes: Uint8Array,
    readonly options: CodecOptions = {},
    start = 0,
    end = bytes.length,
  ) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
    this.base = start;
    this.emptyBudget = MAX_EMPTY_ELEMENTS;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(reason: string, offset = this.pos): never {
    throw new QiDecodeError(reason, offset - this.base);
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
    const b = this.buf,
      p = this.pos;
    this.pos = p + 2;
    return b[p] | (b[p + 1] << 8);
  }

  i16(): number {
    return (this.u16() << 16) >> 16;
  }

  i32(): number {
    if (this.end - this.pos < 4) this.need(4, 'a 32-bit integer');
    const b = this.buf,
      p = this.pos;
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

  /**
   * Reads a `uint32` length, checks that many bytes remain and skips them; returns where they start
   * (they end at the new `pos`).
   */
  private span(what: string): number {
    const start = this.pos;
    const n = this.u32();
    if (this.end - this.pos < n) this.fail(`${what} claims ${n} bytes but only ${this.end - this.pos} remain`, start);
    const p = this.pos;
    this.pos = p + n;
    return p;
  }

  /** A `uint32` length followed by that many bytes; returns a view on the buffer, never a copy. */
  sizedBytes(what: string): Buffer {
    const p = this.span(what);
    return this.buf.subarray(p, this.pos);
  }

  /**
   * A qi string. Valid UTF-8 becomes a JS string; other bytes (libqi strings are raw bytes, e.g.
   * ServiceInfo.objectUid) come back as a `Uint8Array` view so that nothing is lost.
   */
  string(): string | Uint8Array {
    const p = this.span('a string');
    return text(this.buf, p, this.pos);
  }

  /**
   * A string that is likely to repeat (map keys, dynamic signatures): short ones are interned, so a
   * repeated key costs a byte comparison instead of a new string whose hash must be computed again.
   */
  key(): string | Uint8Array {
    const p = this.span('a string');
    const n = this.pos - p;
    if (n > KEY_MAX || n === 0) return text(this.buf, p, p + n);
    const b = this.buf;
    // Hash every byte, four at a time: keys often share long prefixes and suffixes (ALMemory paths).
    // The words are kept, so the comparison with the cached key is one load per four bytes.
    const words = keyWords;
    const nw = (n + 3) >>> 2;
    let h = n;
    let i = p;
    let j = 0;
    for (const e4 = p + (n & ~3); i < e4; i += 4, j++) {
      const x = b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24);
      words[j] = x;
      h = Math.imul(h ^ x, 0x9e3779b1);
    }
    if (j < nw) {
      let x = 0;
      for (let k = 0; i < p + n; i++, k += 8) x |= b[i] << k;
      words[j] = x;
      h = Math.imul(h ^ x, 0x85ebca6b);
    }
    h ^= h >>> 15;
    const slot = (h >>> 20) & (KEY_SLOTS - 1);
    const base = slot * KEY_WORDS;
    if (keyLengths[slot] === n) {
      let k = 0;
      while (k < nw && keyCache[base + k] === words[k]) k++;
      if (k === nw) return keyStrings[slot];
    }
    const s = text(b, p, p + n);
    if (typeof s === 'string') {
      keyCache.set(words.subarray(0, nw), base);
      keyLengths[slot] = n;
      keyStrings[slot] = s;
    }
    return s;
  }

  /** A qi string that must be text (signatures, names): invalid UTF-8 is a decode error. */
  text(what: string): string {
    const start = this.pos;
    const s = this.string();
    if (typeof s !== 'string') this.fail(`${what} is not valid UTF-8`, start);
    return s;
  }
}

const KEY_MAX = 64;
const KEY_SLOTS = 4096;
const KEY_WORDS = KEY_MAX / 4;
/** The cached keys: their bytes as little-endian words (zero-padded), their byte lengths (0: empty slot), their text. */
const keyCache = new Int32Array(KEY_SLOTS * KEY_WORDS);
const keyLengths = new Uint8Array(KEY_SLOTS);
const keyStrings: string[] = new Array(KEY_SLOTS);
/** The words of the key being read. */
const keyWords = new Int32Array(KEY_WORDS);
const fromCharCode = String.fromCharCode;
/** Node's Buffer has these native slicers (what `toString` calls after argument checks); typings omit them. */
type SliceBuffer = Buffer & {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
};

/** Decodes bytes p..e: ASCII takes a fast path; other text is UTF-8; invalid UTF-8 stays bytes. */
function text(b: Buffer, p: number, e: number): string | Uint8Array {
  const n = e - p;
  let i = p;
  while (i < e && b[i] < 0x80) i++;
  if (i < e) return utf8(b, p, e);
  // Pure ASCII: tiny strings without a native call, longer ones through latin1 (exact for ASCII).
  switch (n) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[p]);
    case 2:
      return fromCharCode(b[p], b[p + 1]);
    case 3:
      return fromCharCode(b[p], b[p + 1], b[p + 2]);
    case 4:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3]);
    case 5:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]);
    case 6:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5]);
    case 7:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6]);
    case 8:
      return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    default:
      return (b as SliceBuffer).latin1Slice(p, e);
  }
}

function utf8(b: Buffer, p: number, e: number): string | Uint8Array {
  const s = (b as SliceBuffer).utf8Slice(p, e);
  // A replacement character is either in the text or marks invalid bytes; only then pay for the check.
  if (s.indexOf('\ufffd') !== -1 && !isUtf8(b.subarray(p, e))) return b.subarray(p, e);
  return s;
}
