/**
 * The binary codec: `compile(signature)` builds a tree of read/write functions once (cached), and
 * `encode`/`decode` run it. The wire layout of every type is libqi's (docs/types.md).
 */
import { QiValueError, annotate } from './errors.js';
import { dynamicNode } from './dynamic-codec.js';
import { mapNode } from './map-codec.js';
import { expected, SCALAR_NODES, voidNode, within, type Node } from './node.js';
import { objectNode } from './object-codec.js';
import type { CodecOptions } from './options.js';
import { MAX_EMPTY_ELEMENTS, Reader } from './reader.js';
import { parseSignature, printSignature, type Signature, type TupleSignature } from './signature.js';
import { SignatureCache } from './signature-cache.js';
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
  /** Decodes one value from `bytes[start, end)`, ignoring bytes left after it (as libqi does with payloads). */
  decodeLenient(bytes: Uint8Array, options?: CodecOptions, start?: number, end?: number): T;
  /** Appends one value to a writer (for building messages without intermediate buffers). */
  write(w: Writer, value: T): void;
  /** Reads one value from a reader. */
  read(r: Reader): T;
}

export function checkCount(r: Reader, n: number, min: number, start: number, what: string): void {
  if (min > 0) {
    if (n * min > r.end - r.pos) r.fail(`a ${what} claims ${n} elements but only ${r.end - r.pos} bytes remain`, start);
  } else if ((r.emptyBudget -= n) < 0) {
    // Zero-size elements take no bytes, so only a count bounds them, across all nested lists of one decode.
    r.fail(
      `a ${what} claims ${n} elements of a zero-size type, over the ${MAX_EMPTY_ELEMENTS} such elements allowed in one value`,
      start,
    );
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

function tupleNode(sig: TupleSignature, members: Node[]): Node {
  const n = members.length;
  const min = members.reduce((s, m) => s + m.min, 0);
  const fields = sig.fields;
  const shape = () => `(${sig.members.map(printSignature).join('')})`;
  if (fields === undefined) {
    return {
      min,
      write(w, v) {
        if (!Array.isArray(v) || v.length !== n) expected(`an array of ${n} members for tuple ${shape()}`, v);
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
  // Field names that objects inherit (constructor, __proto__, toString…) must be own properties to count.
  const inherited = fields.map((f) => f in Object.prototype);
  const required = sig.members.map((m) => m.kind !== 'optional' && m.kind !== 'void' && m.kind !== 'none');
  const field = (obj: Record<string, unknown>, i: number) =>
    inherited[i] && !Object.hasOwn(obj, fields[i]) ? undefined : obj[fields[i]];
  return {
    min,
    write(w, v) {
      if (Array.isArray(v)) {
        if (v.length !== n)
          expected(`an object with fields ${fields.join(', ')} (or an array of ${n}) for struct ${sig.name}`, v);
      } else if (v === null || typeof v !== 'object') {
        expected(`an object with fields ${fields.join(', ')} for struct ${sig.name}`, v);
      }
      const obj = v as Record<string, unknown>;
      const positional = Array.isArray(v);
      let i = 0;
      try {
        for (; i < n; i++) {
          const x = positional ? obj[i] : field(obj, i);
          // A missing field is an error even where undefined would encode (a dynamic would send void).
          if (x === undefined && required[i]) throw new QiValueError('missing');
          members[i].write(w, x);
        }
      } catch (e) {
        if ((positional ? obj[i] : field(obj, i)) === undefined && e instanceof QiValueError) {
          throw new QiValueError(
            `missing field "${fields[i]}" of struct ${sig.name} (fields: ${fields.join(', ')})`,
          ).within(steps[i]);
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
        for (; i < fields.length; i++)
          Object.defineProperty(out, fields[i], {
            value: members[i].read(r),
            enumerable: true,
            writable: true,
            configurable: true,
          });
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

function unserializable(what: string): Node {
  return {
    min: 0,
    write() {
      throw new QiValueError(`${what} cannot be serialized`);
    },
    read: (r) => r.fail(`${what} cannot be deserialized`),
  };
}

const nodes = new SignatureCache<Node>();

/** Builds the node of a type. Subtrees are not cached by text: printing each would make deep types quadratic. */
function build(sig: Signature): Node {
  switch (sig.kind) {
    case 'list':
    case 'varargs':
      return listNode(build(sig.element));
    case 'map':
      return mapNode(sig, build(sig.key), build(sig.value));
    case 'tuple':
      return sig.members.length === 0 && sig.fields === undefined
        ? { ...voidNode, write: emptyTupleWrite, read: () => [] }
        : tupleNode(sig, sig.members.map(build));
    case 'optional':
      return optionalNode(build(sig.element));
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
  if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
    expected('an empty array for tuple ()', v);
}

/** Compiles signature text to its node (cached). @throws {@link QiSignatureError} */
export function compileNode(text: string): Node {
  let n = nodes.get(text);
  if (n === undefined) {
    n = build(parseSignature(text));
    nodes.set(text, n);
  }
  return n;
}

const codecs = new SignatureCache<Codec>();
/**
 * Encodes of values of a few kB write into a shared buffer, one after the other (as Node's Buffer pool does
 * for smaller ones): no allocation each, and a live output keeps at most 8 times its size alive.
 */
const POOL_SIZE = 32 * 1024;
/** Values whose type's last encode was smaller than this use a buffer of their own. */
const MIN_POOLED = 4 * 1024;
/** The most room an encode asks of the pool (values larger than that grow their own buffer). */
const MAX_SIZE_HINT = 16 * 1024;
/** The pool; `undefined` while an encode writes into it. */
let pool: Buffer | undefined = Buffer.allocUnsafe(POOL_SIZE);
let poolPos = 0;

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
    let lastSize = 256;
    const read = (
      bytes: Uint8Array,
      options: CodecOptions | undefined,
      strict: boolean,
      start = 0,
      end = bytes.length,
    ): unknown => {
      const r = new Reader(bytes, options, start, end);
      try {
        const v = n.read(r);
        if (strict && r.pos !== r.end) r.fail(`${r.end - r.pos} bytes are left after the value`);
        return v;
      } catch (e) {
        throw annotate(e, 'value', text);
      }
    };
    codec = {
      signature: text,
      type,
      min: n.min,
      write: (w, v) => n.write(w, v),
      read: (r) => n.read(r),
      encode(value, options) {
        // Write into the shared pool, unless an encode that is already writing there called this one (a hook).
        // Small values need no pool: Node's Buffer.allocUnsafe has one for them.
        let buf = lastSize >= MIN_POOLED ? pool : undefined;
        let at = poolPos;
        if (buf !== undefined) {
          if (buf.length - at < lastSize) {
            buf = Buffer.allocUnsafe(POOL_SIZE);
            at = 0;
          }
          pool = undefined;
        }
        const w = buf === undefined ? new Writer(options, lastSize) : new Writer(options, 0, at, buf);
        let out: Buffer | undefined;
        try {
          n.write(w, value);
          out = w.finish();
        } catch (e) {
          throw annotate(e, options?.name ?? 'value', text);
        } finally {
          // The output is a view on the pool unless the writer outgrew it or failed: then that part is free again.
          if (buf !== undefined) {
            pool = buf;
            poolPos = out !== undefined && w.buf === buf ? (w.pos + 7) & ~7 : at;
          }
        }
        lastSize = Math.min(Math.max(out.length, 256), MAX_SIZE_HINT);
        return out;
      },
      decode(bytes, options) {
        return read(bytes, options, !options?.allowTrailing);
      },
      decodeLenient(bytes, options, start, end) {
        return read(bytes, options, false, start, end);
      },
    };
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
