/**
 * fast-check arbitraries for qi signatures and values, a signature-directed normalizer to compare decoded
 * values with the values that were encoded, and the fuzz targets shared by test/*\/fuzz.test.ts and
 * scripts/fuzz.ts (one definition, so the short test runs and the long script exercise the same code).
 *
 * Importing this module has no side effects (node --test runs every file under test/).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Rng } from './rng.js';
import {
  Dynamic,
  ObjectReference,
  QiDecodeError,
  QiError,
  QiProtocolError,
  QiSignatureError,
  decode,
  encode,
  inferSignature,
  parseSignature,
  printSignature,
  type MetaObject,
  type Signature,
} from '../../src/index.js';
import {
  FrameReader,
  HEADER_SIZE,
  MAX_EMPTY_ELEMENTS,
  METAOBJECT_SIGNATURE,
  Message,
  emptyMetaObject,
} from '../../src/wire.js';

// ---------------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------------

type Kind = Signature['kind'];

/** Scalar kinds and their signature characters. */
export const SCALAR_CHAR: Record<string, string> = {
  void: 'v',
  bool: 'b',
  int8: 'c',
  uint8: 'C',
  int16: 'w',
  uint16: 'W',
  int32: 'i',
  uint32: 'I',
  int64: 'l',
  uint64: 'L',
  float: 'f',
  double: 'd',
  string: 's',
  raw: 'r',
  dynamic: 'm',
  object: 'o',
  unknown: 'X',
  none: '_',
};

/** Kinds that may be map keys in generated signatures (libqi orders these). */
export const KEY_KINDS = [
  'bool',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float',
  'double',
  'string',
] as const;

const SERIALIZABLE_LEAVES: [number, Kind][] = [
  [1, 'void'],
  [3, 'bool'],
  [2, 'int8'],
  [2, 'uint8'],
  [2, 'int16'],
  [2, 'uint16'],
  [4, 'int32'],
  [3, 'uint32'],
  [3, 'int64'],
  [3, 'uint64'],
  [3, 'float'],
  [3, 'double'],
  [5, 'string'],
  [3, 'raw'],
  [3, 'dynamic'],
  [1, 'object'],
  [1, 'none'],
];

/** Identifiers usable as struct field names; includes names that collide with Object.prototype members. */
export const identifierArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,7}$/), weight: 12 },
  {
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'length', 'then'),
    weight: 1,
  },
);

/** Struct names, including namespaced and template-like ones (libqi and qiloop emit both). */
export const structNameArb: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Z][A-Za-z0-9_]{0,7}$/), weight: 6 },
  { arbitrary: fc.stringMatching(/^[a-z]{1,4}::[A-Z][A-Za-z]{0,5}$/), weight: 1 },
  { arbitrary: fc.constantFrom('List<double>', 'Pair<int,float>', 'Vec<Vec<int>>'), weight: 1 },
);

export interface SignatureOptions {
  /** Deepest container nesting (default 4). */
  maxDepth?: number;
  /** Also produce kinds that parse but never serialize (`X`, `~T`) and annotations on non-tuples. Default false. */
  parseOnly?: boolean;
  /** Produce `o` (object references, big on the wire). Default true. */
  objects?: boolean;
}

function tupleArb(members: fc.Arbitrary<Signature[]>): fc.Arbitrary<Signature> {
  return members.chain((ms) => {
    const plain = fc.constant<Signature>({ kind: 'tuple', members: ms });
    const named = structNameArb.map<Signature>((name) => ({ kind: 'tuple', members: ms, annotation: name, name }));
    if (ms.length === 0) return fc.oneof({ arbitrary: plain, weight: 3 }, { arbitrary: named, weight: 1 });
    const struct = fc
      .tuple(structNameArb, fc.uniqueArray(identifierArb, { minLength: ms.length, maxLength: ms.length }))
      .map<Signature>(([name, fields]) => ({
        kind: 'tuple',
        members: ms,
        annotation: [name, ...fields].join(','),
        name,
        fields,
      }));
    return fc.oneof({ arbitrary: plain, weight: 3 }, { arbitrary: named, weight: 1 }, { arbitrary: struct, weight: 3 });
  });
}

/** Random signature ASTs of bounded depth; with default options every one of them is serializable. */
export function signatureArb(options: SignatureOptions = {}): fc.Arbitrary<Signature> {
  const maxDepth = options.maxDepth ?? 4;
  let leaves = SERIALIZABLE_LEAVES.filter(([, k]) => options.objects !== false || k !== 'object');
  if (options.parseOnly) leaves = [...leaves, [1, 'unknown']];
  const leaf = fc.oneof(...leaves.map(([weight, kind]) => ({ weight, arbitrary: fc.constant({ kind } as Signature) })));
  const keyArb = fc.constantFrom(...KEY_KINDS).map((kind) => ({ kind }));
  const levels: fc.Arbitrary<Signature>[] = [leaf];
  for (let d = 1; d <= maxDepth; d++) {
    const sub = levels[d - 1];
    const choices: fc.WeightedArbitrary<Signature>[] = [
      { weight: 6, arbitrary: leaf },
      { weight: 3, arbitrary: sub.map((element) => ({ kind: 'list', element })) },
      { weight: 1, arbitrary: sub.map((element) => ({ kind: 'varargs', element })) },
      { weight: 2, arbitrary: sub.map((element) => ({ kind: 'optional', element })) },
      { weight: 2, arbitrary: fc.tuple(keyArb, sub).map(([key, value]) => ({ kind: 'map', key, value })) },
      { weight: 4, arbitrary: tupleArb(fc.array(sub, { maxLength: 4 })) },
    ];
    if (options.parseOnly) {
      choices.push({ weight: 1, arbitrary: sub.map((element) => ({ kind: 'kwargs', element })) });
      // Annotations on anything but a prefix (the parser attaches `+i<x>` to the `i`).
      choices.push({
        weight: 1,
        arbitrary: fc
          .tuple(
            sub.filter(
              (s) => s.kind !== 'optional' && s.kind !== 'varargs' && s.kind !== 'kwargs' && s.annotation === undefined,
            ),
            structNameArb,
          )
          .map(
            ([s, annotation]) =>
              (s.kind === 'tuple'
                ? { kind: 'tuple', members: s.members, annotation, name: annotation }
                : { ...s, annotation }) as Signature,
          ),
      });
    }
    levels.push(fc.oneof(...choices));
  }
  return levels[maxDepth];
}

