/**
 * The binary codec: `compile(signature)` builds a tree of read/write functions once (cached), and
 * `encode`/`decode` run it. The wire layout of every type is libqi's (docs/types.md).
 */
import { QiValueError } from './errors.js';
import { inferSignature } from './infer.js';
import { SCALAR_NODES, expected, voidNode, type Node } from './node.js';
import { objectNode } from './object-codec.js';
import type { CodecOptions } from './options.js';
import { MAX_EMPTY_ELEMENTS, Reader } from './reader.js';
import { MAX_NESTING_DEPTH, parseSignature, printSignature, type Signature, type TupleSignature } from './signature.js';
import { Dynamic } from './value.js';
import { Writer } from './writer.js';


/** Options of a decode. */
export interface DecodeOptions extends CodecOptions {
  /** Accept bytes left over after the value (libqi ignores them in payloads). Default `false`. */
  allowTrailing?: boolean;
}

/** Options of an encode. */
export interface EncodeOptions extends CodecOptions {
  /** Name of the value in error paths, e.g. `args` gives `args[1].x`. Default `value`. */
  name?: string;
}

/** A signature compiled for repeated use. */
export interface Codec<T = unknown> {
  /** The signature text, as printed. */
  readonly signature: string;
  /** The parsed signature. */
  readonly type: Signature;
  /** Fewest bytes a value of this type takes. */
  readonly min: number;
  /** Encodes one value. @throws {@link QiValueError} naming the path of the part that does not fit. */
  encode(value: T, options?: EncodeOptions): Buffer;
  /** Decodes one value. @throws {@link QiDecodeError} naming the byte offset and the path. */
  decode(bytes: Uint8Array, options?: DecodeOptions): T;
  /** Appends one value to a writer (for building messages without intermediate buffers). */
  write(w: Writer, value: T): void;
  /** Reads one value from a reader. */
  read(r: Reader): T;
}

type PathErr = { within(step: string): unknown };
function within(e: unknown, step: string): unknown {
  if (e instanceof Error && 'within' in e) (e as unknown as PathErr).within(step);
  return e;
}

function checkCount(r: Reader, n: number, min: number, start: number, what: string): void {
  if (min > 0) {
    if (n * min > r.end - r.pos) r.fail(`a ${what} claims ${n} elements but only ${r.end - r.pos} bytes remain`, start);
  } else if ((r.emptyBudget -= n) < 0) {
    // Zero-size elements take no bytes, so only a count bounds them, across all nested lists of one decode.
    r.fail(`a ${what} claims ${n} elements of a zero-size type, over the ${MAX_EMPTY_ELEMENTS} such elements allowed in one value`, start);
  }
}

function listNode(el: Node): Node {
  return {
    min: 4,
    write(w, v) {
      if (!Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView))) expected('an array', v);
      const a = v as ArrayLike<unknown>;
      const n = a.length;
      w.u32(n);
      let i = 0;
      try {
        for (; i < n; i++) el.write(w, a[i]);
      } catch (e) {
        throw within(e, `[${i}]`);
      }
    },
    read(r) {
      const start = r.pos;
      const n = r.u32();
      checkCount(r, n, el.min, start, 'list');
      const out: unknown[] = [];
      let i = 0;
      try {
        for (; i < n; i++) out.push(el.read(r));
      } catch (e) {
        throw within(e, `[${i}]`);
      }
      return out;
    },
  };
}

const ORDERED_KEYS = new Set(['bool', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'float', 'double', 'string']);
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
      let x = a.charCodeAt(i), y = b.charCodeAt(i);
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
  return typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint' ? `[${typeof k === 'string' ? JSON.stringify(k) : k}]` : '[<key>]';
}

function mapNode(sig: Signature & { kind: 'map' }, key: Node, value: Node): Node {
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
  let prev: Key | undefined;
  let first = true;
  for (const [k] of entries) {
    if (!first && compareKeys(prev as Key, k as Key) >= 0) return false;
    prev = k as Key;
    first = false;
  }
  return true;
}

