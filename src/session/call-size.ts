/**
 * The size of a call's arguments, as a session's lane needs it (lane.ts): a large call keeps its
 * connection busy until answered ({@link plainlyLarge}, looked at for every call); a call takes the lane
 * only when small and without an object (an object sent is bound to the connection it goes on:
 * {@link roughSize}, looked at only while the connection is busy).
 */
import { LocalObject, backendOf } from '../object/index.js';
import { Dynamic, ObjectReference } from '../type/index.js';

/** Values looked at, at most, to size a call's arguments: arguments with more are taken for large. */
const MAX_VALUES = 256;

/**
 * True when the arguments are large at first sight, looking at their top level only (bytes, strings,
 * lists): cheap enough for every call. {@link roughSize} looks deeper, when a call may take the lane.
 */
export function plainlyLarge(args: unknown[], limit: number): boolean {
  let size = 0;
  for (const v of args) {
    if (typeof v === 'string') size += v.length;
    else if (ArrayBuffer.isView(v)) size += v.byteLength;
    else if (Array.isArray(v)) size += v.length * 4;
  }
  return size > limit;
}

function* mapItems(m: Map<unknown, unknown>): Iterable<unknown> {
  for (const [k, v] of m) yield* [k, v];
}

/**
 * About how many bytes `args` take once encoded, stopping as soon as it passes `limit`; `Infinity` when
 * they hold an object (a LocalObject, a proxy, a reference) or more than {@link MAX_VALUES} values.
 */
export function roughSize(args: unknown[], limit: number): number {
  let size = 0;
  let seen = 0;
  const todo: unknown[] = [args];
  while (todo.length > 0) {
    const v = todo.pop();
    if (++seen > MAX_VALUES) return Infinity;
    if (typeof v === 'string') size += 4 + v.length * (v.length > 1024 ? 3 : 1);
    else if (typeof v !== 'object' || v === null) size += 8;
    else if (ArrayBuffer.isView(v)) size += 4 + v.byteLength;
    else if (v instanceof ArrayBuffer) size += 4 + v.byteLength;
    else if (v instanceof LocalObject || v instanceof ObjectReference || backendOf(v) !== undefined) return Infinity;
    else {
      size += 4;
      const inner: Iterable<unknown> =
        v instanceof Dynamic ? [v.value] : Array.isArray(v) ? v : v instanceof Map ? mapItems(v) : Object.values(v);
      let n = 0;
      for (const x of inner) {
        if (++n > MAX_VALUES) return Infinity;
        todo.push(x);
      }
    }
    if (size > limit) return size;
  }
  return size;
}
