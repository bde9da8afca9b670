/**
 * Values between ROS (JSON) and qi, both ways. The rules are in docs/bridges.md; in short:
 *
 * JSON → qi, by the qi signature expected: numbers to any int (range-checked) or float; int64 from a
 * safe integer or a decimal string; raw (and lists of uint8/int8) from base64 text or an array of
 * bytes; structs from objects with their fields (or arrays); maps from objects (keys converted) or from
 * `[{key, value}]`; tuples from arrays; optionals from `null`; dynamics from any JSON (signature
 * inferred). Object references cannot come from ROS.
 *
 * qi → JSON, by the value: bigints to numbers when safe, else decimal strings; bytes to base64; maps to
 * objects when their keys are scalars, else `[{key, value}]`; structs to objects; tuples and lists to
 * arrays; dynamics unwrapped; none and void to null; object references to null.
 *
 * How values sit in ROS messages and service arguments is in ./messages.ts.
 */
import { QiError } from '../../errors/index.js';
import { backendOf } from '../../object/index.js';
import {
  Dynamic,
  ObjectReference,
  printSignature,
  toJsonValue,
  type JsonOptions,
  type Signature,
} from '../../type/index.js';

/** A ROS message or service argument that does not fit the qi signature. */
export class RosValueError extends QiError {
  constructor(message: string) {
    super('ERR_QI_VALUE', message);
  }
}

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  uint32: [0, 2 ** 32 - 1],
};

/** A readable name of a qi type: `int32`, `list of string`, `struct Point {x, y}`. */
export function describeType(sig: Signature): string {
  switch (sig.kind) {
    case 'list':
    case 'varargs':
      return `list of ${describeType(sig.element)}`;
    case 'optional':
      return `optional ${describeType(sig.element)}`;
    case 'map':
      return `map of ${describeType(sig.key)} to ${describeType(sig.value)}`;
    case 'tuple':
      if (sig.fields) return `struct ${sig.name ?? ''} {${sig.fields.join(', ')}}`.replace('struct  {', 'struct {');
      return `tuple (${sig.members.map(describeType).join(', ')})`;
    case 'dynamic':
      return 'any value';
    case 'raw':
      return 'bytes (base64 text or an array of bytes)';
    default:
      return sig.kind;
  }
}

function describeJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return 'an object';
  const text = JSON.stringify(v) ?? String(v);
  return `${typeof v} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

function fail(where: string, sig: Signature, v: unknown, hint = ''): never {
  throw new RosValueError(`${where}: expected ${describeType(sig)}, got ${describeJson(v)}${hint}`);
}

/** True for a JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bytes(sig: Signature, v: unknown, where: string): Buffer {
  if (typeof v === 'string') {
    const text = v.replace(/\s+/g, '');
    if (text.length % 4 !== 0 || !BASE64.test(text)) fail(where, sig, v, ' (text must be base64)');
    return Buffer.from(text, 'base64');
  }
  if (Array.isArray(v)) {
    v.forEach((b, i) => {
      if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255)
        fail(`${where}[${i}]`, { kind: 'uint8' }, b);
    });
    return Buffer.from(v as number[]);
  }
  return fail(where, sig, v);
}

function int64(sig: Signature, v: unknown, where: string): bigint {
  let n: bigint | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^-?\d{1,20}$/.test(v.trim())) n = BigInt(v.trim());
  if (n === undefined) return fail(where, sig, v, ' (a safe integer, or a decimal string for larger ones)');
  const [lo, hi] = sig.kind === 'int64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
  if (n < lo || n > hi) fail(where, sig, v, ' (out of range)');
  return n;
}

function mapKey(sig: Signature, key: string, where: string): unknown {
  switch (sig.kind) {
    case 'string':
    case 'dynamic':
      return key;
    case 'int64':
    case 'uint64':
      return int64(sig, key, where);
    default:
      if (sig.kind in INT_RANGES || sig.kind === 'float' || sig.kind === 'double') {
        const n = Number(key);
        if (key.trim() === '' || Number.isNaN(n)) fail(where, sig, key, ' (an object key that is a number)');
        return fromJson(sig, n, where);
      }
      if (sig.kind === 'bool' && (key === 'true' || key === 'false')) return key === 'true';
      return fail(
        where,
        sig,
        key,
        `; keys of this type cannot be object keys: send the map as [{"key": …, "value": …}]`,
      );
  }
}

/**
 * Converts a JSON value received from ROS to the JS value of the qi signature `sig`.
 * @param where the path shown in errors, e.g. `args.point.x`
 * @throws {@link RosValueError} naming the path, the type expected and the value received
 */
export function fromJson(sig: Signature, v: unknown, where: string, depth = 0): unknown {
  if (depth > 100) throw new RosValueError(`${where}: the value nests deeper than 100 levels`);
  switch (sig.kind) {
    case 'void':
    case 'none':
      return undefined;
    case 'bool':
      return typeof v === 'boolean' ? v : fail(where, sig, v);
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32': {
      const [lo, hi] = INT_RANGES[sig.kind];
      if (typeof v !== 'number' || !Number.isInteger(v)) return fail(where, sig, v);
      return v >= lo && v <= hi ? v : fail(where, sig, v, ` (out of range ${lo}…${hi})`);
    }
    case 'int64':
    case 'uint64':
      return int64(sig, v, where);
    case 'float':
    case 'double':
      return typeof v === 'number' ? v : fail(where, sig, v);
    case 'string':
      return typeof v === 'string' ? v : fail(where, sig, v);
    case 'raw':
      return bytes(sig, v, where);
    case 'dynamic':
      return v === null || v === undefined ? Dynamic.VOID : v;
    case 'optional':
      return v === null || v === undefined ? null : fromJson(sig.element, v, where, depth + 1);
    case 'list':
    case 'varargs': {
      const e = sig.element.kind;
      if (typeof v === 'string' && (e === 'uint8' || e === 'int8'))
        return [...bytes(sig, v, where)].map((b) => (e === 'int8' && b > 127 ? b - 256 : b));
      if (!Array.isArray(v)) return fail(where, sig, v);
      return v.map((x, i) => fromJson(sig.element, x, `${where}[${i}]`, depth + 1));
    }
    case 'map': {
      const out = new Map<unknown, unknown>();
      if (Array.isArray(v)) {
        v.forEach((pair, i) => {
          if (!isObject(pair) || !('key' in pair))
            fail(`${where}[${i}]`, sig, pair, ' (a map as an array holds {"key": …, "value": …} objects)');
          out.set(
            fromJson(sig.key, pair.key, `${where}[${i}].key`, depth + 1),
            fromJson(sig.value, pair.value, `${where}[${i}].value`, depth + 1),
          );
        });
        return out;
      }
      if (!isObject(v)) return fail(where, sig, v);
      for (const [k, x] of Object.entries(v))
        out.set(mapKey(sig.key, k, `${where}.${k} (key)`), fromJson(sig.value, x, `${where}.${k}`, depth + 1));
      return out;
    }
    case 'tuple': {
      const fields = sig.fields;
      if (Array.isArray(v)) {
        if (v.length !== sig.members.length) fail(where, sig, v, ` (${sig.members.length} elements)`);
        const members = v.map((x, i) => fromJson(sig.members[i], x, `${where}[${i}]`, depth + 1));
        return fields ? Object.fromEntries(fields.map((f, i) => [f, members[i]])) : members;
      }
      if (!fields || !isObject(v)) return fail(where, sig, v);
      const unknown = Object.keys(v).filter((k) => !fields.includes(k));
      if (unknown.length > 0)
        fail(where, sig, v, ` (unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')})`);
      return Object.fromEntries(
        fields.map((f, i) => {
          const m = sig.members[i];
          if (!(f in v) && m.kind !== 'optional')
            throw new RosValueError(`${where}: the field "${f}" (${describeType(m)}) is missing`);
          return [f, fromJson(m, v[f], `${where}.${f}`, depth + 1)];
        }),
      );
    }
    case 'object':
      throw new RosValueError(`${where}: qi objects (${printSignature(sig)}) cannot be passed from ROS`);
    default:
      throw new RosValueError(`${where}: the qi type ${printSignature(sig)} cannot be sent from ROS`);
  }
}

