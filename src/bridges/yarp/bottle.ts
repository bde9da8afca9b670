/**
 * YARP Bottles, binary form (what the tcp carrier carries): all numbers little-endian; a Bottle is an
 * int32 code (256, or 256 + the tag shared by every element), an int32 count, then each element as its
 * int32 tag (omitted when the code names a shared tag) and its bytes. Tags: int8 32, int16 64, int32 1,
 * int64 17, vocab32 9, float32 128, float64 10, string 4 (int32 length, bytes), blob 12 (the same),
 * list 256 (+ shared tag; nested lists carry no separate code), dict 512 (refused). Decoding is bounded:
 * every count and length is checked against the bytes left, nesting against {@link MAX_BOTTLE_DEPTH}.
 */
import { QiError } from '../../errors/index.js';

/** One element of a Bottle. */
export type BottleValue =
  | { t: 'int8' | 'int16' | 'int32' | 'float32' | 'float64'; v: number }
  | { t: 'int64'; v: bigint }
  | { t: 'vocab'; v: string }
  | { t: 'string'; v: string }
  | { t: 'blob'; v: Buffer }
  | { t: 'list'; v: BottleValue[] };

/** A Bottle: its elements. */
export type Bottle = BottleValue[];

/** Deepest nesting of lists read or written. */
export const MAX_BOTTLE_DEPTH = 32;

const TAG = { int8: 32, int16: 64, int32: 1, int64: 17, vocab: 9, float32: 128, float64: 10, string: 4, blob: 12 };
const LIST = 256;
const DICT = 512;
const BY_TAG = new Map<number, BottleValue['t']>(Object.entries(TAG).map(([k, v]) => [v, k as BottleValue['t']]));

const bad = (m: string) => new QiError('ERR_QI_DECODE', `a YARP Bottle ${m}`);

/** A vocab's int32 (up to 4 characters, first in the low byte). */
export function vocabCode(s: string): number {
  let n = 0;
  for (let i = 0; i < Math.min(4, s.length); i++) n |= (s.charCodeAt(i) & 0xff) << (8 * i);
  return n | 0;
}

