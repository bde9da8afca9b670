/**
 * qi type signatures: parse, print and compare.
 *
 * A signature is the text form of a qi type (`i`, `[s]`, `{sm}`, `(sI)<Pair,first,second>`, …). The
 * grammar and the meaning of every character follow libqi (see docs/types.md for the table).
 */
import { QiError } from '../errors/index.js';
import { SignatureCache } from './signature-cache.js';

/** The leaf kinds, one per signature character. */
export type ScalarKind =
  | 'void' // v
  | 'bool' // b
  | 'int8' // c
  | 'uint8' // C
  | 'int16' // w
  | 'uint16' // W
  | 'int32' // i
  | 'uint32' // I
  | 'int64' // l
  | 'uint64' // L
  | 'float' // f
  | 'double' // d
  | 'string' // s
  | 'raw' // r
  | 'dynamic' // m
  | 'object' // o
  | 'unknown' // X: a member whose C++ type libqi could not name; parsed, never serialized
  | 'none'; // _: element type of an empty container in libqi; decodes as void

/** A parsed signature. `annotation` holds the raw text between `<` and `>` when the source had one. */
export type Signature =
  | { readonly kind: ScalarKind; readonly annotation?: string }
  | { readonly kind: 'list'; readonly element: Signature; readonly annotation?: string }
  | { readonly kind: 'varargs'; readonly element: Signature; readonly annotation?: string }
  | { readonly kind: 'kwargs'; readonly element: Signature; readonly annotation?: string }
  | { readonly kind: 'optional'; readonly element: Signature; readonly annotation?: string }
  | { readonly kind: 'map'; readonly key: Signature; readonly value: Signature; readonly annotation?: string }
  | TupleSignature;

/** A tuple; with a `<Name,field,…>` annotation whose field count matches, it is a named struct. */
export interface TupleSignature {
  readonly kind: 'tuple';
  readonly members: readonly Signature[];
  readonly annotation?: string;
  /** Struct name from the annotation, if any. */
  readonly name?: string;
  /** Field names, present only when the annotation names exactly one field per member. */
  readonly fields?: readonly string[];
}

const SCALARS: Record<string, ScalarKind> = {
  v: 'void',
  b: 'bool',
  c: 'int8',
  C: 'uint8',
  w: 'int16',
  W: 'uint16',
  i: 'int32',
  I: 'uint32',
  l: 'int64',
  L: 'uint64',
  f: 'float',
  d: 'double',
  s: 'string',
  r: 'raw',
  m: 'dynamic',
  o: 'object',
  X: 'unknown',
  _: 'none',
};
const SCALAR_CHARS: Record<ScalarKind, string> = Object.fromEntries(
  Object.entries(SCALARS).map(([c, k]) => [k, c]),
) as Record<ScalarKind, string>;

const PREFIXES: Record<string, 'optional' | 'varargs' | 'kwargs'> = { '+': 'optional', '#': 'varargs', '~': 'kwargs' };
const PREFIX_CHARS = { optional: '+', varargs: '#', kwargs: '~' } as const;

/**
 * Deepest nesting accepted, in signatures and in decoded values. libqi's own types never pass a dozen
 * levels; the bound keeps hostile input from exhausting the stack.
 */
export const MAX_NESTING_DEPTH = 1000;

/** A signature text that does not follow the grammar. */
export class QiSignatureError extends QiError {
  /** The text that was parsed. */
  readonly signature: string;
  /** Zero-based character position of the problem. */
  readonly position: number;
  /** What the parser expected at that position. */
  readonly expected: string;

