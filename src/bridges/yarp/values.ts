/**
 * qi values ↔ YARP Bottle values (docs/bridges.md, "YARP", type mapping).
 *
 * qi → Bottle, by the qi signature: bool → YARP's boolean vocab (`true`/`false`), int8 → int8, uint8 and
 * int16 → int16, uint16 and int32 → int32, uint32, int64 and uint64 → int32 when they fit, else int64;
 * float → float32, double → float64, string → string, raw → blob, lists and tuples → lists, structs
 * and maps → lists of `(key value)` pairs (as YARP's Property reads them), optionals → their value or
 * `()`, dynamics → their value. Objects do not fit (an error names where).
 *
 * Bottle → qi, by the qi signature expected (method arguments): integers of any size in range, numbers
 * for floats, strings or vocabs for strings, blobs (or lists of bytes) for raw, lists for lists and
 * tuples, `(key value)` pairs or positional lists for structs, pairs for maps, `()` for an empty
 * optional; with no signature (a dynamic), each Bottle value keeps its own type.
 */
import { QiError } from '../../errors/index.js';
import { Dynamic, parseSignature, printSignature, type Signature } from '../../type/index.js';
import { describeType } from '../ros/json.js';
import type { BottleValue } from './bottle.js';
import { bottleText } from './bottle-text.js';

const MAX_DEPTH = 32;
const I32 = 2n ** 31n;

const notFit = (where: string, m: string) => new QiError('ERR_QI_VALUE', `${where}: ${m}`);

function integer(n: bigint, where: string, sig: Signature): BottleValue {
  if (n >= -I32 && n < I32) return { t: 'int32', v: Number(n) };
  if (n >= -(2n ** 63n) && n < 2n ** 63n) return { t: 'int64', v: n };
  throw notFit(where, `${printSignature(sig)} ${n} does not fit YARP's int64`);
}

/** A qi value of signature `sig` as a Bottle value. @throws QiError `ERR_QI_VALUE` naming `where` */
export function toBottleValue(sig: Signature, v: unknown, where: string, depth = 0): BottleValue {
  if (depth > MAX_DEPTH) throw notFit(where, `nests deeper than ${MAX_DEPTH} levels`);
  const inner = (s: Signature, x: unknown, w: string) => toBottleValue(s, x, w, depth + 1);
  switch (sig.kind) {
    case 'bool':
      return { t: 'vocab', v: v ? '1' : '' };
    case 'int8':
      return { t: 'int8', v: Number(v) };
    case 'uint8':
    case 'int16':
      return { t: 'int16', v: Number(v) };
    case 'uint16':
    case 'int32':
      return { t: 'int32', v: Number(v) };
    case 'uint32':
    case 'int64':
    case 'uint64':
      return integer(BigInt(v as number | bigint), where, sig);
    case 'float':
      return { t: 'float32', v: Number(v) };
    case 'double':
      return { t: 'float64', v: Number(v) };
    case 'string':
      return { t: 'string', v: String(v) };
    case 'raw': {
      const b = v as Uint8Array;
      return { t: 'blob', v: Buffer.from(b.buffer, b.byteOffset, b.byteLength) };
    }
    case 'void':
    case 'none':
      return { t: 'list', v: [] };
    case 'optional':
      return v === null || v === undefined ? { t: 'list', v: [] } : inner(sig.element, v, where);
    case 'list':
    case 'varargs':
      return { t: 'list', v: [...(v as Iterable<unknown>)].map((x, i) => inner(sig.element, x, `${where}[${i}]`)) };
    case 'map':
      return {
        t: 'list',
        v: [...(v as Map<unknown, unknown>)].map(([k, x]) => ({
          t: 'list' as const,
          v: [inner(sig.key, k, `${where} (key)`), inner(sig.value, x, `${where}[${String(k)}]`)],
        })),
      };
    case 'tuple': {
      const fields = sig.fields;
      if (!fields) return { t: 'list', v: sig.members.map((m, i) => inner(m, (v as unknown[])[i], `${where}[${i}]`)) };
      const o = v as Record<string, unknown>;
      return {
        t: 'list',
        v: fields.map((f, i) => ({
          t: 'list' as const,
          v: [{ t: 'string' as const, v: f }, inner(sig.members[i], o[f], `${where}.${f}`)],
        })),
      };
    }
    case 'dynamic': {
      const d = v instanceof Dynamic ? v : undefined;
      if (!d || d.signature === '' || d.signature === 'v') return { t: 'list', v: [] };
      return inner(parseSignature(d.signature), d.value, where);
    }
    default:
      throw notFit(where, `a qi ${printSignature(sig)} (${sig.kind}) has no YARP form`);
  }
}

const isInt = (x: BottleValue): x is Extract<BottleValue, { t: 'int8' | 'int16' | 'int32' | 'int64' }> =>
  x.t === 'int8' || x.t === 'int16' || x.t === 'int32' || x.t === 'int64';