/** qi → JSON for ROS: the rules above, in the terms of {@link toJsonValue}. */
const ROS_JSON: JsonOptions = {
  bigint: 'safe',
  strict: true,
  maps: 'object-or-pairs',
  typedArrays: true,
  maxDepth: 100,
  bytes: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'),
  object: (v) => (v instanceof ObjectReference || backendOf(v) !== undefined ? null : undefined),
};

/** Converts a qi value (as decoded, or as given in-process) to JSON for ROS. */
export function toJson(v: unknown): unknown {
  return toJsonValue(v, ROS_JSON);
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The qi signature given to a JSON value from ROS: objects with plain field names become structs. */
function jsonSignature(v: unknown, depth: number): string {
  if (depth > 100) throw new RosValueError('the value nests deeper than 100 levels');
  switch (typeof v) {
    case 'boolean':
      return 'b';
    case 'number':
      return (v | 0) === v ? 'i' : Number.isSafeInteger(v) ? 'l' : 'd';
    case 'string':
      return 's';
    default:
      break;
  }
  if (Array.isArray(v)) {
    const sigs = new Set(v.map((x) => jsonSignature(x, depth + 1)));
    return sigs.size === 1 ? `[${[...sigs][0]}]` : '[m]';
  }
  if (isObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 0 || !keys.every((k) => FIELD.test(k))) return '{sm}';
    return `(${keys.map((k) => jsonSignature(v[k], depth + 1)).join('')})<Response,${keys.join(',')}>`;
  }
  return 'm'; // null: a void dynamic
}

/** Replaces nulls by void dynamics, so that a JSON value fits {@link jsonSignature}. */
function fillNulls(v: unknown): unknown {
  if (v === null || v === undefined) return Dynamic.VOID;
  if (Array.isArray(v)) return v.map(fillNulls);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fillNulls(x)]));
  return v;
}

/**
 * A JSON value from ROS (a service response) as a qi dynamic: objects become structs
 * (`(is)<Response,sum,message>`, plain objects on the qi side), or `{sm}` maps when a key is not a
 * plain name; homogeneous arrays typed lists; null a void dynamic.
 */
export function jsonDynamic(v: unknown): Dynamic {
  if (v === null || v === undefined) return Dynamic.VOID;
  return new Dynamic(jsonSignature(v, 0), fillNulls(v));
}
