/**
 * Errors of the codec: a value that does not fit its signature (encoding) and bytes that do not hold a
 * value of the expected signature (decoding). Both name the path inside the value, e.g.
 * `args[1].points[3].x`, built while the error unwinds so the happy path pays nothing for it.
 */
import { QiError } from '../errors/index.js';

/** A codec error that carries a path inside the value (encoding or decoding). */
export abstract class PathError extends QiError {
  /** Where in the value the problem is, from the root (e.g. `value.points[3].x`). */
  path = '';
  /** The problem itself, without location. */
  readonly reason: string;
  /** Signature of the whole value being encoded or decoded, once known. */
  signature?: string;
  protected root = 'value';

  constructor(code: 'ERR_QI_VALUE' | 'ERR_QI_DECODE', reason: string) {
    super(code, reason);
    this.reason = reason;
  }

  /** Prepends a step while the error travels up through containers. */
  within(step: string): this {
    this.path = step + this.path;
    this.message = this.describe();
    return this;
  }

  /** Names the root of the path and the signature of the whole value (done once, at the top). */
  at(root: string, signature: string): this {
    this.root = root;
    this.signature = signature;
    this.message = this.describe();
    return this;
  }

  /** Full path including the root name. */
  get where(): string {
    return this.root + this.path;
  }

  protected abstract describe(): string;
}

/** A value that does not fit its signature: wrong JS type, integer out of range, missing struct field… */
export class QiValueError extends PathError {
  constructor(reason: string) {
    super('ERR_QI_VALUE', reason);
    this.message = this.describe();
  }

  protected describe(): string {
    const sig = this.signature === undefined ? '' : ` (signature ${this.signature})`;
    return `Cannot encode ${this.where}${sig}: ${this.reason}.`;
  }
}

/** Bytes that are not a valid encoding of the expected signature: truncated, impossible sizes, bad text… */
export class QiDecodeError extends PathError {
  /** Byte offset in the decoded buffer where the problem was found. */
  readonly offset: number;

  constructor(reason: string, offset: number) {
    super('ERR_QI_DECODE', reason);
    this.offset = offset;
    this.message = this.describe();
  }

  protected describe(): string {
    const sig = this.signature === undefined ? '' : ` as ${this.signature}`;
    return (
      `Cannot decode ${this.where}${sig} at byte ${this.offset}: ${this.reason}. ` +
      'The peer and this side disagree on the type; check the signature both sides use.'
    );
  }
}

/** Describes a JS value's type for error messages, without dumping large values. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined (missing?)';
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'bigint') return `bigint ${v}n`;
  if (typeof v === 'string')
    return v.length > 40 ? `a string of ${v.length} characters` : `string ${JSON.stringify(v)}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Uint8Array) return `${v.constructor.name} of ${v.length} bytes`;
  if (v instanceof Map) return `a Map of ${v.size}`;
  if (typeof v === 'object') return `an object (${v.constructor?.name ?? 'null prototype'})`;
  return typeof v;
}

/** Names the root and the signature of a codec error's path, if `e` is one; returns `e` to rethrow. */
export function annotate(e: unknown, root: string, signature: string): unknown {
  if (e instanceof PathError) e.at(root, signature);
  return e;
}