// ---------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------

const INT64_MIN = -(2n ** 63n),
  INT64_MAX = 2n ** 63n - 1n,
  UINT64_MAX = 2n ** 64n - 1n;

const SMALL_INTS: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint32: [0, 0xffff_ffff],
};

/** A MetaObject with one method, one signal and one property. */
export function sampleMetaObject(): MetaObject {
  return {
    methods: new Map([
      [
        100,
        {
          uid: 100,
          returnSignature: 's',
          name: 'say',
          parametersSignature: '(s)',
          description: 'speaks',
          parameters: [{ name: 'text', description: 'what to say' }],
          returnDescription: 'é',
        },
      ],
    ]),
    signals: new Map([[101, { uid: 101, name: 'said', signature: '(s)' }]]),
    properties: new Map([[102, { uid: 102, name: 'volume', signature: 'f' }]]),
    description: 'a sample object',
  };
}

/** Byte views that do not start at offset 0 of their buffer, to catch byteOffset mistakes. */
const offsetView = (a: Uint8Array): Uint8Array => {
  const big = new Uint8Array(a.length + 7);
  big.set(a, 3);
  return big.subarray(3, 3 + a.length);
};

/** Plain JS values that a dynamic (`m`) accepts with an inferred signature. */
export const plainDynamicArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.double(),
  fc.bigInt(INT64_MIN, UINT64_MAX),
  fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 3 }),
  fc.uint8Array({ maxLength: 4 }),
);

/** True when `+T`'s element can itself be null/undefined, so that `some` and `none` would be confused. */
function nullableElement(sig: Signature): boolean {
  return sig.kind === 'void' || sig.kind === 'none' || sig.kind === 'optional';
}

/** A key that identifies a map key by its wire value (1 and 1n, -0 and 0 are the same key). */
function keyId(sig: Signature, k: unknown): string {
  if (sig.kind === 'int64' || sig.kind === 'uint64') return String(BigInt(k as number | bigint));
  if (typeof k === 'bigint') return String(Number(k));
  return typeof k === 'string' ? `s${k}` : String(k);
}

export interface ValueOptions {
  /** How deep dynamic values may nest signatures of their own. Default 2. */
  dynamicDepth?: number;
  /** Occasionally produce strings and raw values over 16 KiB (the writer's zero-copy path). Default true. */
  large?: boolean;
}

let dynamicSigArb: fc.Arbitrary<Signature> | undefined;

/** JS values that fit `sig` (in every form the encoder accepts: bigint or number, typed views…). */
export function valueFor(sig: Signature | string, options: ValueOptions = {}): fc.Arbitrary<unknown> {
  const s = typeof sig === 'string' ? parseSignature(sig) : sig;
  const dyn = options.dynamicDepth ?? 2;
  const large = options.large ?? true;
  const sub = (t: Signature) => valueFor(t, options);
  switch (s.kind) {
    case 'void':
    case 'none':
      return fc.constant(undefined);
    case 'bool':
      return fc.boolean();
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32': {
      const [min, max] = SMALL_INTS[s.kind];
      return fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min, max }) },
        { weight: 1, arbitrary: fc.constantFrom(min, max) },
        { weight: 1, arbitrary: fc.bigInt(BigInt(min), BigInt(max)) },
      );
    }
    case 'int64':
      return fc.oneof(
        fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        fc.bigInt(INT64_MIN, INT64_MAX),
        fc.constantFrom(INT64_MIN, INT64_MAX, -1n),
      );
    case 'uint64':
      return fc.oneof(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.bigInt(0n, UINT64_MAX),
        fc.constantFrom(UINT64_MAX, 2n ** 63n),
      );
    case 'float':
      return fc.float().map(Math.fround);
    case 'double':
      return fc.double();
    case 'string': {
      const choices: fc.WeightedArbitrary<unknown>[] = [
        { weight: 10, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
        { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }) },
        { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 20, maxLength: 80 }) },
        { weight: 1, arbitrary: fc.constantFrom('\ufffd', '\u{10000}\uffff', '\0') },
      ];
      if (large)
        choices.push({ weight: 1, arbitrary: fc.integer({ min: 16_384, max: 16_600 }).map((n) => 'é'.repeat(n)) });
      return fc.oneof(...choices);
    }
    case 'raw': {
      const choices: fc.WeightedArbitrary<unknown>[] = [
        { weight: 8, arbitrary: fc.uint8Array({ maxLength: 24 }) },
        { weight: 2, arbitrary: fc.uint8Array({ maxLength: 24 }).map(offsetView) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)) },
      ];
      if (large)
        choices.push({
          weight: 1,
          arbitrary: fc.integer({ min: 16_384, max: 17_000 }).map((n) => offsetView(new Uint8Array(n).fill(n & 0xff))),
        });
      return fc.oneof(...choices);
    }
    case 'dynamic': {
      const choices: fc.WeightedArbitrary<unknown>[] = [
        { weight: 1, arbitrary: fc.constantFrom(Dynamic.EMPTY, Dynamic.VOID) },
        { weight: 3, arbitrary: plainDynamicArb },
      ];
      if (dyn > 0) {
        const inner = (dynamicSigArb ??= signatureArb({ maxDepth: 2, objects: false }));
        choices.push({
          weight: 5,
          arbitrary: inner.chain((t) =>
            valueFor(t, { ...options, dynamicDepth: dyn - 1, large: false }).map(
              (v) => new Dynamic(printSignature(t), v),
            ),
          ),
        });
      }
      return fc.oneof(...choices);
    }
    case 'object':
      return fc
        .tuple(
          fc.constantFrom(emptyMetaObject(), sampleMetaObject()),
          fc.nat({ max: 0xffff_ffff }),
          fc.nat({ max: 0xffff_ffff }),
          fc.option(fc.uint8Array({ minLength: 20, maxLength: 20 }), { nil: undefined }),
        )
        .map(([meta, service, object, uid]) => new ObjectReference(meta, service, object, uid));
    case 'list':
    case 'varargs':
      return fc.array(sub(s.element), { maxLength: 4 });
    case 'map': {
      const keySig = s.key;
      const keys = sub(keySig).filter((k) => !(typeof k === 'number' && Number.isNaN(k))); // NaN keys have no order
      return fc
        .uniqueArray(fc.tuple(keys, sub(s.value)), { maxLength: 4, selector: ([k]) => keyId(keySig, k) })
        .map((entries) => new Map(entries));
    }
    case 'tuple': {
      if (s.members.length === 0) return fc.constant([]);
      const members = fc.tuple(...s.members.map(sub));
      const fields = s.fields;
      if (fields === undefined) return members;
      return members.map((vals) => struct(fields, vals));
    }
    case 'optional':
      if (nullableElement(s.element)) return fc.constant(null);
      return fc.option(sub(s.element), { nil: null, freq: 3 });
    default:
      throw new Error(`valueFor: no values for ${printSignature(s)}`);
  }
}

