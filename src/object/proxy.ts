/**
 * Proxies: a plain-looking JS object for a remote or in-process object. Methods are async functions,
 * signals are {@link QiSignal}s (callbacks and async iterators over one subscription), properties are
 * {@link QiProperty}s (get, set, watch).
 */
import type { CallOptions } from '../channel/index.js';
import type { MethodDef, ObjectDefinition, PropertyDef, SignalDef } from './definition.js';
import type { ObjectBackend, SignalGap } from './backend.js';
import type { TypeOf, TypesOf } from './schema.js';

/** A signal seen through a proxy. */
export interface QiSignal<A extends unknown[] = unknown[]> extends AsyncIterable<A> {
  /**
   * Calls `listener` with the arguments of each emission; resolves once subscribed, with the function
   * that unsubscribes. `onGap` is called when emissions may have been missed: the connection was lost
   * and the subscription made again (sessions reconnect by themselves; docs/roaming.md).
   */
  connect(listener: (...args: A) => void, options?: { onGap?: (gap: SignalGap) => void }): Promise<() => Promise<void>>;
  /** Resolves with the arguments of the next emission. */
  once(options?: { signal?: AbortSignal }): Promise<A>;
  /** Emits the signal on the object (a Post). */
  emit(...args: A): void;
  /**
   * Iterates emissions. At most `bufferSize` (default 1000) unread emissions are kept; older ones are
   * dropped and counted, so a slow consumer can never grow memory without bound. `gaps` counts the
   * times emissions may have been missed because the connection was lost, and `lastGap` says when and why.
   */
  iterate(options?: { bufferSize?: number; signal?: AbortSignal }): SignalIterator<A>;
}

/** The iterator of a {@link QiSignal}'s emissions. */
export interface SignalIterator<A> extends AsyncIterableIterator<A> {
  /** Emissions dropped because the consumer fell `bufferSize` behind. */
  readonly dropped: number;
  /** Times emissions may have been missed because the connection was lost (and made again). */
  readonly gaps: number;
  /** The last such gap. */
  readonly lastGap: SignalGap | undefined;
}

/** A property seen through a proxy. */
export interface QiProperty<T = unknown> {
  get(): Promise<T>;
  set(value: T): Promise<void>;
  /** Calls `listener` with each new value; resolves with the function that stops watching. */
  watch(listener: (value: T) => void): Promise<() => Promise<void>>;
}

type MethodsOf<D extends ObjectDefinition> = NonNullable<D['methods']>;
type SignalsOf<D extends ObjectDefinition> = NonNullable<D['signals']>;
type PropertiesOf<D extends ObjectDefinition> = NonNullable<D['properties']>;
type Callable<M> =
  M extends MethodDef<infer P, infer R>
    ? (...args: [...TypesOf<P>, (CallOptions | AbortSignal)?]) => Promise<TypeOf<R>>
    : (...args: unknown[]) => Promise<unknown>;

/** The typed proxy of a definition `D`. */
export type ProxyOf<D extends ObjectDefinition> = { readonly [K in keyof MethodsOf<D>]: Callable<MethodsOf<D>[K]> } & {
  readonly [K in keyof SignalsOf<D>]: SignalsOf<D>[K] extends SignalDef<infer P> ? QiSignal<TypesOf<P>> : QiSignal;
} & {
  readonly [K in keyof PropertiesOf<D>]: PropertiesOf<D>[K] extends PropertyDef<infer T> ? QiProperty<T> : QiProperty;
};

/** A proxy of an object whose type is only known at run time. */
export type AnyProxy = Record<string, ((...args: unknown[]) => Promise<unknown>) & QiSignal & QiProperty>;

/**
 * The proxy type for a definition `D`: {@link ProxyOf} `D` when one is given (only its members, with
 * their argument types, so `tts.sya()` does not compile), else the open {@link AnyProxy}.
 */
export type ProxyFor<D extends ObjectDefinition> = ObjectDefinition extends D ? AnyProxy : ProxyOf<D>;

const BACKEND = Symbol('qi.backend');

/** The backend behind a proxy (its type, name and route), or undefined for other values. */
export function backendOf(proxy: unknown): ObjectBackend | undefined {
  return typeof proxy === 'object' && proxy !== null ? (proxy as { [BACKEND]?: ObjectBackend })[BACKEND] : undefined;
}

function isOptions(v: unknown): v is CallOptions | AbortSignal {
  if (v instanceof AbortSignal) return true;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Map) return false;
  const keys = Object.keys(v);
  return keys.every((k) => k === 'signal' || k === 'timeoutMs');
}

