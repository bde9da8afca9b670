/**
 * What the lane tests share (test/session/lane*.test.ts): a service with large arguments and answers,
 * the order in which calls complete, and a bounded wait. Hook-free.
 */
import { LocalObject, defineObject, method, t } from '../../src/index.js';

export const MiB = 1024 * 1024;

/** Large arguments in (`size`), large answers out (`blob`). */
export const Bulk = defineObject({
  methods: { size: method([t.raw], t.int32), blob: method([t.int32], t.raw) },
});
export const bulk = () =>
  new LocalObject(Bulk, { size: (b: Uint8Array) => b.length, blob: (n: number) => Buffer.alloc(n, 3) });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `big`, then `smalls` once `ready()`; the order in which they complete ('big' or the small ones' index). */
export async function race(
  big: () => Promise<unknown>,
  smalls: (() => Promise<unknown>)[],
  ready = async () => {},
): Promise<(number | 'big')[]> {
  const order: (number | 'big')[] = [];
  const b = big().then(() => order.push('big'));
  await ready();
  await Promise.all([b, ...smalls.map((f, i) => f().then(() => order.push(i)))]);
  return order;
}

/** Waits until `cond()` holds, polling, for at most `ms`. */
export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(20)) if (Date.now() > end) throw new Error('never happened');
}
