/**
 * Node globals the core uses, for the browser bundle (esbuild `inject`: free uses of these names in the
 * bundle refer to these exports): `Buffer` (the `buffer` package, with the native fast paths the codec
 * calls), `process` (empty env, `nextTick`), timers that have `unref()`, and `setImmediate`.
 */
import { Buffer } from 'buffer';
import { sameOriginUrl } from '../origin.js';

type Proto = Record<string, unknown> & {
  toString(encoding: string, start: number, end: number): string;
  write(s: string, offset: number, encoding: string): number;
  subarray(start: number, end: number): Uint8Array;
};
const proto = Buffer.prototype as unknown as Proto;
const utf8 = new TextDecoder();
const encoder = new TextEncoder();
// Node's Buffer has native slicers and writers behind toString/write; src/type calls them directly.
proto.utf8Slice ??= function (this: Proto, start: number, end: number) {
  return utf8.decode(this.subarray(start, end));
};
proto.latin1Slice ??= function (this: Proto, start: number, end: number) {
  return this.toString('latin1', start, end);
};
proto.utf8Write ??= function (this: Proto & Uint8Array, s: string, offset: number) {
  return encoder.encodeInto(s, this.subarray(offset, this.length)).written;
};

/** A timer handle with Node's `unref`/`ref`; converts to the browser's timer id. */
class Timer {
  constructor(readonly id: number) {}
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}
type Fn = (...args: unknown[]) => void;
const g = globalThis as unknown as {
  setTimeout(f: Fn, ms?: number, ...a: unknown[]): number;
  setInterval(f: Fn, ms?: number, ...a: unknown[]): number;
  clearTimeout(id?: number): void;
  clearInterval(id?: number): void;
};
const idOf = (t: unknown): number | undefined => (t instanceof Timer ? t.id : (t as number | undefined));

const setTimeoutShim = (f: Fn, ms?: number, ...a: unknown[]) => new Timer(g.setTimeout(f, ms, ...a));
const setIntervalShim = (f: Fn, ms?: number, ...a: unknown[]) => new Timer(g.setInterval(f, ms, ...a));
const clearTimeoutShim = (t?: unknown) => g.clearTimeout(idOf(t));
const clearIntervalShim = (t?: unknown) => g.clearInterval(idOf(t));
const setImmediateShim = (f: Fn, ...a: unknown[]) => new Timer(g.setTimeout(f, 0, ...a));

const hasPage = typeof (globalThis as { location?: unknown }).location === 'object';
const processShim = {
  // Session.connect() without a URL reaches the gateway that served the page.
  env: { QI_URL: hasPage ? sameOriginUrl() : undefined } as Record<string, string | undefined>,
  pid: 0,
  platform: 'browser',
  versions: {} as Record<string, string>,
  cwd: () => '/',
  getuid: undefined,
  nextTick: (f: Fn, ...a: unknown[]) => queueMicrotask(() => f(...a)),
};

export {
  Buffer,
  processShim as process,
  setTimeoutShim as setTimeout,
  setIntervalShim as setInterval,
  clearTimeoutShim as clearTimeout,
  clearIntervalShim as clearInterval,
  setImmediateShim as setImmediate,
  clearTimeoutShim as clearImmediate,
};