  constructor(signature: string, position: number, expected: string) {
    const at = position >= signature.length ? 'at the end' : `at position ${position} ('${signature[position]}')`;
    super(
      'ERR_QI_SIGNATURE',
      `Invalid qi signature ${JSON.stringify(signature)}: expected ${expected} ${at}. ` +
        'See docs/types.md for the signature grammar.',
    );
    this.signature = signature;
    this.position = position;
    this.expected = expected;
  }
}

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(expected: string, at = this.pos): never {
    throw new QiSignatureError(this.text, at, expected);
  }

  type(depth: number): Signature {
    if (depth > MAX_NESTING_DEPTH) this.fail(`at most ${MAX_NESTING_DEPTH} levels of nesting`);
    const element = this.element(depth);
    if (this.text[this.pos] !== '<') return element;
    const annotation = this.annotation();
    if (element.kind !== 'tuple') return { ...element, annotation };
    return withTupleAnnotation(element.members, annotation);
  }

  element(depth: number): Signature {
    const c = this.text[this.pos];
    if (c === undefined) this.fail('a type');
    const scalar = SCALARS[c];
    if (scalar !== undefined) {
      this.pos++;
      return { kind: scalar };
    }
    switch (c) {
      case '[': {
        this.pos++;
        const element = this.type(depth + 1);
        this.expect(']', "']' closing the list");
        return { kind: 'list', element };
      }
      case '{': {
        this.pos++;
        const key = this.type(depth + 1);
        if (this.text[this.pos] === '}') this.fail('the value type of the map');
        const value = this.type(depth + 1);
        this.expect('}', "'}' closing the map (a map has exactly a key and a value type)");
        return { kind: 'map', key, value };
      }
      case '(': {
        this.pos++;
        const members: Signature[] = [];
        while (this.text[this.pos] !== ')') {
          if (this.pos >= this.text.length) this.fail("')' closing the tuple");
          members.push(this.type(depth + 1));
        }
        this.pos++;
        return { kind: 'tuple', members };
      }
      case '+':
      case '#':
      case '~': {
        this.pos++;
        return { kind: PREFIXES[c], element: this.type(depth + 1) };
      }
      default:
        return this.fail('a type character (one of vbcCwWiIlLfdsrmoX_ or [ { ( + # ~)');
    }
  }

  annotation(): string {
    const start = this.pos;
    let level = 0;
    do {
      const c = this.text[this.pos];
      if (c === undefined) this.fail("'>' closing the annotation", this.pos);
      if (c === '<') level++;
      else if (c === '>') level--;
      this.pos++;
    } while (level > 0);
    return this.text.slice(start + 1, this.pos - 1);
  }

  expect(char: string, what: string): void {
    if (this.text[this.pos] !== char) this.fail(what);
    this.pos++;
  }
}

/** Splits an annotation body on the commas that are not inside nested `<…>`. */
function splitAnnotation(body: string): string[] {
  const parts: string[] = [];
  let level = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '<') level++;
    else if (c === '>') level--;
    else if (c === ',' && level === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}

function withTupleAnnotation(members: readonly Signature[], annotation: string): TupleSignature {
  const [name, ...fields] = splitAnnotation(annotation);
  // libqi only names fields when there is one name per member; anything else is a bare struct name.
  if (fields.length === members.length && members.length > 0)
    return { kind: 'tuple', members, annotation, name, fields };
  return { kind: 'tuple', members, annotation, name };
}

const parsed = new SignatureCache<Signature>();

/**
 * Parses a signature. Results are cached, so parsing the same text twice is a map lookup.
 * @throws {@link QiSignatureError} naming the position and what was expected.
 */
export function parseSignature(text: string): Signature {
  let sig = parsed.get(text);
  if (sig !== undefined) return sig;
  const p = new Parser(text);
  sig = p.type(0);
  if (p.pos !== text.length) p.fail('the end of the signature (a signature holds exactly one type)');
  parsed.set(text, sig); // bounded: signatures arriving from peers must not grow it forever
  return sig;
}

/** Prints a signature back to text; `printSignature(parseSignature(s)) === s` for every valid `s`. */
export function printSignature(sig: Signature): string {
  const ann = sig.annotation === undefined ? '' : `<${sig.annotation}>`;
  switch (sig.kind) {
    case 'list':
      return `[${printSignature(sig.element)}]${ann}`;
    case 'map':
      return `{${printSignature(sig.key)}${printSignature(sig.value)}}${ann}`;
    case 'tuple':
      return `(${sig.members.map(printSignature).join('')})${ann}`;
    case 'optional':
    case 'varargs':
    case 'kwargs':
      return `${PREFIX_CHARS[sig.kind]}${printSignature(sig.element)}${ann}`;
    default:
      return SCALAR_CHARS[sig.kind] + ann;
  }
}

/** Builds a tuple signature, as a named struct when `name` and one field name per member are given. */
export function tupleSignature(
  members: readonly Signature[],
  name?: string,
  fields?: readonly string[],
): TupleSignature {
  if (name === undefined) return { kind: 'tuple', members };
  const annotation = fields && fields.length > 0 ? [name, ...fields].join(',') : name;
  return withTupleAnnotation(members, annotation);
}

/** Removes every annotation, recursively. */
export function stripAnnotations(sig: Signature): Signature {
  switch (sig.kind) {
    case 'list':
    case 'varargs':
    case 'kwargs':
    case 'optional':
      return { kind: sig.kind, element: stripAnnotations(sig.element) };
    case 'map':
      return { kind: 'map', key: stripAnnotations(sig.key), value: stripAnnotations(sig.value) };
    case 'tuple':
      return { kind: 'tuple', members: sig.members.map(stripAnnotations) };
    default:
      return { kind: sig.kind };
  }
}

/** Equality as libqi defines it: annotations (struct and field names) are ignored. */
export function signaturesEqual(a: Signature | string, b: Signature | string): boolean {
  const sa = typeof a === 'string' ? parseSignature(a) : a;
  const sb = typeof b === 'string' ? parseSignature(b) : b;
  return printSignature(stripAnnotations(sa)) === printSignature(stripAnnotations(sb));
}