/** An object with the given fields as own enumerable properties (`__proto__` included). */
function struct(fields: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  fields.forEach((f, i) =>
    Object.defineProperty(o, f, { value: values[i], enumerable: true, writable: true, configurable: true }),
  );
  return o;
}

/** A serializable signature together with a value that fits it. */
export interface SigValue {
  sig: Signature;
  text: string;
  value: unknown;
}

export function sigValueArb(options: SignatureOptions & ValueOptions = {}): fc.Arbitrary<SigValue> {
  return signatureArb(options).chain((sig) =>
    valueFor(sig, options).map((value) => ({ sig, text: printSignature(sig), value })),
  );
}

// ---------------------------------------------------------------------------------------------------
// Normalization and equality
// ---------------------------------------------------------------------------------------------------

const hexOf = (v: Uint8Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
const META = parseSignature(METAOBJECT_SIGNATURE);

function sortKey(v: unknown): string {
  return JSON.stringify(v, (_k, x) =>
    typeof x === 'bigint'
      ? `${x}n`
      : typeof x === 'number' && !Number.isFinite(x)
        ? String(x)
        : x === undefined
          ? null
          : x,
  );
}

/**
 * Brings a value of `sig` to a canonical form so that an encoded value and its decoding compare equal with
 * `assert.deepStrictEqual`: small integers become numbers and 64-bit ones bigints; maps become entry lists
 * sorted by key; dynamics become `{ signature, value }` (plain values under their inferred signature);
 * byte arrays become hex; optional none becomes null; structs plain objects.
 */
export function normalize(sig: Signature | string, v: unknown): unknown {
  const s = typeof sig === 'string' ? parseSignature(sig) : sig;
  switch (s.kind) {
    case 'void':
    case 'none':
      return undefined;
    case 'bool':
    case 'float':
    case 'double':
      return v;
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
      return typeof v === 'bigint' ? Number(v) : (v as number) + 0; // integers have no -0
    case 'int64':
    case 'uint64':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'string':
      return typeof v === 'string' ? v : { invalidUtf8: hexOf(v as Uint8Array) };
    case 'raw':
      return { raw: v instanceof ArrayBuffer ? Buffer.from(v).toString('hex') : hexOf(v as Uint8Array) };
    case 'dynamic': {
      const d = v instanceof Dynamic ? v : new Dynamic(inferSignature(v), v);
      return { signature: d.signature, value: d.signature === '' ? undefined : normalize(d.signature, d.value) };
    }
    case 'object': {
      const r = v as ObjectReference;
      return {
        metaObject: normalize(META, r.metaObject),
        serviceId: r.serviceId,
        objectId: r.objectId,
        uid: hexOf(r.uid ?? new Uint8Array(20)),
      };
    }
    case 'list':
    case 'varargs':
      return Array.from(v as ArrayLike<unknown>, (x) => normalize(s.element, x));
    case 'map': {
      const entries = v instanceof Map ? [...v] : Object.entries(v as object);
      return entries
        .map(([k, x]) => [normalize(s.key, k), normalize(s.value, x)])
        .sort((a, b) => (sortKey(a[0]) < sortKey(b[0]) ? -1 : sortKey(a[0]) > sortKey(b[0]) ? 1 : 0));
    }
    case 'tuple': {
      if (s.fields === undefined) return s.members.map((m, i) => normalize(m, (v as unknown[])[i]));
      const obj = v as Record<string, unknown>;
      const positional = Array.isArray(v);
      return struct(
        s.fields,
        s.members.map((m, i) => normalize(m, positional ? obj[i] : obj[s.fields![i]])),
      );
    }
    case 'optional':
      return v === null || v === undefined ? null : normalize(s.element, v);
    default:
      throw new Error(`normalize: ${printSignature(s)} has no values`);
  }
}

/** True when `a` and `b` are the same qi value of `sig` (see {@link normalize}). */
export function qiEqual(sig: Signature | string, a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(normalize(sig, a), normalize(sig, b));
}

/** Renders a value for failure messages (bigints, maps, bytes and dynamics made visible). */
export function show(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (typeof x === 'bigint') return `${x}n`;
    if (x instanceof Map) return { Map: [...x] };
    if (x instanceof Uint8Array) return { bytes: hexOf(x) };
    if (x instanceof Dynamic) return { Dynamic: x.signature, value: x.value };
    if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
    if (typeof x === 'symbol') return String(x);
    return x === undefined ? '<undefined>' : x;
  });
}

