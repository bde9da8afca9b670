/**
 * How `qi` shows values. With `--json`: JSON that can carry every value (bigints as strings, maps as
 * objects, bytes as `{"base64": …}`). For people: the same, but raw bytes as a summary
 * (`<raw 76,800 bytes>`) rather than kilobytes of base64. Both show float32 values (signature `f`,
 * wherever it sits in the value's type) as the shortest decimal that is the same float32: `0.8`, not
 * `0.800000011920929`.
 */
import { inspect } from 'node:util';
import { Dynamic, parseSignature, shortestFloat32, type Signature } from '../index.js';

/** Raw values of at most this many bytes show their bytes in hex, after the count. */
const RAW_PREVIEW_BYTES = 16;

/** Raw bytes in human output: their count (and the bytes themselves when there are few). */
class RawSummary {
  constructor(private readonly bytes: Uint8Array) {}
  [inspect.custom](): string {
    const n = this.bytes.length;
    const hex =
      n > 0 && n <= RAW_PREVIEW_BYTES
        ? `: ${Buffer.from(this.bytes.buffer, this.bytes.byteOffset, n)
            .toString('hex')
            .replace(/(..)(?!$)/g, '$1 ')}`
        : '';
    return `<raw ${n.toLocaleString('en-US')} byte${n === 1 ? '' : 's'}${hex}>`;
  }
}

function parsed(signature: string): Signature | undefined {
  try {
    return parseSignature(signature);
  } catch {
    return undefined;
  }
}

/** The type of element `i` (list, tuple) or of field `key` (struct) of a value of type `sig`. */
function inner(sig: Signature | undefined, i: number, key?: string): Signature | undefined {
  if (sig === undefined) return undefined;
  if (sig.kind === 'list' || sig.kind === 'varargs') return sig.element;
  if (sig.kind !== 'tuple') return undefined;
  return key === undefined
    ? sig.members[i]
    : sig.fields === undefined
      ? undefined
      : sig.members[sig.fields.indexOf(key)];
}

/**
 * `v` (of qi type `sig`, when known) as JSON can carry it, or with `human`, as people read it (raw
 * bytes summarized). Dynamics are unwrapped and shown by their own signature.
 */
export function shown(v: unknown, sig: Signature | undefined, human: boolean): unknown {
  if (v instanceof Dynamic) return shown(v.value, parsed(v.signature), human);
  if (sig?.kind === 'optional') sig = sig.element;
  if (typeof v === 'number') return sig?.kind === 'float' ? shortestFloat32(v) : v;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array)
    return human ? new RawSummary(v) : { base64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v instanceof Map) {
    const value = sig?.kind === 'map' ? sig.value : sig?.kind === 'kwargs' ? sig.element : undefined;
    return Object.fromEntries([...v].map(([k, x]) => [String(k), shown(x, value, human)]));
  }
  if (Array.isArray(v)) return v.map((x, i) => shown(x, inner(sig, i), human));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x], i) => [k, shown(x, inner(sig, i, k), human)]));
  return v === undefined ? null : v;
}

/** A value as JSON can carry it: bigints as strings, Maps as objects, bytes as base64, dynamics unwrapped. */
export function toJson(v: unknown, sig?: Signature): unknown {
  return shown(v, sig, false);
}

/** A value as one piece of text for people: strings as they are, the rest as Node prints objects. */
export function toText(
  v: unknown,
  sig?: Signature,
  options: { depth?: number; breakLength?: number; colors?: boolean } = {},
): string {
  const s = shown(v, sig, true);
  return typeof s === 'string' ? s : inspect(s, { depth: 6, breakLength: 100, ...options });
}