function signalOf<A extends unknown[]>(b: ObjectBackend, name: string): QiSignal<A> {
  const sig: QiSignal<A> = {
    connect: (listener, options) => b.subscribe(name, (args) => listener(...(args as A)), options?.onGap),
    once: (options = {}) =>
      new Promise<A>((resolve, reject) => {
        let off: (() => Promise<void>) | undefined;
        let done = false;
        // Unsubscribing after the fact may fail if the connection closed meanwhile: nothing to report then.
        const quietly = (o: (() => Promise<void>) | undefined) => void o?.().catch(() => {});
        const finish = () => {
          done = true;
          quietly(off);
        };
        options.signal?.addEventListener('abort', () => (finish(), reject(options.signal!.reason)), { once: true });
        b.subscribe(name, (args) => {
          if (done) return;
          finish();
          resolve(args as A);
        }).then((o) => (done ? quietly(o) : (off = o)), reject);
      }),
    emit: (...args) => b.post(name, args),
    iterate: (options = {}) => iterate<A>(b, name, options.bufferSize ?? 1000, options.signal),
    [Symbol.asyncIterator]: () => iterate<A>(b, name, 1000),
  };
  return sig;
}

function iterate<A>(b: ObjectBackend, name: string, size: number, abort?: AbortSignal): SignalIterator<A> {
  const buffer: A[] = [];
  let waiting: ((r: IteratorResult<A>) => void) | undefined;
  let failed: ((e: unknown) => void) | undefined;
  let dropped = 0;
  let gaps = 0;
  let lastGap: SignalGap | undefined;
  let ended = false;
  const onGap = (gap: SignalGap) => {
    gaps++;
    lastGap = gap;
  };
  const off = b.subscribe(
    name,
    (args) => {
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w({ value: args as A, done: false });
        return;
      }
      if (buffer.length >= size) {
        buffer.shift();
        dropped++;
      }
      buffer.push(args as A);
    },
    onGap,
  );
  const stop = async (): Promise<IteratorResult<A>> => {
    ended = true;
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
    await (
      await off.catch(() => async () => {})
    )();
    return { value: undefined, done: true };
  };
  let error: unknown;
  off.catch((e: unknown) => {
    error = e;
    failed?.(e);
  });
  abort?.addEventListener('abort', () => void stop().catch(() => {}), { once: true });
  const it = {
    get dropped() {
      return dropped;
    },
    get gaps() {
      return gaps;
    },
    get lastGap() {
      return lastGap;
    },
    next(): Promise<IteratorResult<A>> {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
      if (ended) return Promise.resolve({ value: undefined, done: true });
      if (error !== undefined) return Promise.reject(error); // the subscription failed: never wait
      return new Promise((resolve, reject) => {
        waiting = resolve;
        failed = reject;
      });
    },
    return: stop,
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

function propertyOf<T>(b: ObjectBackend, name: string): QiProperty<T> {
  return {
    get: () => b.getProperty(name) as Promise<T>,
    set: (v) => b.setProperty(name, v),
    watch: (listener) => b.subscribe(name, (args) => listener(args[0] as T)),
  };
}

/** Builds the proxy of the object behind `backend`. */
export function createProxy<D extends ObjectDefinition = ObjectDefinition>(backend: ObjectBackend): ProxyFor<D> {
  const type = backend.type;
  const cache = new Map<string, unknown>();
  const target = Object.create(null) as Record<string | symbol, unknown>;
  return new Proxy(target, {
    get(_t, key) {
      if (key === BACKEND) return backend;
      if (typeof key !== 'string' || key === 'then') return undefined; // a proxy is not a promise
      let v = cache.get(key);
      if (v !== undefined) return v;
      if (type.propertiesByName.has(key)) v = propertyOf(backend, key);
      else if (type.methodsByName.has(key)) {
        const max = Math.max(...type.methodsByName.get(key)!.map((m) => m.arity));
        v = (...args: unknown[]) => {
          let options: CallOptions | undefined;
          if (args.length > max && isOptions(args[args.length - 1])) {
            const last = args.pop();
            options = last instanceof AbortSignal ? { signal: last } : (last as CallOptions);
          }
          return backend.call(key, args, options);
        };
      } else if (type.signalsByName.has(key)) v = signalOf(backend, key);
      else return undefined;
      cache.set(key, v);
      return v;
    },
    has: (_t, key) =>
      typeof key === 'string' &&
      (type.methodsByName.has(key) || type.signalsByName.has(key) || type.propertiesByName.has(key)),
    ownKeys: () => [
      ...new Set([...type.methodsByName.keys(), ...type.signalsByName.keys(), ...type.propertiesByName.keys()]),
    ],
    getOwnPropertyDescriptor: (_t, key) =>
      typeof key === 'string' &&
      (type.methodsByName.has(key) || type.signalsByName.has(key) || type.propertiesByName.has(key))
        ? { enumerable: true, configurable: true }
        : undefined,
  }) as never;
}
