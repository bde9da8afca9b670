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
 */
import { QiError } from '../../errors/index.js';
import { backendOf } from '../../object/index.js';
import { Dynamic, ObjectReference, printSignature, type Signature } from '../../type/index.js';

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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

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

/** Converts a qi value (as decoded, or as given in-process) to JSON for ROS. */
export function toJson(v: unknown, depth = 0): unknown {
  if (depth > 100) return null;
  if (v instanceof Dynamic) return toJson(v.value, depth + 1);
  if (v === undefined || v === null) return null;
  switch (typeof v) {
    case 'bigint':
      return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    case 'number':
      return Number.isFinite(v) ? v : null;
    case 'string':
    case 'boolean':
      return v;
    case 'object':
      break;
    default:
      return null;
  }
  if (v instanceof ObjectReference || backendOf(v) !== undefined) return null;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v instanceof ArrayBuffer) return Buffer.from(v).toString('base64');
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, (x) => toJson(x, depth + 1));
  if (Array.isArray(v)) return v.map((x) => toJson(x, depth + 1));
  if (v instanceof Map) {
    const keys = [...v.keys()].map((k) => (k instanceof Dynamic ? k.value : k));
    if (keys.every((k) => ['string', 'number', 'bigint', 'boolean'].includes(typeof k))) {
      return Object.fromEntries([...v.values()].map((x, i) => [String(keys[i]), toJson(x, depth + 1)]));
    }
    return [...v].map(([k, x]) => ({ key: toJson(k, depth + 1), value: toJson(x, depth + 1) }));
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x, depth + 1)]));
}

/** True when a qi type becomes a JSON object (a struct, a map, or a dynamic holding one). */
function objectLike(sig: Signature, json: unknown): boolean {
  if (!isObject(json)) return false;
  return (sig.kind === 'tuple' && sig.fields !== undefined) || sig.kind === 'map' || sig.kind === 'dynamic';
}

/**
 * A qi value as a ROS message (a JSON object): structs and maps are the message itself; void is `{}`;
 * any other value is `{"data": value}`, as in std_msgs (std_msgs/String, Int32, Float64…).
 */
export function messageOf(value: unknown, sig: Signature): Record<string, unknown> {
  if (sig.kind === 'void') return {};
  const json = toJson(value);
  return objectLike(sig, json) ? (json as Record<string, unknown>) : { data: json };
}

/** The arguments of a signal as a ROS message: none `{}`, one as {@link messageOf}, several `{"data": [a, b, …]}`. */
export function messageOfArgs(args: readonly unknown[], sigs: readonly Signature[]): Record<string, unknown> {
  if (sigs.length === 0) return {};
  if (sigs.length === 1) return messageOf(args[0], sigs[0]);
  return { data: args.map((a) => toJson(a)) };
}

/** A parameter of a qi method or signal, for mapping ROS arguments onto it. */
export interface Param {
  readonly sig: Signature;
  /** The parameter's name from the MetaObject, else `arg0`, `arg1`… */
  readonly name: string;
}

/** The parameters of a tuple signature, named from `names` where given. */
export function paramsOf(tuple: Signature, names: readonly string[] = []): Param[] {
  const members = tuple.kind === 'tuple' ? tuple.members : [tuple];
  return members.map((sig, i) => ({ sig, name: names[i] || `arg${i}` }));
}

function usage(params: readonly Param[]): string {
  if (params.length === 0) return 'no arguments';
  const list = params.map((p) => `${p.name}: ${describeType(p.sig)}`).join(', ');
  return `(${list}): pass args as a list [${params.map((p) => p.name).join(', ')}] or an object {${params.map((p) => `"${p.name}": …`).join(', ')}}${params.length === 1 ? ` or {"data": …}` : ` or {"data": [${params.map((p) => p.name).join(', ')}]}`}`;
}

const wantsObject = (sig: Signature) =>
  (sig.kind === 'tuple' && sig.fields !== undefined) || sig.kind === 'map' || sig.kind === 'dynamic';

/**
 * ROS arguments (`args` of call_service, `msg` of publish) as positional qi arguments. In order:
 * absent or null → no arguments; an array → positional; an object whose keys are parameter names →
 * by name; an object for a method of one struct/map/dynamic parameter → that argument; `{"data": x}`
 * → x as the single argument, or, x being an array, as the list of arguments; a scalar → the single
 * argument.
 * @throws {@link RosValueError} saying what the method takes
 */
export function argsFromRos(params: readonly Param[], args: unknown, what: string): unknown[] {
  try {
    return mapArgs(params, args, what);
  } catch (e) {
    if (e instanceof RosValueError && !e.message.startsWith(what)) throw new RosValueError(`${what}: ${e.message}`);
    throw e;
  }
}

function mapArgs(params: readonly Param[], args: unknown, what: string): unknown[] {
  const convert = (values: readonly unknown[], where: (i: number) => string) =>
    params.map((p, i) => fromJson(p.sig, values[i], where(i)));
  const arity = () => new RosValueError(`${what} takes ${usage(params)}`);
  if (args === undefined || args === null) {
    if (params.every((p) => p.sig.kind === 'optional')) return params.map(() => null);
    throw arity();
  }
  if (Array.isArray(args)) {
    if (args.length !== params.length) throw arity();
    return convert(args, (i) => `args[${i}]`);
  }
  if (isObject(args)) {
    const keys = Object.keys(args);
    if (params.length === 0) {
      if (keys.length === 0) return [];
      throw arity();
    }
    const names = new Set(params.map((p) => p.name));
    if (
      keys.length > 0 &&
      keys.every((k) => names.has(k)) &&
      !(params.length === 1 && wantsObject(params[0].sig) && !(params[0].name in args))
    ) {
      return params.map((p) => {
        if (!(p.name in args) && p.sig.kind !== 'optional')
          throw new RosValueError(
            `${what}: the argument "${p.name}" (${describeType(p.sig)}) is missing; it takes ${usage(params)}`,
          );
        return fromJson(p.sig, args[p.name], `args.${p.name}`);
      });
    }
    if (
      params.length === 1 &&
      wantsObject(params[0].sig) &&
      !(keys.length === 1 && keys[0] === 'data' && params[0].sig.kind !== 'map')
    )
      return [fromJson(params[0].sig, args, 'args')];
    if (keys.length === 1 && keys[0] === 'data') {
      if (params.length === 1) return [fromJson(params[0].sig, args.data, 'args.data')];
      if (Array.isArray(args.data) && args.data.length === params.length)
        return convert(args.data, (i) => `args.data[${i}]`);
    }
    throw arity();
  }
  if (params.length === 1) return [fromJson(params[0].sig, args, 'args')];
  throw arity();
}

/**
 * A value a qi client passes to a ROS service as its request `args`: an object (struct, map) as is,
 * nothing as `{}`, anything else as `{"data": value}`.
 */
export function requestOf(value: unknown): Record<string, unknown> {
  const json = toJson(value);
  if (json === null) return {};
  return isObject(json) ? json : { data: json };
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
