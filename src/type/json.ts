/**
 * qi values as JSON can carry them, in one walk shared by every place that writes JSON (the CLI's
 * `--json`, the ROS bridge, the classic browser API, the dashboard's fields). The walk always unwraps
 * dynamics, writes lists as arrays and structs by their fields; what differs between those places (64-bit
 * integers as numbers or text, raw bytes as base64 or arrays, maps with non-text keys, object references,
 * a depth limit) is a {@link JsonOptions} the caller gives. No Node built-ins: the browser bundle uses it.
 */
import { shortestFloat32 } from './float32.js';
import { parseSignature, type Signature } from './signature.js';
import { Dynamic } from './value.js';

/** How {@link toJsonValue} writes what JSON has no direct form for. */
export interface JsonOptions {
  /**
   * 64-bit integers (bigints): `'number'` always a number (precision is lost past 2^53), `'safe'` a
   * number when it is exact, else decimal text.
   */
  readonly bigint: 'number' | 'safe';
  /** Raw bytes (a `Uint8Array` or `Buffer`): e.g. base64 text or an array of byte values. */
  readonly bytes: (bytes: Uint8Array) => unknown;
  /**
   * Only JSON values come out: NaN, ±Infinity, functions and symbols become null. Without it they are left
   * for `JSON.stringify` (which writes null or leaves them out).
   */
  readonly strict?: boolean;
  /** Void (`undefined`) stays `undefined`, so that `JSON.stringify` leaves it out of objects; default null. */
  readonly keepUndefined?: boolean;
  /**
   * Maps: `'object'` (default) an object whose keys are {@link mapKey}; `'object-or-pairs'` an object when
   * every key (dynamics unwrapped) is a string, number, bigint or boolean, else `[{"key": k, "value": v}]`.
   */
  readonly maps?: 'object' | 'object-or-pairs';
  /** A map key as an object key, in `'object'` maps; default `String(key)`. */
  readonly mapKey?: (key: unknown) => string;
  /** Structs: objects by field name (default), or arrays of their fields' values. */
  readonly structs?: 'object' | 'array';
  /** Typed arrays other than bytes become arrays, ArrayBuffers bytes; without it they are written as structs. */
  readonly typedArrays?: boolean;
  /**
   * An object reference or qi object (a proxy, a local object) in JSON, or `undefined` for an object that
   * is not one (it is then written as a struct). Asked only for objects that are not bytes, lists or maps.
   */
  readonly object?: (value: object) => unknown;
  /** Values nested deeper than this (dynamics count as a level) become null. */
  readonly maxDepth?: number;
  /**
   * Follows the qi types: dynamics by their own signature, so that float32 values (`f`) anywhere in them
   * are written as the shortest decimal that is the same float32 (`0.8`, not `0.800000011920929`), as
   * values of the signature given to {@link toJsonValue} are.
   */
  readonly typed?: boolean;
}

/**
 * A qi value (as decoded, or as given in-process) as a value `JSON.stringify` writes faithfully, by the
 * rules of `options`.
 * @param sig the qi type of `value`, when known: float32 values in it are written as their shortest decimal
 */
export function toJsonValue(value: unknown, options: JsonOptions, sig?: Signature): unknown {
  return walk(value, options, sig, 0);
}

const SCALAR_KEYS = new Set(['string', 'number', 'bigint', 'boolean']);

function walk(v: unknown, o: JsonOptions, sig: Signature | undefined, depth: number): unknown {
  if (o.maxDepth !== undefined && depth > o.maxDepth) return null;
  if (v instanceof Dynamic) return walk(v.value, o, o.typed ? parsed(v.signature) : undefined, depth + 1);
  if (v === undefined) return o.keepUndefined ? undefined : null;
  if (v === null) return null;
  if (sig?.kind === 'optional') sig = sig.element;
  switch (typeof v) {
    case 'number':
      if (o.strict && !Number.isFinite(v)) return null;
      return sig?.kind === 'float' ? shortestFloat32(v) : v;
    case 'bigint':
      return o.bigint === 'number' || Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    case 'string':
    case 'boolean':
      return v;
    case 'object':
      break;
    default:
      return o.strict ? null : v;
  }
  const next = depth + 1;
  if (v instanceof Uint8Array) return o.bytes(v);
  if (Array.isArray(v)) return v.map((x, i) => walk(x, o, inner(sig, i), next));
  if (v instanceof Map) return map(v, o, sig, next);
  if (o.typedArrays) {
    if (v instanceof ArrayBuffer) return o.bytes(new Uint8Array(v));
    if (ArrayBuffer.isView(v))
      return Array.from(v as unknown as ArrayLike<unknown>, (x) => walk(x, o, undefined, next));
  }
  if (o.object !== undefined) {
    const json = o.object(v);
    if (json !== undefined) return json;
  }
  const entries = Object.entries(v);
  if (o.structs === 'array') return entries.map(([, x], i) => walk(x, o, inner(sig, i), next));
  return Object.fromEntries(entries.map(([k, x], i) => [k, walk(x, o, inner(sig, i, k), next)]));
}

function map(v: Map<unknown, unknown>, o: JsonOptions, sig: Signature | undefined, depth: number): unknown {
  const value = sig?.kind === 'map' ? sig.value : sig?.kind === 'kwargs' ? sig.element : undefined;
  if (o.maps === 'object-or-pairs') {
    const keys = [...v.keys()].map((k) => (k instanceof Dynamic ? k.value : k));
    if (!keys.every((k) => SCALAR_KEYS.has(typeof k)))
      return [...v].map(([k, x]) => ({ key: walk(k, o, undefined, depth), value: walk(x, o, value, depth) }));
    return Object.fromEntries([...v.values()].map((x, i) => [String(keys[i]), walk(x, o, value, depth)]));
  }
  const key = o.mapKey ?? String;
  return Object.fromEntries([...v].map(([k, x]) => [key(k), walk(x, o, value, depth)]));
}

function parsed(signature: string): Signature | undefined {
  try {
    return parseSignature(signature);
  } catch {
    return undefined;
  }
}

/** The type of element `i` (list, tuple) or of field `key` (struct) of a value of type `sig`. */
function inner(sig: Signature | undefined, i: number, key?: string): Signature | undefined {
  if (sig === undefined) return undefined;
  if (sig.kind === 'list' || sig.kind === 'varargs') return sig.element;
  if (sig.kind !== 'tuple') return undefined;
  return key === undefined
    ? sig.members[i]
    : sig.fields === undefined
      ? undefined
      : sig.members[sig.fields.indexOf(key)];
}