// ---------------------------------------------------------------------------------------------------
// Fuzzing: a seeded PRNG, byte mutators, and the fuzz targets
// ---------------------------------------------------------------------------------------------------

/** The fuzzers' PRNG (test/helpers/rng.ts), here beside the targets that draw from it. */
export { Rng };

/** 32-bit values that make lengths and counts interesting. */
export const INTERESTING_U32 = [
  0,
  1,
  2,
  3,
  4,
  7,
  8,
  16,
  20,
  24,
  28,
  0x7f,
  0x80,
  0xff,
  0x100,
  0xffff,
  0x10000,
  MAX_EMPTY_ELEMENTS,
  MAX_EMPTY_ELEMENTS + 1,
  0x7fff_ffff,
  0x8000_0000,
  0xffff_fffe,
  0xffff_ffff,
];
const INTERESTING_U8 = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff, 0x42, 0xde, 0xad];

/** Random bytes biased towards lengths and counts that matter (small counts, 2^20, 2^31, 2^32-1). */
export function randomBytes(rng: Rng, maxLength = 64): Buffer {
  const n = rng.int(maxLength + 1);
  const out = Buffer.alloc(n);
  let p = 0;
  while (p < n) {
    const r = rng.int(10);
    if (r < 3 && n - p >= 4) {
      out.writeUInt32LE(rng.bool(0.7) ? rng.int(8) : rng.pick(INTERESTING_U32), p);
      p += 4;
    } else if (r < 5) {
      out[p++] = rng.pick(INTERESTING_U8);
    } else if (r < 7) {
      out[p++] = rng.pick(SIGNATURE_ALPHABET).charCodeAt(0);
    } else {
      out[p++] = rng.int(256);
    }
  }
  return out;
}

/** Applies 1–4 random mutations (bit flips, interesting bytes or u32s, inserts, deletes, duplications). */
export function mutate(rng: Rng, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + rng.int(4);
  for (let k = 0; k < rounds; k++) {
    const p = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(7)) {
      case 0:
        if (b.length) b[p] ^= 1 << rng.int(8);
        break;
      case 1:
        if (b.length) b[p] = rng.pick(INTERESTING_U8);
        break;
      case 2:
        if (b.length >= 4) b.writeUInt32LE(rng.pick(INTERESTING_U32), Math.min(p, b.length - 4));
        break;
      case 3:
        if (b.length >= 4) {
          const q = Math.min(p, b.length - 4);
          b.writeUInt32LE((b.readUInt32LE(q) + rng.pick([1, -1, 2, -2, 4, -4])) >>> 0, q);
        }
        break;
      case 4:
        b = Buffer.concat([b.subarray(0, p), rng.bytes(1 + rng.int(8)), b.subarray(p)]);
        break;
      case 5:
        b = Buffer.concat([b.subarray(0, p), b.subarray(Math.min(b.length, p + 1 + rng.int(8)))]);
        break;
      default: {
        const len = 1 + rng.int(16);
        b = Buffer.concat([b.subarray(0, p), b.subarray(p, p + len), b.subarray(p)]);
      }
    }
  }
  return b;
}

/** Splits `b` into random chunks (mostly small, sometimes empty or big). */
export function randomSplit(rng: Rng, b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p < b.length) {
    const r = rng.int(10);
    const size = r < 1 ? 0 : r < 6 ? 1 + rng.int(8) : r < 9 ? 1 + rng.int(64) : 1 + rng.int(b.length);
    out.push(b.subarray(p, p + size));
    p += size;
  }
  if (rng.bool(0.1)) out.push(Buffer.alloc(0));
  return out;
}

export const SIGNATURE_ALPHABET = [...'vbcCwWiIlLfdsrmoX_[]{}()<>,+#~', 'a', 'x'];

/** A finding: a non-QiError exception, a broken oracle, or an input that took too long. */
export class FuzzFinding extends Error {
  constructor(
    readonly target: string,
    readonly input: string,
    readonly detail: string,
    readonly error?: unknown,
  ) {
    super(`[${target}] ${detail}\n  input: ${input}`);
  }
}

/** Thrown by oracles inside a fuzz case: a property that should hold did not. */
export class OracleFailure extends Error {}

/** One generated input: a printable description (for findings) and the code to run on it. */
export interface FuzzCase {
  /** Hex of the bytes under test, plus signature / chunking context. */
  describe(): string;
  /** The bytes under test (written to the watchdog before running, for hang reports). */
  bytes: Buffer;
  /** Runs the input; may throw any QiError (accepted) or anything else (a finding). */
  run(): void;
}

export interface FuzzTarget {
  name: string;
  /** Makes the next input. `refresh` is called now and then by long runs to renew pools of valid values. */
  next(rng: Rng): FuzzCase;
  refresh?(seed: number): void;
}