/** The characters of a vocab's int32. */
export function vocabText(n: number): string {
  let s = '';
  for (let i = 0; i < 4; i++) {
    const c = (n >>> (8 * i)) & 0xff;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

const tagOf = (x: BottleValue): number => (x.t === 'list' ? LIST + sharedTag(x.v) : TAG[x.t]);

/** The tag every element shares (lists never count as shared), else 0. */
function sharedTag(items: readonly BottleValue[]): number {
  if (items.length === 0 || items[0].t === 'list') return 0;
  const first = TAG[items[0].t];
  return items.every((x) => x.t !== 'list' && TAG[x.t] === first) ? first : 0;
}

/** The binary form of a Bottle. @throws QiError `ERR_QI_VALUE` when nested deeper than {@link MAX_BOTTLE_DEPTH} */
export function encodeBottle(b: Bottle): Buffer {
  const parts: Buffer[] = [];
  const i32 = (n: number) => {
    const x = Buffer.allocUnsafe(4);
    x.writeInt32LE(n);
    parts.push(x);
  };
  const list = (items: readonly BottleValue[], depth: number, withCode: boolean) => {
    if (depth > MAX_BOTTLE_DEPTH)
      throw new QiError('ERR_QI_VALUE', `a value nests deeper than ${MAX_BOTTLE_DEPTH} lists: YARP peers refuse it`);
    const shared = sharedTag(items);
    if (withCode) i32(LIST + shared);
    i32(items.length);
    for (const x of items) {
      if (shared === 0) i32(tagOf(x));
      one(x, depth);
    }
  };
  const one = (x: BottleValue, depth: number) => {
    let buf: Buffer;
    switch (x.t) {
      case 'int8':
        buf = Buffer.allocUnsafe(1);
        buf.writeInt8(x.v);
        break;
      case 'int16':
        buf = Buffer.allocUnsafe(2);
        buf.writeInt16LE(x.v);
        break;
      case 'int32':
        buf = Buffer.allocUnsafe(4);
        buf.writeInt32LE(x.v);
        break;
      case 'vocab':
        buf = Buffer.allocUnsafe(4);
        buf.writeInt32LE(vocabCode(x.v));
        break;
      case 'int64':
        buf = Buffer.allocUnsafe(8);
        buf.writeBigInt64LE(x.v);
        break;
      case 'float32':
        buf = Buffer.allocUnsafe(4);
        buf.writeFloatLE(x.v);
        break;
      case 'float64':
        buf = Buffer.allocUnsafe(8);
        buf.writeDoubleLE(x.v);
        break;
      case 'string':
      case 'blob': {
        const body = x.t === 'string' ? Buffer.from(x.v, 'utf8') : x.v;
        i32(body.length);
        buf = body;
        break;
      }
      case 'list':
        return list(x.v, depth + 1, false);
    }
    parts.push(buf);
  };
  list(b, 0, true);
  return Buffer.concat(parts);
}

/**
 * Reads a Bottle's binary form; bytes after it are an error.
 * @throws QiError `ERR_QI_DECODE` for a cut, lying or unknown content (the message says where)
 */
export function decodeBottle(bytes: Buffer): Bottle {
  let pos = 0;
  const need = (n: number, what: string) => {
    if (n > bytes.length - pos) throw bad(`${what} needs ${n} bytes, only ${bytes.length - pos} are left`);
  };
  const i32 = (what: string) => {
    need(4, what);
    const n = bytes.readInt32LE(pos);
    pos += 4;
    return n;
  };
  const list = (shared: number, depth: number): BottleValue[] => {
    if (depth > MAX_BOTTLE_DEPTH) throw bad(`nests deeper than ${MAX_BOTTLE_DEPTH} lists`);
    const count = i32('count');
    // Every element takes at least one byte: a count over what is left is a lie.
    if (count < 0 || count > bytes.length - pos) throw bad(`claims ${count} elements in ${bytes.length - pos} bytes`);
    const out: BottleValue[] = [];
    for (let i = 0; i < count; i++) out.push(one(shared !== 0 ? shared : i32('tag'), depth));
    return out;
  };
  const one = (tag: number, depth: number): BottleValue => {
    if (tag & DICT) throw bad('holds a dictionary (tag 512), which this bridge does not take: send a list of pairs');
    if (tag & LIST) return { t: 'list', v: list(tag & 0xff, depth + 1) };
    const t = BY_TAG.get(tag);
    if (t === undefined) throw bad(`holds an unknown tag ${tag}`);
    switch (t) {
      case 'int8':
        need(1, 'int8');
        return { t, v: bytes.readInt8(pos++) };
      case 'int16':
        need(2, 'int16');
        pos += 2;
        return { t, v: bytes.readInt16LE(pos - 2) };
      case 'int32':
        return { t, v: i32('int32') };
      case 'vocab':
        return { t, v: vocabText(i32('vocab')) };
      case 'int64':
        need(8, 'int64');
        pos += 8;
        return { t, v: bytes.readBigInt64LE(pos - 8) };
      case 'float32':
        need(4, 'float32');
        pos += 4;
        return { t, v: bytes.readFloatLE(pos - 4) };
      case 'float64':
        need(8, 'float64');
        pos += 8;
        return { t, v: bytes.readDoubleLE(pos - 8) };
      default: {
        const n = i32(`${t} length`);
        if (n < 0) throw bad(`claims a ${t} of ${n} bytes`);
        need(n, t);
        const body = bytes.subarray(pos, pos + n);
        pos += n;
        // Older YARP wrote strings with their terminating NUL.
        if (t === 'string') return { t, v: body.toString('utf8').replace(/\0$/, '') };
        return { t: 'blob', v: Buffer.from(body) };
      }
    }
  };
  const code = i32('code');
  if (code & DICT) throw bad('is a dictionary (code 512), which this bridge does not take: send a list of pairs');
  if ((code & LIST) === 0) throw bad(`starts with ${code}, not a list code (256)`);
  const out = list(code & 0xff, 0);
  if (pos !== bytes.length) throw bad(`is followed by ${bytes.length - pos} unexpected bytes`);
  return out;
}
