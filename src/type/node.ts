/**
 * The compiled form of a signature: a tree of small read/write functions built once per signature, so
 * no signature text is walked per value. Leaf (scalar) nodes live here.
 */
import { PathError, QiValueError, describeValue } from './errors.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

/** One compiled type: how to write and read it, and the fewest bytes it can take on the wire. */
export interface Node {
  write(w: Writer, value: unknown): void;
  read(r: Reader): unknown;
  /** Minimum encoded size; bounds element counts before anything is allocated. */
  readonly min: number;
}

/** Adds a path step to a codec error travelling up through a container. */
export function within(e: unknown, step: string): unknown {
  if (e instanceof PathError) e.within(step);
  return e;
}

export function expected(what: string, v: unknown): never {
  throw new QiValueError(`expected ${what}, got ${describeValue(v)}`);
}

/** Validates an integer for a 8/16/32-bit slot; accepts a bigint in range too. */
function smallInt(v: unknown, lo: number, hi: number, name: string): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else return expected(`an integer (${name})`, v);
  if (!Number.isInteger(n)) expected(`an integer (${name})`, v);
  if (n < lo || n > hi) throw new QiValueError(`${v} is out of range for ${name} (${lo}..${hi})`);
  return n;
}

const INT64_MIN = -(2n ** 63n),
  INT64_MAX = 2n ** 63n - 1n,
  UINT64_MAX = 2n ** 64n - 1n;

function bigInt(v: unknown, signed: boolean): number | bigint {
  const name = signed ? 'int64' : 'uint64';
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      if (Number.isInteger(v))
        throw new QiValueError(`${v} is not a safe integer; pass ${name} values beyond 2^53 as a bigint`);
      expected(`an integer (${name})`, v);
    }
    if (!signed && v < 0) throw new QiValueError(`${v} is out of range for uint64 (0..${UINT64_MAX})`);
    return v;
  }
  if (typeof v !== 'bigint') return expected(`a bigint or integer (${name})`, v);
  if (signed ? v < INT64_MIN || v > INT64_MAX : v < 0n || v > UINT64_MAX) {
    throw new QiValueError(
      `${v} is out of range for ${name} (${signed ? `${INT64_MIN}..${INT64_MAX}` : `0..${UINT64_MAX}`})`,
    );
  }
  return v;
}

function asBytes(v: unknown): Uint8Array | undefined {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return undefined;
}

export const voidNode: Node = {
  min: 0,
  write(_w, v) {
    if (v !== undefined && v !== null) expected('nothing (void)', v);
  },
  read: () => undefined,
};

export const SCALAR_NODES: Record<string, Node> = {
  v: voidNode,
  _: { min: 0, write: voidNode.write, read: () => undefined },
  b: {
    min: 1,
    write(w, v) {
      if (typeof v !== 'boolean') expected('a boolean', v);
      w.u8(v ? 1 : 0);
    },
    read: (r) => r.u8() !== 0, // libqi writes 0/1 and reads any non-zero byte as true
  },
  c: { min: 1, write: (w, v) => w.u8(smallInt(v, -128, 127, 'int8')), read: (r) => r.i8() },
  C: { min: 1, write: (w, v) => w.u8(smallInt(v, 0, 255, 'uint8')), read: (r) => r.u8() },
  w: { min: 2, write: (w, v) => w.u16(smallInt(v, -32768, 32767, 'int16')), read: (r) => r.i16() },
  W: { min: 2, write: (w, v) => w.u16(smallInt(v, 0, 65535, 'uint16')), read: (r) => r.u16() },
  i: {
    min: 4,
    write(w, v) {
      w.u32(typeof v === 'number' && (v | 0) === v ? v : smallInt(v, -0x8000_0000, 0x7fff_ffff, 'int32'));
    },
    read: (r) => r.i32(),
  },
  I: {
    min: 4,
    write(w, v) {
      w.u32(typeof v === 'number' && v >>> 0 === v ? v : smallInt(v, 0, 0xffff_ffff, 'uint32'));
    },
    read: (r) => r.u32(),
  },
  l: { min: 8, write: (w, v) => w.u64(bigInt(v, true)), read: (r) => r.i64() },
  L: { min: 8, write: (w, v) => w.u64(bigInt(v, false)), read: (r) => r.u64() },
  f: {
    min: 4,
    write(w, v) {
      if (typeof v !== 'number') expected('a number (float)', v);
      w.f32(v);
    },
    read: (r) => r.f32(),
  },
  d: {
    min: 8,
    write(w, v) {
      if (typeof v !== 'number') expected('a number (double)', v);
      w.f64(v);
    },
    read: (r) => r.f64(),
  },
  s: {
    min: 4,
    write(w, v) {
      if (typeof v === 'string') return w.string(v);
      const bytes = asBytes(v);
      if (bytes === undefined) expected('a string (or the raw bytes of one)', v);
      w.bytes(bytes);
    },
    read: (r) => r.string(),
  },
  r: {
    min: 4,
    write(w, v) {
      const bytes = asBytes(v);
      if (bytes === undefined) expected('a Uint8Array (raw)', v);
      w.bytes(bytes);
    },
    read: (r) => r.sizedBytes('a raw buffer'),
  },
  X: {
    min: 0,
    write() {
      throw new QiValueError(
        "type X (a type unknown to its owner) cannot be serialized; the member can't be used remotely",
      );
    },
    read: (r) => r.fail('type X (a type unknown to its owner) cannot be deserialized'),
  },
};
