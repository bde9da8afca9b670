/**
 * Finds the object references (`o`) in encoded bytes without decoding them into values: a walk of the
 * bytes by signature that skips strings and raw data by their length, fixed-size data (numbers, structs
 * of numbers, lists of them) in one step, and reads only the signatures of dynamic values. It counts its
 * work against a budget, so a peer cannot make it spend more than a bounded time on one payload, and it
 * is as strict as the decoder on malformed input (bounds, counts, nesting depth).
 *
 * Used where references must be seen or rewritten in bytes that are otherwise passed through (the
 * gateway): a reference's ids sit at a known offset, so rewriting one is patching four bytes.
 */
import { isUtf8 } from 'node:buffer';
import { QiError } from '../errors/index.js';
import { QiDecodeError } from './errors.js';
import { MAX_EMPTY_ELEMENTS } from './reader.js';
import { MAX_NESTING_DEPTH, parseSignature, type Signature } from './signature.js';
import { SignatureCache } from './signature-cache.js';
import { METAOBJECT_SIGNATURE } from './value.js';
import type { CodecOptions } from './options.js';

/** One non-null object reference found in the bytes. */
export interface ReferenceSite {
  /** Offset of the reference's `uint32 serviceId` in the scanned bytes; its `uint32 objectId` follows. */
  readonly offset: number;
  readonly serviceId: number;
  readonly objectId: number;
}

/** The scan would take more work than its budget allowed. */
export class QiScanBudgetError extends QiError {
  constructor(readonly budget: number) {
    super(
      'ERR_QI_LIMIT',
      `searching the value for object references takes more than ${budget} steps (values visited, plus the characters of dynamic values' signatures)`,
    );
  }
}

/** What the scan does with a type: skip a fixed size, skip a sized run, or walk it. */
const enum K {
  Fixed,
  Sized,
  List,
  Map,
  Tuple,
  Optional,
  Dynamic,
  Object,
  Invalid,
}

interface Plan {
  readonly k: K;
  /** Byte size of a Fixed type; fewest bytes of any other. */
  readonly size: number;
  /** Nesting depth, counted as the decoder counts it for dynamic values. */
  readonly depth: number;
  readonly el?: Plan;
  readonly key?: Plan;
  readonly members?: readonly Plan[];
  /** Why an Invalid type cannot be on the wire. */
  readonly what?: string;
}

const FIXED: Record<string, number> = { v: 0, _: 0, b: 1, c: 1, C: 1, w: 2, W: 2, i: 4, I: 4, l: 8, L: 8, f: 4, d: 8 };

function plan(s: Signature): Plan {
  switch (s.kind) {
    case 'string':
    case 'raw':
      return { k: K.Sized, size: 4, depth: 1 };
    case 'dynamic':
      return { k: K.Dynamic, size: 4, depth: 1 };
    case 'object':
      return { k: K.Object, size: 24, depth: 1 };
    case 'unknown':
      return { k: K.Invalid, size: 0, depth: 1, what: 'type X (a type unknown to its owner)' };
    case 'kwargs':
      return { k: K.Invalid, size: 0, depth: 1, what: 'a keyword-arguments type (~)' };
    case 'list':
    case 'varargs': {
      const el = plan(s.element);
      return { k: K.List, size: 4, depth: el.depth + 1, el };
    }
    case 'optional': {
      const el = plan(s.element);
      return { k: K.Optional, size: 1, depth: el.depth + 1, el };
    }
    case 'map': {
      const key = plan(s.key);
      const el = plan(s.value);
      return { k: K.Map, size: 4, depth: Math.max(key.depth, el.depth) + 1, key, el };
    }
    case 'tuple': {
      const members = s.members.map(plan);
      const size = members.reduce((n, m) => n + m.size, 0);
      const depth = members.reduce((d, m) => Math.max(d, m.depth), 0) + 1;
      if (members.every((m) => m.k === K.Fixed)) return { k: K.Fixed, size, depth };
      return { k: K.Tuple, size, depth, members };
    }
    default:
      return { k: K.Fixed, size: FIXED[printScalar(s.kind)] ?? 0, depth: 1 };
  }
}

