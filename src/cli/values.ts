/**
 * How `qi` shows values. With `--json`: JSON that can carry every value (bigints as strings, maps as
 * objects, bytes as `{"base64": …}`). For people: the same, but raw bytes as a summary
 * (`<raw 76,800 bytes>`) rather than kilobytes of base64. Both show float32 values (signature `f`,
 * wherever it sits in the value's type) as the shortest decimal that is the same float32: `0.8`, not
 * `0.800000011920929`.
 */
import { inspect } from 'node:util';
import { toJsonValue, type JsonOptions, type Signature } from '../type/index.js';

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

/** `--json`: bigints as numbers when exact, else as text; bytes as `{"base64": …}`; float32 values shortest. */
const JSON_OPTIONS: JsonOptions = {
  bigint: 'safe',
  typed: true,
  bytes: (b) => ({ base64: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') }),
};

/** For people: as with `--json`, but raw bytes summarized. */
const HUMAN_OPTIONS: JsonOptions = { ...JSON_OPTIONS, bytes: (b) => new RawSummary(b) };

/**
 * `v` (of qi type `sig`, when known) as JSON can carry it, or with `human`, as people read it (raw
 * bytes summarized). Dynamics are unwrapped and shown by their own signature.
 */
export function shown(v: unknown, sig: Signature | undefined, human: boolean): unknown {
  return toJsonValue(v, human ? HUMAN_OPTIONS : JSON_OPTIONS, sig);
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