const RANGES: Record<string, [bigint, bigint]> = {
  int8: [-128n, 127n],
  uint8: [0n, 255n],
  int16: [-32768n, 32767n],
  uint16: [0n, 65535n],
  int32: [-I32, I32 - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function show(x: BottleValue): string {
  const text = bottleText([x]);
  return `${x.t} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

/**
 * A Bottle value as the JS value of the qi signature `sig`.
 * @throws QiError `ERR_QI_VALUE` naming `where`, the type expected and the value received
 */
export function fromBottleValue(sig: Signature, x: BottleValue, where: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw notFit(where, `nests deeper than ${MAX_DEPTH} levels`);
  const fail = (hint = ''): never => {
    throw notFit(where, `expected ${describeType(sig).replace(/ \(base64.*\)$/, '')}, got ${show(x)}${hint}`);
  };
  const inner = (s: Signature, y: BottleValue, w: string) => fromBottleValue(s, y, w, depth + 1);
  switch (sig.kind) {
    case 'bool':
      if (x.t === 'vocab' && (x.v === '1' || x.v === '')) return x.v === '1';
      if (isInt(x) && (Number(x.v) === 0 || Number(x.v) === 1)) return Number(x.v) === 1;
      return fail(' (true, false, 0 or 1)');
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'uint64': {
      if (!isInt(x)) return fail();
      const n = BigInt(x.v);
      const [lo, hi] = RANGES[sig.kind];
      if (n < lo || n > hi) return fail(` (out of range ${lo}…${hi})`);
      return sig.kind === 'int64' || sig.kind === 'uint64' ? n : Number(n);
    }
    case 'float':
    case 'double':
      if (x.t === 'float32' || x.t === 'float64') return x.v;
      return isInt(x) ? Number(x.v) : fail();
    case 'string':
      return x.t === 'string' || x.t === 'vocab' ? x.v : fail();
    case 'raw':
      if (x.t === 'blob') return x.v;
      if (x.t === 'list' && x.v.every((b) => isInt(b) && Number(b.v) >= 0 && Number(b.v) <= 255))
        return Buffer.from(x.v.map((b) => Number(b.v)));
      return fail();
    case 'optional':
      return x.t === 'list' && x.v.length === 0 ? null : inner(sig.element, x, where);
    case 'list':
    case 'varargs':
      return x.t === 'list' ? x.v.map((y, i) => inner(sig.element, y, `${where}[${i}]`)) : fail();
    case 'map': {
      if (x.t !== 'list') return fail();
      const out = new Map<unknown, unknown>();
      x.v.forEach((p, i) => {
        if (p.t !== 'list' || p.v.length !== 2) fail(` (a map is a list of (key value) pairs; element ${i} is not)`);
        const [k, y] = p.v as BottleValue[];
        out.set(inner(sig.key, k, `${where}[${i}] (key)`), inner(sig.value, y, `${where}[${i}]`));
      });
      return out;
    }
    case 'tuple': {
      if (x.t !== 'list') return fail();
      const fields = sig.fields;
      const pairs =
        fields &&
        x.v.length > 0 &&
        x.v.every((p) => p.t === 'list' && p.v.length === 2 && p.v[0].t === 'string' && fields.includes(p.v[0].v));
      if (pairs) {
        const got = new Map((x.v as { v: BottleValue[] }[]).map((p) => [p.v[0].v as string, p.v[1]]));
        return Object.fromEntries(
          fields.map((f, i) => {
            const y = got.get(f);
            if (y === undefined) {
              if (sig.members[i].kind === 'optional') return [f, null];
              throw notFit(where, `the field "${f}" (${describeType(sig.members[i])}) is missing`);
            }
            return [f, inner(sig.members[i], y, `${where}.${f}`)];
          }),
        );
      }
      if (x.v.length !== sig.members.length) return fail(` (${sig.members.length} elements)`);
      const members = x.v.map((y, i) => inner(sig.members[i], y, `${where}[${i}]`));
      return fields ? Object.fromEntries(fields.map((f, i) => [f, members[i]])) : members;
    }
    case 'dynamic':
      return bottleDynamic(x, depth);
    case 'void':
    case 'none':
      return undefined;
    default:
      throw notFit(where, `a qi ${printSignature(sig)} cannot be sent from YARP`);
  }
}

const DYN: Record<string, string> = { int8: 'c', int16: 'w', int32: 'i', int64: 'l', float32: 'f', float64: 'd' };

/** A Bottle value as a qi dynamic keeping its own type: booleans as bool, lists as lists of dynamics. */
export function bottleDynamic(x: BottleValue, depth = 0): Dynamic {
  if (depth > MAX_DEPTH) throw new QiError('ERR_QI_VALUE', `a YARP value nests deeper than ${MAX_DEPTH} levels`);
  switch (x.t) {
    case 'string':
      return new Dynamic('s', x.v);
    case 'vocab':
      return x.v === '1' || x.v === '' ? new Dynamic('b', x.v === '1') : new Dynamic('s', x.v);
    case 'blob':
      return new Dynamic('r', x.v);
    case 'list':
      return new Dynamic(
        '[m]',
        x.v.map((y) => bottleDynamic(y, depth + 1)),
      );
    default:
      return new Dynamic(DYN[x.t], x.v);
  }
}