const SCALAR_CHARS: Record<string, string> = {
  void: 'v',
  none: '_',
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
};
const printScalar = (kind: string) => SCALAR_CHARS[kind] ?? '';

const plans = new SignatureCache<Plan>();

/** The scan plan of a signature (cached). @throws {@link QiSignatureError} for a malformed signature. */
function planOf(text: string): Plan {
  let p = plans.get(text);
  if (p === undefined) {
    p = plan(parseSignature(text));
    plans.set(text, p);
  }
  return p;
}

/** Plans of one-character dynamic signatures, by character code: most dynamics on the wire are scalars. */
const ONE_CHAR: (Plan | undefined)[] = [];
for (const c of 'vbcCwWiIlLfdsrmo') ONE_CHAR[c.charCodeAt(0)] = planOf(c);

let metaPlan: Plan | undefined;

/** A walk over one payload; see the module comment. */
class Scan {
  pos: number;
  budget: number;
  depth = 0;
  empty = MAX_EMPTY_ELEMENTS;
  readonly found: ReferenceSite[] = [];

  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    readonly limit: number,
    readonly uid: boolean,
    readonly base: number,
  ) {
    this.pos = start;
    this.budget = limit;
  }

  fail(reason: string, at = this.pos): never {
    throw new QiDecodeError(reason, at - this.base);
  }

  spend(n: number): void {
    if ((this.budget -= n) < 0) throw new QiScanBudgetError(this.limit);
  }

  skip(n: number, what: string): void {
    if (this.end - this.pos < n)
      this.fail(`${what} needs ${n} bytes but only ${this.end - this.pos} remain (truncated data)`);
    this.pos += n;
  }

  u32(what: string): number {
    if (this.end - this.pos < 4)
      this.fail(`${what} needs 4 bytes but only ${this.end - this.pos} remain (truncated data)`);
    const b = this.buf,
      p = this.pos;
    this.pos = p + 4;
    return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
  }

  /** Checks that `n` elements of at least `min` bytes can fit, as the decoder does before reading them. */
  count(n: number, min: number, start: number, what: string): void {
    if (min > 0) {
      if (n * min > this.end - this.pos)
        this.fail(`a ${what} claims ${n} elements but only ${this.end - this.pos} bytes remain`, start);
    } else if ((this.empty -= n) < 0) {
      this.fail(
        `a ${what} claims ${n} elements of a zero-size type, over the ${MAX_EMPTY_ELEMENTS} such elements allowed in one value`,
        start,
      );
    }
  }

  walk(p: Plan): void {
    this.spend(1);
    switch (p.k) {
      case K.Fixed:
        return this.skip(p.size, 'a value');
      case K.Sized: {
        const start = this.pos;
        const n = this.u32('a length');
        if (this.end - this.pos < n)
          this.fail(`a string claims ${n} bytes but only ${this.end - this.pos} remain`, start);
        this.pos += n;
        return;
      }
      case K.List: {
        const start = this.pos;
        const n = this.u32('a list size');
        const el = p.el!;
        this.count(n, el.size, start, 'list');
        if (el.k === K.Fixed) return this.skip(n * el.size, 'a list');
        for (let i = 0; i < n; i++) this.walk(el);
        return;
      }
      case K.Map: {
        const start = this.pos;
        const n = this.u32('a map size');
        const key = p.key!,
          el = p.el!;
        this.count(n, key.size + el.size, start, 'map');
        if (key.k === K.Fixed && el.k === K.Fixed) return this.skip(n * (key.size + el.size), 'a map');
        for (let i = 0; i < n; i++) {
          this.walk(key);
          this.walk(el);
        }
        return;
      }
      case K.Tuple:
        for (const m of p.members!) this.walk(m);
        return;
      case K.Optional:
        if (this.pos >= this.end) this.fail('an optional needs 1 byte but none remain (truncated data)');
        if (this.buf[this.pos++] !== 0) this.walk(p.el!);
        return;
      case K.Dynamic:
        return this.dynamic();
      case K.Object:
        return this.object();
      default:
        return this.fail(`${p.what} cannot be deserialized`);
    }
  }

  private dynamic(): void {
    const start = this.pos;
    const n = this.u32('the signature of a dynamic value');
    if (this.end - this.pos < n) this.fail(`a string claims ${n} bytes but only ${this.end - this.pos} remain`, start);
    const b = this.buf,
      p = this.pos;
    this.pos = p + n;
    let inner: Plan;
    if (n === 1 && ONE_CHAR[b[p]] !== undefined) inner = ONE_CHAR[b[p]]!;
    else if (n === 0) return;
    else {
      this.spend(n);
      const bytes = b.subarray(p, p + n);
      if (!isUtf8(bytes)) this.fail('the signature of a dynamic value is not valid UTF-8', start);
      try {
        inner = planOf(bytes.toString('utf8'));
      } catch (e) {
        return this.fail(`a dynamic value has an invalid signature: ${(e as Error).message}`, start);
      }
    }
    // Depth as the decoder counts it: scalars (its fast path) add none, every other type its own.
    if (inner.k === K.Fixed || inner.k === K.Sized) return this.walk(inner);
    if ((this.depth += inner.depth) > MAX_NESTING_DEPTH)
      this.fail(`dynamic values nest deeper than ${MAX_NESTING_DEPTH} levels`, start);
    this.walk(inner);
    this.depth -= inner.depth;
  }

  private object(): void {
    this.walk((metaPlan ??= planOf(METAOBJECT_SIGNATURE)));
    const offset = this.pos;
    const serviceId = this.u32('a service id');
    const objectId = this.u32('an object id');
    if (this.uid) this.skip(20, 'an object uid');
    if (objectId !== 0) this.found.push({ offset: offset - this.base, serviceId, objectId });
  }
}

