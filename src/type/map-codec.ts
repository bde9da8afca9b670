/**
 * Maps (`{KV}`): a count, then key/value pairs. Scalar keys are sent in ascending order, as libqi's
 * std::map does; string keys are interned when read.
 */
import { checkCount } from './codec.js';
import { expected, within, type Node } from './node.js';
import type { Signature } from './signature.js';

const ORDERED_KEYS = new Set([
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
]);
type Key = string | number | bigint | boolean;

/**
 * Orders keys as libqi's std::map does: numbers by value, strings by their UTF-8 bytes. JS compares
 * strings by UTF-16 units, which differs only between surrogates and U+E000–U+FFFF: remap those.
 */
function compareKeys(a: Key, b: Key): number {
  if (typeof a === 'string' && typeof b === 'string') {
    if (a === b) return 0;
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      let x = a.charCodeAt(i),
        y = b.charCodeAt(i);
      if (x === y) continue;
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
    return a.length - b.length;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
const byKey = (a: [unknown, unknown], b: [unknown, unknown]) => compareKeys(a[0] as Key, b[0] as Key);

function keyStep(k: unknown): string {
  return typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint'
    ? `[${typeof k === 'string' ? JSON.stringify(k) : k}]`
    : '[<key>]';
}

export function mapNode(sig: Signature & { kind: 'map' }, key: Node, value: Node): Node {
  const ordered = ORDERED_KEYS.has(sig.key.kind);
  const stringKeys = sig.key.kind === 'string';
  const intKeys = ordered && !stringKeys && sig.key.kind !== 'bool';
  return {
    min: 4,
    write(w, v) {
      let entries: Iterable<[unknown, unknown]>;
      let n: number;
      if (v instanceof Map) {
        entries = v;
        n = v.size;
      } else if (v !== null && typeof v === 'object' && !Array.isArray(v) && (stringKeys || intKeys)) {
        const list = Object.entries(v);
        entries = intKeys ? list.map(([k, x]) => [Number(k), x]) : list;
        n = list.length;
      } else {
        return expected(stringKeys || intKeys ? 'a Map or a plain object' : 'a Map', v);
      }
      // libqi sends keys in ascending order (std::map); do the same for byte-identical output.
      if (ordered && n > 1 && !isSorted(entries)) entries = [...entries].sort(byKey);
      w.u32(n);
      for (const [k, x] of entries) {
        try {
          key.write(w, k);
        } catch (e) {
          throw within(e, `${keyStep(k)}<key>`);
        }
        try {
          value.write(w, x);
        } catch (e) {
          throw within(e, keyStep(k));
        }
      }
    },
    read(r) {
      const start = r.pos;
      const n = r.u32();
      checkCount(r, n, key.min + value.min, start, 'map');
      const out = new Map<unknown, unknown>();
      for (let i = 0; i < n; i++) {
        let k: unknown;
        try {
          k = stringKeys ? r.key() : key.read(r);
        } catch (e) {
          throw within(e, `[<key ${i}>]`);
        }
        try {
          out.set(k, value.read(r));
        } catch (e) {
          throw within(e, keyStep(k));
        }
      }
      return out;
    },
  };
}

function isSorted(entries: Iterable<[unknown, unknown]>): boolean {
  if (entries instanceof Map) return keysSorted(entries.keys());
  let prev: Key | undefined;
  let first = true;
  for (const [k] of entries) {
    if (!first && !ascending(prev as Key, k as Key)) return false;
    prev = k as Key;
    first = false;
  }
  return true;
}

function keysSorted(keys: Iterator<unknown>): boolean {
  let it = keys.next();
  if (it.done === true) return true;
  let prev = it.value as Key;
  while ((it = keys.next()).done !== true) {
    const k = it.value as Key;
    if (!ascending(prev, k)) return false;
    prev = k;
  }
  return true;
}

/** Lone or paired UTF-16 surrogates: only they make JS string order differ from UTF-8 byte order. */
const SURROGATE = /[\ud800-\udfff]/;

/** `compareKeys(a, b) < 0`, with the native string comparison when it is exact (no surrogate in `a`). */
function ascending(a: Key, b: Key): boolean {
  // At the first difference a[i] < b[i]: unless a[i] is a surrogate, UTF-8 orders the pair the same way.
  if (typeof a === 'string' && typeof b === 'string' && a < b && !SURROGATE.test(a)) return true;
  return compareKeys(a, b) < 0;
}
