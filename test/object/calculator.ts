/**
 * The test Counter and Calculator, definitions and behaviour. Hook-free (no node:test, no helpers that
 * register hooks): test/object/fixtures.ts re-exports them for the test suite, and test/helpers/fuzz-net.ts
 * serves them from scripts/fuzz.ts, outside the test runner.
 */
import { LocalObject, defineObject, method, property, signal, t, type CallContext } from '../../src/index.js';

export const Counter = defineObject({
  methods: { increment: method([], t.int32), value: method([], t.int32) },
});

export function counter(start = 0) {
  let n = start;
  return new LocalObject(Counter, { increment: () => ++n, value: () => n });
}

export const Point = t.struct('Point', { x: t.int32, y: t.int32 });

export const Calculator = defineObject({
  description: 'A calculator for tests',
  methods: {
    add: method([t.int32, t.int32], t.int32, {
      description: 'Adds two numbers',
      paramNames: ['a', { name: 'b', description: 'second' }],
      returnDescription: 'the sum',
    }),
    concat: [method([t.string, t.string], t.string), method([t.string, t.int32], t.string)],
    fail: method([t.string]),
    slow: method([t.int32], t.int32),
    norm1: method([Point], t.int32),
    echoRaw: method([t.raw], t.raw),
    makeCounter: method([t.int32], t.object),
    useCounter: method([t.object], t.int32),
  },
  signals: { fired: signal([t.int32, t.string]) },
  properties: { volume: property(t.float, { initial: 0.5 }) },
});

export interface CalcState {
  aborted: number;
  order: string[];
}

export function calculator(state: CalcState = { aborted: 0, order: [] }, options?: { serialized?: boolean }) {
  return new LocalObject(
    Calculator,
    {
      add: (a, b) => a + b,
      concat: (a: string, b: string | number) => `${a}${b}`,
      fail: (why) => {
        throw new Error(`failed on purpose: ${why}`);
      },
      slow: (ms: number, ctx: CallContext) =>
        new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => (state.order.push(`slow ${ms}`), resolve(ms)), ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            state.aborted++;
            reject(new Error('aborted'));
          });
        }),
      norm1: (p) => Math.abs(p.x) + Math.abs(p.y),
      echoRaw: (r) => r,
      makeCounter: (start) => counter(start),
      useCounter: async (c) => {
        const proxy = c as { increment(): Promise<number> };
        await proxy.increment();
        return await proxy.increment();
      },
    },
    options,
  );
}