/**
 * Finds the non-null object references in `bytes[start, end)`, encoded as a value of `signature` (bytes
 * after the value are ignored, as libqi does with payloads). Offsets are relative to `start`.
 *
 * @param budget most steps allowed: one per value visited (a fixed-size run counts as one), plus one per
 *   character of each dynamic value's signature longer than one character
 * @throws {@link QiScanBudgetError} over the budget; {@link QiDecodeError} for bytes that do not hold a
 *   value of `signature`; {@link QiSignatureError} for a malformed `signature`
 */
export function scanReferences(
  signature: string,
  bytes: Uint8Array,
  options: CodecOptions,
  budget: number,
  start = 0,
  end = bytes.length,
): ReferenceSite[] {
  // The cached layout makes each reference depend on the connection's history: only the decoder follows it.
  if (options.metaObjectCache !== undefined)
    throw new QiError(
      'ERR_QI_LIMIT',
      'object references cannot be scanned on a connection that uses the MetaObject cache',
    );
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const s = new Scan(buf, start, end, budget, options.objectUid ?? true, start);
  s.walk(planOf(signature));
  return s.found;
}

/** True when values of `signature` may hold object references (an `o`, or a dynamic that could hold one). */
export function mayHoldReferences(signature: string): boolean {
  return holds(planOf(signature));
}

/**
 * Whether values of `signature` must be scanned for object references: {@link mayHoldReferences}, and
 * true for a malformed signature too (the scan then says what is wrong).
 */
export function needsReferenceScan(signature: string): boolean {
  try {
    return mayHoldReferences(signature);
  } catch {
    return true;
  }
}

function holds(p: Plan): boolean {
  switch (p.k) {
    case K.Dynamic:
    case K.Object:
      return true;
    case K.List:
    case K.Optional:
      return holds(p.el!);
    case K.Map:
      return holds(p.key!) || holds(p.el!);
    case K.Tuple:
      return p.members!.some(holds);
    default:
      return false;
  }
}