function tupleNode(sig: TupleSignature, members: Node[]): Node {
  const n = members.length;
  const min = members.reduce((s, m) => s + m.min, 0);
  const fields = sig.fields;
  const shape = `(${sig.members.map(printSignature).join('')})`;
  if (fields === undefined) {
    return {
      min,
      write(w, v) {
        if (!Array.isArray(v) || v.length !== n) expected(`an array of ${n} members for tuple ${shape}`, v);
        let i = 0;
        try {
          for (; i < n; i++) members[i].write(w, v[i]);
        } catch (e) {
          throw within(e, `[${i}]`);
        }
      },
      read(r) {
        const out = new Array<unknown>(n);
        let i = 0;
        try {
          for (; i < n; i++) out[i] = members[i].read(r);
        } catch (e) {
          throw within(e, `[${i}]`);
        }
        return out;
      },
    };
  }
  const steps = fields.map((f) => (/^[A-Za-z_$][\w$]*$/.test(f) ? `.${f}` : `[${JSON.stringify(f)}]`));
  return {
    min,
    write(w, v) {
      if (Array.isArray(v)) {
        if (v.length !== n) expected(`an object with fields ${fields.join(', ')} (or an array of ${n}) for struct ${sig.name}`, v);
      } else if (v === null || typeof v !== 'object') {
        expected(`an object with fields ${fields.join(', ')} for struct ${sig.name}`, v);
      }
      const obj = v as Record<string, unknown>;
      const positional = Array.isArray(v);
      let i = 0;
      try {
        for (; i < n; i++) members[i].write(w, positional ? obj[i] : obj[fields[i]]);
      } catch (e) {
        if (!positional && obj[fields[i]] === undefined && e instanceof QiValueError) {
          throw new QiValueError(`missing field "${fields[i]}" of struct ${sig.name} (fields: ${fields.join(', ')})`).within(steps[i]);
        }
        throw within(e, steps[i]);
      }
    },
    read: structReader(fields, members, steps),
  };
}

/**
 * Builds the struct reader as generated code when the platform allows it: an object literal with fixed
 * keys gives V8 one hidden class per struct, much faster than adding properties one by one.
 */
function structReader(fields: readonly string[], members: Node[], steps: string[]): (r: Reader) => unknown {
  const wrap = (e: unknown, i: number) => within(e, steps[i]);
  try {
    const props = fields
      .map((f, k) => `${f === '__proto__' ? `[${JSON.stringify(f)}]` : JSON.stringify(f)}: (i = ${k}, m${k}.read(r))`)
      .join(', ');
    const body = `return function readStruct(r) { let i = 0; try { return { ${props} }; } catch (e) { throw wrap(e, i); } };`;
    return new Function(...members.map((_, k) => `m${k}`), 'wrap', body)(...members, wrap);
  } catch {
    // No code generation (e.g. a page with a strict Content-Security-Policy): build objects in a loop.
    return (r) => {
      const out: Record<string, unknown> = {};
      let i = 0;
      try {
        for (; i < fields.length; i++) Object.defineProperty(out, fields[i], { value: members[i].read(r), enumerable: true, writable: true, configurable: true });
      } catch (e) {
        throw wrap(e, i);
      }
      return out;
    };
  }
}

function optionalNode(el: Node): Node {
  return {
    min: 1,
    write(w, v) {
      if (v === null || v === undefined) return w.u8(0);
      w.u8(1);
      el.write(w, v);
    },
    read: (r) => (r.u8() !== 0 ? el.read(r) : null),
  };
}

/** One-character scalar signatures by character code, for the dynamic fast path (void excluded: it is a constant). */
const SCALAR_DYNAMICS: ({ signature: string; node: Node } | undefined)[] = [];
for (const c of 'bcCwWiIlLfdsr') SCALAR_DYNAMICS[c.charCodeAt(0)] = { signature: c, node: SCALAR_NODES[c] };

const dynamicNode: Node = {
  min: 4,
  write(w, v) {
    let sig: string;
    let value: unknown;
    if (v instanceof Dynamic) {
      sig = v.signature;
      value = v.value;
    } else {
      sig = inferSignature(v);
      value = v;
    }
    if (sig.length === 1) {
      // Scalars are most dynamics (capability maps, ALMemory values): skip the lookup and the string codec.
      const leaf = SCALAR_NODES[sig];
      if (leaf !== undefined) {
        w.ensure(5);
        w.u32(1);
        w.u8(sig.charCodeAt(0));
        return leaf.write(w, value);
      }
    }
    if (sig === '') return w.u32(0);
    const node = compileNode(sig);
    w.string(sig);
    node.write(w, value);
  },
  read(r) {
    const start = r.pos;
    const b = r.buf, p = r.pos;
    if (r.end - p >= 5 && b[p] === 1 && b[p + 1] === 0 && b[p + 2] === 0 && b[p + 3] === 0) {
      const leaf = SCALAR_DYNAMICS[b[p + 4]];
      if (leaf !== undefined) {
        r.pos = p + 5;
        return new Dynamic(leaf.signature, leaf.node.read(r));
      }
    }
    const sig = r.key();
    if (typeof sig !== 'string') return r.fail('the signature of a dynamic value is not valid UTF-8', start);
    if (sig === '') return Dynamic.EMPTY;
    if (sig === 'v') return Dynamic.VOID;
    let node: Node;
    try {
      node = compileNode(sig);
    } catch (e) {
      return r.fail(`a dynamic value has an invalid signature: ${(e as Error).message}`, start);
    }
    // Count the depth of the contained type too: dynamics inside containers inside dynamics add up.
    const depth = depthOf(sig);
    if ((r.depth += depth) > MAX_NESTING_DEPTH) r.fail(`dynamic values nest deeper than ${MAX_NESTING_DEPTH} levels`, start);
    try {
      return new Dynamic(sig, node.read(r));
    } finally {
      r.depth -= depth;
    }
  },
};