/** One generated input of an asynchronous target (sockets, timers): `run` settles once the input is done with. */
export interface AsyncFuzzCase {
  describe(): string;
  bytes: Buffer;
  /** Runs the input; may reject with any QiError (accepted) or anything else (a finding). */
  run(): Promise<void>;
}

/**
 * A target whose inputs take event-loop turns: handshakes over in-memory streams, a live server socket.
 * Run by {@link runTargetAsync}: one input at a time, each bounded in time.
 */
export interface AsyncFuzzTarget {
  name: string;
  async: true;
  next(rng: Rng): AsyncFuzzCase;
  refresh?(seed: number): void;
  /** Starts what the inputs need (a server…). Called before each run of the target; must be idempotent. */
  setup?(): Promise<void>;
  /** Stops what `setup` started. */
  teardown?(): Promise<void>;
  /** Checks between inputs (leaks, memory), every `checkpointEvery` inputs; throws an OracleFailure on a finding. */
  checkpoint?(): Promise<void>;
  checkpointEvery?: number;
  /** One line for the report (what the checkpoints saw). */
  summary?(): string;
}

export type AnyFuzzTarget = FuzzTarget | AsyncFuzzTarget;

export function isAsyncTarget(t: AnyFuzzTarget): t is AsyncFuzzTarget {
  return (t as AsyncFuzzTarget).async === true;
}

/** Fixed signatures that matter for hostile input: dynamics, nesting, objects, the MetaObject. */
export const HOSTILE_SIGNATURES = [
  'm',
  '[m]',
  '{sm}',
  '(m)',
  '[v]',
  '[()]',
  '[[v]]',
  '{vv}',
  '[(v_)]',
  's',
  'r',
  '[s]',
  '{si}',
  '[[i]]',
  '#m',
  '+m',
  '(ii)<P,x,y>',
  'o',
  '[o]',
  METAOBJECT_SIGNATURE,
  '(sIsI[s]ss)<ServiceInfo,name,serviceId,machineId,processId,endpoints,sessionId,objectUid>',
];

