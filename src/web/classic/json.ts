/**
 * qi values ↔ the JSON of the classic browser API, as NAOqi's Python bridge wrote them (its values went
 * through libqi-python, then `json.dumps`): structs are arrays of their fields (Python tuples), maps are
 * objects, raw bytes are arrays of byte values (API 2) or base64 text (API 1.0), dynamics are their value,
 * 64-bit integers are numbers, objects are `{ pyobject, metaobject }`. The rules are in docs/web-classic.md.
 */
import { backendOf } from '../../object/index.js';
import { ObjectReference, toJsonValue, type JsonOptions, type MetaObject, type Signature } from '../../type/index.js';

/** How values are written for one API version. */
export interface JsonRules {
  /** Raw bytes as an array of numbers (API 2) or base64 text (API 1.0). */
  raw: 'array' | 'base64';
  /** Structs as arrays of their fields (the classic API's way, default) or as objects by field name. */
  structs: 'array' | 'object';
  /** Keeps an object (a proxy) for later calls and gives its id (`pyobject`). */
  keep(proxy: object): number;
}

/** The MetaObject as libqi-python gave it: members keyed by uid (JSON object keys are text). */
export function metaObjectJson(meta: MetaObject): Record<string, unknown> {
  const byUid = <T extends { uid: number }>(m: Map<number, T>) =>
    Object.fromEntries([...m].map(([uid, v]) => [String(uid), { ...v }]));
  return {
    methods: byUid(meta.methods),
    signals: byUid(meta.signals),
    properties: byUid(meta.properties),
    description: meta.description,
  };
}

/** A qi value (as decoded by this library) in the classic API's JSON. */
export function toJson(value: unknown, rules: JsonRules): unknown {
  return toJsonValue(value, optionsOf(rules));
}

/** {@link JsonRules} in the terms of {@link toJsonValue} (made per call: the rules may change between calls). */
function optionsOf(rules: JsonRules): JsonOptions {
  const options: JsonOptions = {
    bigint: 'number',
    strict: true,
    typedArrays: true,
    structs: rules.structs,
    // Strings that are not UTF-8 are decoded as bytes too; the classic API only knew text for them.
    bytes:
      rules.raw === 'base64'
        ? (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64')
        : (b) => Array.from(b),
    mapKey: (k) =>
      typeof k === 'string' ? k : typeof k === 'object' ? JSON.stringify(toJsonValue(k, options)) : String(k),
    object: (v) => {
      const backend = backendOf(v);
      if (backend !== undefined)
        return { pyobject: rules.keep(v), metaobject: metaObjectJson(backend.type.metaObject) };
      return v instanceof ObjectReference ? null : undefined; // never reaches here with object references enabled
    },
  };
  return options;
}

function bytesOf(v: unknown): unknown {
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && b >= 0 && b < 256)) return Buffer.from(v as number[]);
  // A Node Buffer as JSON.stringify writes it.
  if (
    typeof v === 'object' &&
    v !== null &&
    (v as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((v as { data?: unknown }).data)
  )
    return Buffer.from((v as { data: number[] }).data);
  return v;
}

/**
 * A JSON value made fit for `sig` where JSON cannot say it directly: raw bytes from an array of byte
 * values or base64 text. Everything else is left to the codec, which accepts structs as arrays or
 * objects, maps as objects, 64-bit integers as safe numbers, and reports what does not fit.
 */
export function fromJson(sig: Signature, value: unknown): unknown {
  switch (sig.kind) {
    case 'raw':
      return bytesOf(value);
    case 'list':
    case 'varargs':
      return Array.isArray(value) ? value.map((v) => fromJson(sig.element, v)) : value;
    case 'optional':
      return value === null || value === undefined ? value : fromJson(sig.element, value);
    case 'map':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJson(sig.value, v)]));
    case 'tuple': {
      if (Array.isArray(value))
        return value.length === sig.members.length ? value.map((v, i) => fromJson(sig.members[i], v)) : value;
      if (typeof value !== 'object' || value === null || sig.fields === undefined) return value;
      const o = value as Record<string, unknown>;
      return Object.fromEntries(sig.fields.map((f, i) => [f, fromJson(sig.members[i], o[f])]));
    }
    default:
      return value;
  }
}