const depths = new Map<string, number>();

/** Nesting depth of a type: 1 for a scalar, one more for each container around it. */
function depthOf(text: string): number {
  let d = depths.get(text);
  if (d === undefined) {
    const walk = (s: Signature): number => {
      switch (s.kind) {
        case 'list':
        case 'varargs':
        case 'kwargs':
        case 'optional':
          return 1 + walk(s.element);
        case 'map':
          return 1 + Math.max(walk(s.key), walk(s.value));
        case 'tuple':
          return 1 + s.members.reduce((m, x) => Math.max(m, walk(x)), 0);
        default:
          return 1;
      }
    };
    d = walk(parseSignature(text));
    if (depths.size > 10_000) depths.clear();
    depths.set(text, d);
  }
  return d;
}

function unserializable(what: string): Node {
  return {
    min: 0,
    write() {
      throw new QiValueError(`${what} cannot be serialized`);
    },
    read: (r) => r.fail(`${what} cannot be deserialized`),
  };
}

const nodes = new Map<string, Node>();

function build(sig: Signature): Node {
  switch (sig.kind) {
    case 'list':
    case 'varargs':
      return listNode(node(sig.element));
    case 'map':
      return mapNode(sig, node(sig.key), node(sig.value));
    case 'tuple':
      return sig.members.length === 0 && sig.fields === undefined ? { ...voidNode, write: emptyTupleWrite, read: () => [] } : tupleNode(sig, sig.members.map(node));
    case 'optional':
      return optionalNode(node(sig.element));
    case 'kwargs':
      return unserializable('a keyword-arguments type (~)');
    case 'dynamic':
      return dynamicNode;
    case 'object':
      return objectNode;
    default:
      return SCALAR_NODES[printSignature({ kind: sig.kind })];
  }
}

function emptyTupleWrite(_w: Writer, v: unknown): void {
  if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) expected('an empty array for tuple ()', v);
}

function node(sig: Signature): Node {
  const text = printSignature(sig);
  let n = nodes.get(text);
  if (n === undefined) {
    n = build(sig);
    cacheNode(text, n);
  }
  return n;
}

function cacheNode(text: string, n: Node): void {
  if (nodes.size > 10_000) nodes.clear(); // bound the cache against signatures invented by peers
  nodes.set(text, n);
}

/** Compiles signature text to its node (cached). @throws {@link QiSignatureError} */
export function compileNode(text: string): Node {
  let n = nodes.get(text);
  if (n === undefined) {
    n = node(parseSignature(text));
    cacheNode(text, n);
  }
  return n;
}

const codecs = new Map<string, Codec>();

/**
 * Compiles a signature for repeated use; compiling the same signature again returns the cached codec.
 * @throws {@link QiSignatureError} when the signature is malformed.
 */
export function compile<T = unknown>(signature: string | Signature): Codec<T> {
  const text = typeof signature === 'string' ? signature : printSignature(signature);
  let codec = codecs.get(text);
  if (codec === undefined) {
    const type = typeof signature === 'string' ? parseSignature(text) : signature;
    const n = compileNode(text);
    codec = {
      signature: text,
      type,
      min: n.min,
      write: (w, v) => n.write(w, v),
      read: (r) => n.read(r),
      encode(value, options) {
        const w = new Writer(options);
        try {
          n.write(w, value);
        } catch (e) {
          if (e instanceof QiValueError) e.at(options?.name ?? 'value', text);
          throw e;
        }
        return w.finish();
      },
      decode(bytes, options) {
        const r = new Reader(bytes, options);
        let v: unknown;
        try {
          v = n.read(r);
          if (!options?.allowTrailing && r.pos !== r.end) r.fail(`${r.end - r.pos} bytes are left after the value`);
        } catch (e) {
          if (e instanceof Error && 'at' in e) (e as unknown as { at(a: string, b: string): void }).at('value', text);
          throw e;
        }
        return v;
      },
    };
    if (codecs.size > 10_000) codecs.clear();
    codecs.set(text, codec);
  }
  return codec as Codec<T>;
}

/**
 * Encodes `value` with `signature`.
 * @throws {@link QiSignatureError} for a malformed signature, {@link QiValueError} for a value that does not fit.
 */
export function encode(signature: string | Signature, value: unknown, options?: EncodeOptions): Buffer {
  return compile(signature).encode(value, options);
}

/**
 * Decodes one value of `signature` from `bytes`. Raw (`r`) values are views on `bytes`, not copies.
 * @throws {@link QiSignatureError} for a malformed signature, {@link QiDecodeError} for bad bytes.
 */
export function decode<T = unknown>(signature: string | Signature, bytes: Uint8Array, options?: DecodeOptions): T {
  return compile<T>(signature).decode(bytes, options);
}