/** Decodes `bytes`, and when that succeeds checks the value encodes again; QiErrors are accepted. */
function decodeAndReencode(sig: string, bytes: Buffer, allowTrailing: boolean): void {
  let v: unknown;
  try {
    v = decode(sig, bytes, { allowTrailing });
  } catch (e) {
    if (e instanceof QiError) return;
    throw e;
  }
  try {
    encode(sig, v);
  } catch (e) {
    throw new OracleFailure(`decoded value does not encode again: ${(e as Error)?.stack ?? e}`);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** A pool of valid (signature, value, encoding) triples, renewed from a seed. */
class ValidPool {
  items: { text: string; bytes: Buffer }[] = [];
  constructor(
    seed: number,
    private readonly size = 200,
  ) {
    this.refresh(seed);
  }
  refresh(seed: number): void {
    const sample = fc.sample(sigValueArb({ large: false }), { seed, numRuns: this.size });
    this.items = sample.map(({ text, value }) => ({ text, bytes: Buffer.from(encode(text, value)) }));
  }
}

/** The codec fuzz targets. */
export function typeTargets(seed: number): FuzzTarget[] {
  const pool = new ValidPool(seed);
  const generatedSigs = () => pool.items.map((x) => x.text);
  const validSig = (rng: Rng) => (rng.bool(0.3) ? rng.pick(HOSTILE_SIGNATURES) : rng.pick(generatedSigs()));
  return [
    {
      name: 'type/random-bytes',
      refresh: (s) => pool.refresh(s),
      next(rng) {
        const sig = validSig(rng);
        const bytes = randomBytes(rng, rng.bool(0.9) ? 64 : 512);
        const allowTrailing = rng.bool(0.3);
        return {
          bytes,
          describe: () => `decode(${JSON.stringify(sig)}, ${hex(bytes)}, {allowTrailing:${allowTrailing}})`,
          run: () => decodeAndReencode(sig, bytes, allowTrailing),
        };
      },
    },
    {
      name: 'type/truncate',
      refresh: (s) => pool.refresh(s),
      next(rng) {
        const { text, bytes: full } = rng.pick(pool.items);
        const cut = full.length === 0 ? 0 : rng.int(full.length);
        const bytes = full.subarray(0, cut);
        const allowTrailing = rng.bool(0.5);
        return {
          bytes,
          describe: () => `decode(${JSON.stringify(text)}, ${hex(bytes)}) [prefix ${cut} of ${hex(full)}]`,
          run() {
            if (full.length === 0) return;
            try {
              decode(text, bytes, { allowTrailing });
            } catch (e) {
              if (e instanceof QiDecodeError) return;
              throw e;
            }
            throw new OracleFailure(`a ${cut}-byte prefix of a ${full.length}-byte encoding decoded without error`);
          },
        };
      },
    },
    {
      name: 'type/mutate',
      refresh: (s) => pool.refresh(s),
      next(rng) {
        const { text, bytes: full } = rng.pick(pool.items);
        const sig = rng.bool(0.1) ? validSig(rng) : text;
        const bytes = mutate(rng, full);
        const allowTrailing = rng.bool(0.3);
        return {
          bytes,
          describe: () =>
            `decode(${JSON.stringify(sig)}, ${hex(bytes)}, {allowTrailing:${allowTrailing}}) [mutated from ${hex(full)}]`,
          run: () => decodeAndReencode(sig, bytes, allowTrailing),
        };
      },
    },
    {
      name: 'type/dynamic',
      refresh: (s) => pool.refresh(s),
      next(rng) {
        // A dynamic whose signature is random text or a valid signature, followed by random or valid bytes.
        let sigText: string;
        if (rng.bool(0.5)) sigText = Array.from({ length: rng.int(10) }, () => rng.pick(SIGNATURE_ALPHABET)).join('');
        else sigText = rng.pick(generatedSigs().concat(HOSTILE_SIGNATURES));
        const sigBytes = Buffer.from(sigText);
        const head = Buffer.alloc(4);
        head.writeUInt32LE(sigBytes.length);
        const tail = rng.bool(0.5) ? randomBytes(rng, 48) : mutate(rng, rng.pick(pool.items).bytes);
        const bytes = Buffer.concat([head, sigBytes, tail]);
        const allowTrailing = rng.bool(0.5);
        return {
          bytes,
          describe: () => `decode("m", ${hex(bytes)}, {allowTrailing:${allowTrailing}})`,
          run: () => decodeAndReencode('m', bytes, allowTrailing),
        };
      },
    },
    {
      name: 'type/signature-text',
      refresh: (s) => pool.refresh(s),
      next(rng) {
        let text: string;
        if (rng.bool(0.6)) text = Array.from({ length: rng.int(14) }, () => rng.pick(SIGNATURE_ALPHABET)).join('');
        else {
          const base = rng.bool(0.5) ? rng.pick(generatedSigs()) : rng.pick(HOSTILE_SIGNATURES);
          text = mutate(rng, Buffer.from(base, 'latin1')).toString('latin1');
        }
        const bytes = Buffer.from(text, 'latin1');
        return {
          bytes,
          describe: () => `parseSignature(${JSON.stringify(text)})`,
          run() {
            let printed: string;
            try {
              printed = printSignature(parseSignature(text));
            } catch (e) {
              if (e instanceof QiSignatureError && e.position >= 0 && e.position <= text.length) return;
              throw e;
            }
            if (printed !== text)
              throw new OracleFailure(`printSignature(parseSignature(s)) gave ${JSON.stringify(printed)}`);
          },
        };
      },
    },
  ];
}

const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const qiString = (s: string) => Buffer.concat([u32le(Buffer.byteLength(s)), Buffer.from(s)]);

/** `depth` random containers (list, tuple, optional, map with a bool key) and the bytes that open them. */
function deepContainers(rng: Rng, depth: number): { open: string; close: string; prefix: Buffer[] } {
  let open = '',
    close = '';
  const prefix: Buffer[] = [];
  for (let i = 0; i < depth; i++) {
    const k = rng.int(4);
    const [o, c, ...p] = [
      ['[', ']', u32le(1)],
      ['(', ')'],
      ['+', '', Buffer.from([1])],
      ['{b', '}', u32le(1), Buffer.from([1])],
    ][k] as [string, string, ...Buffer[]];
    open += o;
    close = c + close;
    prefix.push(...p);
  }
  return { open, close, prefix };
}

/**
 * Structured hostile inputs that random bytes almost never hit: dynamics nested in dynamics, each holding
 * deeply nested containers (stack depth); dynamics with fresh deep signatures (compile cost); nested lists
 * of zero-size elements (element counts that multiply). Run by scripts/fuzz.ts; the bounded tests check the same two shapes directly.
 */
export function hostileTargets(): FuzzTarget[] {
  return [
    {
      name: 'type/nesting',
      next(rng) {
        let sig: string;
        let bytes: Buffer;
        const mode = rng.next();
        if (mode < 0.1) {
          // a list of dynamics, each with a fresh deep signature (no cache helps): compile cost per byte
          const count = 2 + rng.int(5);
          const items: Buffer[] = [u32le(count)];
          for (let j = 0; j < count; j++) {
            const { open, close, prefix } = deepContainers(rng, 500 + rng.int(500));
            items.push(qiString(`${open}m<N${rng.int(1e9)}>${close}`), ...prefix, u32le(0));
          }
          sig = '[m]';
          bytes = Buffer.concat(items);
        } else if (mode < 0.9) {
          // levels × (a signature `depth` containers deep whose innermost member is a dynamic)
          const depth = rng.pick([1, 10, 50, 100, 300, 999]);
          // Mostly around the MAX_NESTING_DEPTH budget (1000 levels in all), sometimes far beyond it.
          const levels = 1 + rng.int(rng.bool(0.8) ? Math.max(1, Math.floor(1100 / (depth + 1))) : 1000);
          const { open, close, prefix } = deepContainers(rng, depth);
          const levelSig = open + 'm' + close;
          const head = Buffer.concat([qiString(levelSig), ...prefix]);
          bytes = Buffer.concat([...Array.from({ length: levels }, () => head), u32le(0)]);
          sig = 'm';
        } else {
          // lists of lists of zero-size elements: counts multiply (capped here at ~2^25 elements in all)
          const inner = rng.pick(['v', '()', '_', '(v_)', '{vv}']);
          const outer = 1 + rng.int(2);
          const leafCount = rng.pick([1 << 10, 1 << 16, MAX_EMPTY_ELEMENTS]);
          const perLevel = Math.max(1, Math.floor(Math.pow(2 ** 25 / leafCount, 1 / outer)));
          sig = '['.repeat(outer) + inner + ']'.repeat(outer);
          const build = (level: number): Buffer[] => {
            if (level === outer) return [u32le(leafCount)];
            const n = 1 + rng.int(perLevel);
            const one = Buffer.concat(build(level + 1));
            return [u32le(n), ...Array.from({ length: n }, () => one)];
          };
          bytes = Buffer.concat(build(0));
        }
        const s = sig;
        return {
          bytes,
          describe: () => `decode(${JSON.stringify(s)}, ${hex(bytes)})`,
          run: () => decodeAndReencode(s, bytes, false),
        };
      },
    },
  ];
}

// ----- messages -----

interface Delivered {
  messages: string[];
  fault?: string;
  endFault?: string;
}

const describeMessage = (m: Message) =>
  `${m.id}/${m.type}/${m.flags}/${m.service}.${m.object}.${m.action}:${m.payload.toString('hex')}`;

/** Feeds chunks to a FrameReader; returns what it delivered and the protocol faults it raised. */
export function feed(chunks: Buffer[], maxPayload: number): Delivered {
  const out: Delivered = { messages: [] };
  const r = new FrameReader((m) => out.messages.push(describeMessage(m)), { maxPayload });
  try {
    for (const c of chunks) r.push(c);
  } catch (e) {
    if (!(e instanceof QiProtocolError)) throw e;
    out.fault = `${e.fault}@${e.streamOffset}`;
    // A failed reader must keep failing with the same error.
    let again: unknown;
    try {
      r.push(Buffer.from([0x42]));
    } catch (e2) {
      again = e2;
    }
    if (again !== e)
      throw new OracleFailure(
        `push after a protocol error ${again === undefined ? 'did not throw' : `threw something else: ${again}`}`,
      );
    return out;
  }
  try {
    r.end();
  } catch (e) {
    if (!(e instanceof QiProtocolError)) throw e;
    out.endFault = e.fault;
  }
  return out;
}

/** A random message (random header fields, small payload) as a Message. */
export function randomMessage(rng: Rng): Message {
  const size = rng.bool(0.1) ? 0 : rng.bool(0.9) ? rng.int(40) : rng.int(2000);
  return new Message(
    rng.int(2 ** 32),
    rng.int(9),
    rng.int(256),
    rng.int(2 ** 32),
    rng.int(2 ** 32),
    rng.int(2 ** 32),
    rng.bytes(size),
  );
}

/** A stream of 1–5 random messages. */
export function randomStream(rng: Rng): { messages: Message[]; bytes: Buffer } {
  const messages = Array.from({ length: 1 + rng.int(5) }, () => randomMessage(rng));
  return { messages, bytes: Buffer.concat(messages.map((m) => m.toBuffer())) };
}

const hexChunks = (cs: Buffer[]) => cs.map((c) => c.toString('hex')).join('|');

/** The framing fuzz targets. */
export function messageTargets(): FuzzTarget[] {
  const MAX = 4096;
  return [
    {
      name: 'message/random-bytes',
      next(rng) {
        // Random bytes, often behind a valid magic (and sometimes a whole valid header) so parsing goes further.
        const parts: Buffer[] = [];
        const n = 1 + rng.int(3);
        for (let i = 0; i < n; i++) {
          if (rng.bool(0.3)) parts.push(randomMessage(rng).toBuffer().subarray(0, HEADER_SIZE));
          else if (rng.bool(0.5)) parts.push(Buffer.from([0x42, 0xde, 0xad, 0x42]));
          parts.push(randomBytes(rng, 64));
        }
        const bytes = Buffer.concat(parts);
        const chunks = randomSplit(rng, bytes);
        return { bytes, describe: () => `chunks ${hexChunks(chunks)}`, run: () => void feed(chunks, MAX) };
      },
    },
    {
      name: 'message/split',
      next(rng) {
        const { messages, bytes: full } = randomStream(rng);
        const truncate = rng.bool(0.3) ? 1 + rng.int(full.length) : 0;
        const bytes = full.subarray(0, full.length - truncate);
        const chunks = randomSplit(rng, bytes);
        return {
          bytes,
          describe: () => `chunks ${hexChunks(chunks)} [${truncate} bytes cut from ${full.toString('hex')}]`,
          run() {
            const got = feed(chunks, MAX);
            const want = messages.map(describeMessage);
            if (got.fault) throw new OracleFailure(`valid stream rejected: ${got.fault}`);
            // A cut stream delivers the messages that are whole, then end() reports `truncated`.
            let whole = 0,
              boundary = 0,
              p = 0;
            for (const m of messages) {
              p += HEADER_SIZE + m.payload.length;
              if (p <= bytes.length) {
                whole++;
                boundary = p;
              }
            }
            if (!isDeepStrictEqual(got.messages, want.slice(0, whole)))
              throw new OracleFailure(`delivered ${show(got.messages)}, expected ${show(want.slice(0, whole))}`);
            const endFault = boundary !== bytes.length ? 'truncated' : undefined;
            if (got.endFault !== endFault) throw new OracleFailure(`end() fault ${got.endFault}, expected ${endFault}`);
          },
        };
      },
    },
    {
      name: 'message/mutate',
      next(rng) {
        const { bytes: full } = randomStream(rng);
        const bytes = mutate(rng, full);
        const chunks = randomSplit(rng, bytes);
        return {
          bytes,
          describe: () => `chunks ${hexChunks(chunks)} [mutated from ${full.toString('hex')}]`,
          run() {
            // Differential: any chunking must behave exactly like one push of the whole stream.
            const whole = feed([bytes], MAX);
            const split = feed(chunks, MAX);
            if (!isDeepStrictEqual(whole, split))
              throw new OracleFailure(`one push gave ${show(whole)}, chunked push gave ${show(split)}`);
          },
        };
      },
    },
  ];
}

/** Result of running one target for a while. */
export interface TargetRun {
  target: string;
  inputs: number;
  findings: FuzzFinding[];
  slowestMs: number;
}

/**
 * Runs `target` until `maxInputs` inputs or `maxMs` milliseconds, whichever comes first. Accepts QiErrors;
 * records anything else, broken oracles, and inputs slower than `hangMs`, with the input that caused them.
 * `beforeRun` sees each input first (the long script uses it to leave the input where a watchdog can read it).
 */
export function runTarget(
  target: FuzzTarget,
  rng: Rng,
  limits: { maxInputs?: number; maxMs?: number; hangMs?: number; maxFindings?: number },
  beforeRun?: (c: FuzzCase) => void,
): TargetRun {
  const maxInputs = limits.maxInputs ?? Infinity;
  const deadline = performance.now() + (limits.maxMs ?? Infinity);
  const hangMs = limits.hangMs ?? 1000;
  const maxFindings = limits.maxFindings ?? 20;
  const result: TargetRun = { target: target.name, inputs: 0, findings: [], slowestMs: 0 };
  while (
    result.inputs < maxInputs &&
    result.findings.length < maxFindings &&
    (result.inputs & 15 || performance.now() < deadline)
  ) {
    const c = target.next(rng);
    beforeRun?.(c);
    const t0 = performance.now();
    try {
      c.run();
    } catch (e) {
      if (!(e instanceof QiError) || e instanceof OracleFailure) {
        const what =
          e instanceof OracleFailure
            ? `oracle: ${e.message}`
            : `${(e as Error)?.constructor?.name ?? typeof e}: ${(e as Error)?.message ?? e}`;
        result.findings.push(new FuzzFinding(target.name, c.describe(), what, e));
      }
    }
    const ms = performance.now() - t0;
    result.inputs++;
    if (ms > result.slowestMs) result.slowestMs = ms;
    if (ms > hangMs)
      result.findings.push(new FuzzFinding(target.name, c.describe(), `took ${ms.toFixed(0)} ms (> ${hangMs} ms)`));
  }
  return result;
}

const SETTLE_TIMEOUT = Symbol('settle-timeout');
/** Inputs run per asynchronous target over all its runs (checkpoints count these, not one slice's). */
const asyncInputs = new WeakMap<AsyncFuzzTarget, number>();

/** Resolves with `p`'s outcome, or with SETTLE_TIMEOUT after `ms` (a later rejection of `p` is then swallowed). */
async function settleWithin(p: Promise<void>, ms: number): Promise<{ error?: unknown } | typeof SETTLE_TIMEOUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof SETTLE_TIMEOUT>(
    (resolve) => (timer = setTimeout(() => resolve(SETTLE_TIMEOUT), ms)),
  );
  const outcome = p.then(
    () => ({}),
    (error: unknown) => ({ error }),
  );
  try {
    return await Promise.race([outcome, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A bounded run of `target` as the test suite makes it: seeded with `seed` mixed with the length of the
 * target's name, at most `maxInputs` inputs or `maxMs` milliseconds, any input slower than 1 s a finding.
 */
export function seededRun(target: FuzzTarget, seed: number, maxInputs: number, maxMs: number): TargetRun {
  return runTarget(target, new Rng(seed ^ target.name.length), { maxInputs, maxMs, hangMs: 1000 });
}

/**
 * The asynchronous counterpart of {@link runTarget}: runs `target`'s inputs one after the other until
 * `maxInputs` or `maxMs`, awaiting each. Besides what runTarget reports, an input that has not settled
 * after `settleMs` (default 3 × hangMs) is a finding (a hang), and so is a failed `checkpoint`.
 */
export async function runTargetAsync(
  target: AsyncFuzzTarget,
  rng: Rng,
  limits: { maxInputs?: number; maxMs?: number; hangMs?: number; settleMs?: number; maxFindings?: number },
  beforeRun?: (c: AsyncFuzzCase) => void,
): Promise<TargetRun> {
  const maxInputs = limits.maxInputs ?? Infinity;
  const deadline = performance.now() + (limits.maxMs ?? Infinity);
  const hangMs = limits.hangMs ?? 1000;
  const settleMs = limits.settleMs ?? 3 * hangMs;
  const maxFindings = limits.maxFindings ?? 20;
  const result: TargetRun = { target: target.name, inputs: 0, findings: [], slowestMs: 0 };
  const fail = (c: AsyncFuzzCase, e: unknown, prefix = '') => {
    const what =
      e instanceof OracleFailure
        ? `oracle: ${e.message}`
        : `${(e as Error)?.constructor?.name ?? typeof e}: ${(e as Error)?.message ?? e}`;
    result.findings.push(new FuzzFinding(target.name, c.describe(), prefix + what, e));
  };
  await target.setup?.();
  while (result.inputs < maxInputs && result.findings.length < maxFindings && performance.now() < deadline) {
    const c = target.next(rng);
    beforeRun?.(c);
    const t0 = performance.now();
    let p: Promise<void>;
    try {
      p = c.run();
    } catch (e) {
      p = Promise.reject(e);
    }
    const outcome = await settleWithin(p, settleMs);
    const ms = performance.now() - t0;
    result.inputs++;
    const total = (asyncInputs.get(target) ?? 0) + 1;
    asyncInputs.set(target, total);
    if (ms > result.slowestMs) result.slowestMs = ms;
    if (outcome === SETTLE_TIMEOUT) {
      result.findings.push(
        new FuzzFinding(target.name, c.describe(), `hang: the input had not settled after ${settleMs} ms`),
      );
      continue;
    }
    const e = 'error' in outcome ? outcome.error : undefined;
    if ('error' in outcome && (!(e instanceof QiError) || e instanceof OracleFailure)) fail(c, e);
    else if (ms > hangMs)
      result.findings.push(new FuzzFinding(target.name, c.describe(), `took ${ms.toFixed(0)} ms (> ${hangMs} ms)`));
    if (target.checkpoint !== undefined && total % (target.checkpointEvery ?? 100) === 0) {
      try {
        await target.checkpoint();
      } catch (e) {
        fail(c, e, `checkpoint after ${total} inputs (the input shown is only the last one): `);
      }
    }
  }
  return result;
}
