/**
 * Signature inference for plain JS values, used when a dynamic (`m`) is given a value without a
 * signature. The rules (also in docs/types.md):
 *
 * | JS value | signature |
 * |---|---|
 * | `undefined`, `null` | `v` |
 * | boolean | `b` |
 * | integer number in int32 range | `i`; other safe integers `l`; any other number `d` |
 * | bigint | `l` in int64 range, else `L` in uint64 range |
 * | string | `s` |
 * | `Uint8Array`, `Buffer`, `ArrayBuffer` | `r` |
 * | `Int8Array` … `Float64Array` | `[c]` `[C]` `[w]` `[W]` `[i]` `[I]` `[f]` `[d]` `[l]` `[L]` |
 * | `Dynamic` | `m` (inside containers; at the top its own signature is used) |
 * | `ObjectReference` | `o` |
 * | array | `[T]` when every element infers to `T` (numbers widen `i` → `l` → `d`), else `[m]`; `[]` → `[m]` |
 * | `Map` | `{KV}` by the same rule for keys and values; empty → `{mm}` |
 * | plain object | `{sV}`, values by the same rule; empty → `{sm}` |
 */
import { QiValueError, describeValue } from './errors.js';
import { MAX_NESTING_DEPTH } from './signature.js';
import { Dynamic, ObjectReference } from './value.js';

const TYPED_ARRAYS: [new (...a: never[]) => ArrayBufferView, string][] = [
  [Int8Array, '[c]'],
  [Int16Array, '[w]'],
  [Uint16Array, '[W]'],
  [Int32Array, '[i]'],
  [Uint32Array, '[I]'],
  [Float32Array, '[f]'],
  [Float64Array, '[d]'],
  [BigInt64Array, '[l]'],
  [BigUint64Array, '[L]'],
];

const NUMERIC_RANK: Record<string, number> = { i: 1, l: 2, d: 3 };

/** The common signature of two inferred ones: equal → itself, numbers → the wider, else `m`. */
function unify(a: string | undefined, b: string): string {
  if (a === undefined || a === b) return b;
  const ra = NUMERIC_RANK[a],
    rb = NUMERIC_RANK[b];
  if (ra !== undefined && rb !== undefined) return ra > rb ? a : b;
  return 'm';
}

function common(values: Iterable<unknown>, depth: number): string {
  let sig: string | undefined;
  for (const v of values) {
    sig = unify(sig, infer(v, depth + 1));
    if (sig === 'm') return sig;
  }
  return sig ?? 'm';
}

function infer(v: unknown, depth: number): string {
  if (depth > MAX_NESTING_DEPTH) {
    throw new QiValueError(`the value nests deeper than ${MAX_NESTING_DEPTH} levels (is it cyclic?)`);
  }
  switch (typeof v) {
    case 'undefined':
      return 'v';
    case 'boolean':
      return 'b';
    case 'number':
      if ((v | 0) === v) return 'i';
      return Number.isSafeInteger(v) ? 'l' : 'd';
    case 'bigint':
      if (v >= -(2n ** 63n) && v < 2n ** 63n) return 'l';
      if (v >= 0n && v < 2n ** 64n) return 'L';
      throw new QiValueError(`${v} does not fit any qi integer type (int64 or uint64)`);
    case 'string':
      return 's';
    case 'object':
      break;
    default:
      throw new QiValueError(`cannot infer a qi type for ${describeValue(v)}; wrap it in a Dynamic with a signature`);
  }
  if (v === null) return 'v';
  if (v instanceof Dynamic) return 'm';
  if (v instanceof ObjectReference) return 'o';
  if (v instanceof Uint8Array || v instanceof ArrayBuffer) return 'r';
  if (Array.isArray(v)) return `[${common(v, depth)}]`;
  if (ArrayBuffer.isView(v)) {
    for (const [ctor, sig] of TYPED_ARRAYS) if (v instanceof ctor) return sig;
  }
  if (v instanceof Map) return `{${common(v.keys(), depth)}${common(v.values(), depth)}}`;
  const proto = Object.getPrototypeOf(v);
  if (proto === Object.prototype || proto === null) return `{s${common(Object.values(v), depth)}}`;
  throw new QiValueError(`cannot infer a qi type for ${describeValue(v)}; wrap it in a Dynamic with a signature`);
}

/**
 * Infers the signature of a plain JS value, by the rules in this module's table.
 * @throws {@link QiValueError} for values with no qi type (functions, symbols, class instances, cycles).
 */
export function inferSignature(value: unknown): string {
  return infer(value, 0);
}

/** Wraps a JS value in a {@link Dynamic}, inferring its signature unless one is given. */
export function toDynamic(value: unknown, signature?: string): Dynamic {
  if (value instanceof Dynamic && signature === undefined) return value;
  return new Dynamic(signature ?? inferSignature(value), value);
}
