/**
 * ROS 1 serialization of a message (little endian; strings and variable arrays prefixed by a uint32
 * count; fixed arrays and nested messages inline). Values are plain objects keyed by field name, with
 * bigints for 64-bit integers, Buffers for uint8/char arrays and `{secs, nsecs}` for time and duration.
 * Decoding reads hostile bytes: every count is checked against what remains.
 */
import { QiError } from '../../errors/index.js';
import type { Builtin, FieldType, MsgSpec } from './msgspec.js';

const SIZES: Partial<Record<Builtin, number>> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  char: 1,
  byte: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  float32: 4,
  int64: 8,
  uint64: 8,
  float64: 8,
};

const RANGES: Partial<Record<Builtin, [number, number]>> = {
  int8: [-128, 127],
  byte: [-128, 127],
  uint8: [0, 255],
  char: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

function valueError(where: string, expected: string, v: unknown): QiError {
  const got =
    typeof v === 'object'
      ? v === null
        ? 'null'
        : Array.isArray(v)
          ? 'an array'
          : 'an object'
      : `${typeof v} ${String(v).slice(0, 40)}`;
  return new QiError('ERR_QI_VALUE', `${where}: expected ${expected}, got ${got}`);
}

class Writer {
  private buf = Buffer.alloc(256);
  length = 0;
  private room(n: number): Buffer {
    if (this.length + n > this.buf.length) {
      const b = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(b, 0, 0, this.length);
      this.buf = b;
    }
    return this.buf;
  }
  u32(n: number): void {
    this.room(4).writeUInt32LE(n, this.length);
    this.length += 4;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length).set(b, this.length);
    this.length += b.length;
  }
  scalar(t: Builtin, v: unknown, where: string): void {
    const size = SIZES[t]!;
    const b = this.room(size);
    const at = this.length;
    if (t === 'bool') {
      if (typeof v !== 'boolean') throw valueError(where, 'a bool', v);
      b[at] = v ? 1 : 0;
    } else if (t === 'int64' || t === 'uint64') {
      const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
      if (n === undefined || (t === 'int64' ? BigInt.asIntN(64, n) : BigInt.asUintN(64, n)) !== n)
        throw valueError(where, `an ${t}`, v);
      if (t === 'int64') b.writeBigInt64LE(n, at);
      else b.writeBigUInt64LE(n, at);
    } else if (t === 'float32' || t === 'float64') {
      if (typeof v !== 'number') throw valueError(where, `a ${t}`, v);
      if (t === 'float32') b.writeFloatLE(v, at);
      else b.writeDoubleLE(v, at);
    } else {
      const [lo, hi] = RANGES[t]!;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
        throw valueError(where, `an integer ${lo}…${hi} (${t})`, v);
      if (lo < 0) b.writeIntLE(v, at, size);
      else b.writeUIntLE(v, at, size);
    }
    this.length += size;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function write(w: Writer, t: FieldType, v: unknown, where: string): void {
  if (t.kind === 'msg') return writeMessage(w, t.spec, v, where);
  if (t.kind === 'array') {
    const e = t.element;
    const bytes = e.kind === 'builtin' && (e.name === 'uint8' || e.name === 'char') && v instanceof Uint8Array;
    const list = bytes ? v : Array.isArray(v) ? (v as unknown[]) : undefined;
    if (list === undefined) throw valueError(where, 'a list', v);
    if (t.length !== undefined && list.length !== t.length) throw valueError(where, `${t.length} elements`, v);
    if (t.length === undefined) w.u32(list.length);
    if (bytes) return w.bytes(v);
    (list as unknown[]).forEach((x, i) => write(w, e, x, `${where}[${i}]`));
    return;
  }
  if (t.name === 'string') {
    if (typeof v !== 'string') throw valueError(where, 'a string', v);
    const b = Buffer.from(v, 'utf8');
    w.u32(b.length);
    return w.bytes(b);
  }
  if (t.name === 'time' || t.name === 'duration') {
    const o = (v ?? {}) as { secs?: unknown; nsecs?: unknown };
    w.scalar(t.name === 'time' ? 'uint32' : 'int32', o.secs, `${where}.secs`);
    return w.scalar(t.name === 'time' ? 'uint32' : 'int32', o.nsecs, `${where}.nsecs`);
  }
  w.scalar(t.name, v, where);
}

function writeMessage(w: Writer, spec: MsgSpec, v: unknown, where: string): void {
  if (typeof v !== 'object' || v === null) throw valueError(where, `a ${spec.type} message`, v);
  const o = v as Record<string, unknown>;
  for (const f of spec.fields) write(w, f.type, o[f.name], where === '' ? f.name : `${where}.${f.name}`);
}

/** A message's bytes. @throws QiError `ERR_QI_VALUE` naming the field that does not fit */
export function serialize(spec: MsgSpec, value: Record<string, unknown>): Buffer {
  const w = new Writer();
  writeMessage(w, spec, value, '');
  return w.done();
}

class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.b.length)
      throw new QiError('ERR_QI_DECODE', `the ROS message ends inside ${what} (${this.b.length} bytes)`);
  }
  u32(what: string): number {
    this.need(4, what);
    const n = this.b.readUInt32LE(this.pos);
    this.pos += 4;
    return n;
  }
  take(n: number, what: string): Buffer {
    this.need(n, what);
    const s = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  get left(): number {
    return this.b.length - this.pos;
  }
  scalar(t: Builtin, what: string): unknown {
    const size = SIZES[t]!;
    this.need(size, what);
    const b = this.b;
    const at = this.pos;
    this.pos += size;
    if (t === 'bool') return b[at] !== 0;
    if (t === 'int64') return b.readBigInt64LE(at);
    if (t === 'uint64') return b.readBigUInt64LE(at);
    if (t === 'float32') return b.readFloatLE(at);
    if (t === 'float64') return b.readDoubleLE(at);
    return RANGES[t]![0] < 0 ? b.readIntLE(at, size) : b.readUIntLE(at, size);
  }
}

function read(r: Reader, t: FieldType, where: string): unknown {
  if (t.kind === 'msg') return readMessage(r, t.spec, where);
  if (t.kind === 'array') {
    const n = t.length ?? r.u32(where);
    const e = t.element;
    if (e.kind === 'builtin' && (e.name === 'uint8' || e.name === 'char')) return Buffer.from(r.take(n, where));
    // Every element takes at least one byte, but for empty messages: no count beyond what remains.
    if (n > Math.max(r.left, 1024)) throw new QiError('ERR_QI_DECODE', `${where}: ${n} elements in ${r.left} bytes`);
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) out.push(read(r, e, `${where}[${i}]`));
    return out;
  }
  if (t.name === 'string') return r.take(r.u32(where), where).toString('utf8');
  if (t.name === 'time' || t.name === 'duration') {
    const s = t.name === 'time' ? 'uint32' : 'int32';
    return { secs: r.scalar(s, where), nsecs: r.scalar(s, where) };
  }
  return r.scalar(t.name, where);
}

function readMessage(r: Reader, spec: MsgSpec, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of spec.fields) out[f.name] = read(r, f.type, where === '' ? f.name : `${where}.${f.name}`);
  return out;
}

/** A message from its bytes. @throws QiError `ERR_QI_DECODE` for bytes that do not hold one */
export function deserialize(spec: MsgSpec, bytes: Buffer): Record<string, unknown> {
  const r = new Reader(bytes);
  const v = readMessage(r, spec, '');
  if (r.left !== 0) throw new QiError('ERR_QI_DECODE', `${r.left} bytes follow a ${spec.type} message`);
  return v;
}
