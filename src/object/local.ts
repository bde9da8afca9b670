/**
 * An object living in this process: its implementation, its property values and the subscribers of
 * its signals, wherever they are (in this process, or at the other end of any number of connections).
 * Transports and proxies reach it through {@link LocalObject.invoke} and {@link LocalObject.subscribe}.
 */
import { randomBytes } from 'node:crypto';
import type { Channel } from '../channel/index.js';
import { QiError } from '../errors/index.js';
import { Builtin } from './builtins.js';
import {
  ObjectType,
  type CallContext,
  type MethodInfo,
  type Implementation,
  type ObjectDefinition,
} from './definition.js';
import { ObjectMonitor } from './monitor.js';
import type { TypeOf, TypesOf } from './schema.js';
import { WorkerPool, type WorkerPoolOptions } from './workers.js';

/** A method implementation failed; its message is what the caller sees. */
export class QiMethodError extends QiError {
  constructor(message: string) {
    super('ERR_QI_CALL', message);
  }
}

type SignalsOf<D extends ObjectDefinition> = NonNullable<D['signals']>;
type PropertiesOf<D extends ObjectDefinition> = NonNullable<D['properties']>;

/** Options of a local object. */
export interface LocalObjectOptions {
  /** Run the listed CPU-heavy methods in a pool of worker threads (their functions come from `module`). */
  workers?: WorkerPoolOptions;
  /**
   * Run calls one at a time, in arrival order (for debugging races). Default: `QI_SERIALIZED=1`,
   * else calls run concurrently and a slow method never holds back the others.
   */
  serialized?: boolean;
  /**
   * Leave call arguments and results out of `traceObject` events (they read `**UNSERIALIZABLE**`), for
   * objects that handle secrets: a peer that turns tracing on sees calls and errors, not keys.
   */
  untraced?: boolean;
}

/** A listener of a signal: receives the argument tuple of each emission. */
export type SignalListener = (args: unknown[]) => void;

/**
 * An object of this process: a definition and its implementation, with property values and signal
 * subscribers. Register it with `session.registerService(name, object)`, or return it from a method.
 */
export class LocalObject<D extends ObjectDefinition = ObjectDefinition> {
  readonly type: ObjectType;
  /** 20 bytes identifying this object in references (ObjectPtrUID). */
  readonly uid: Uint8Array = randomBytes(20);
  private readonly values = new Map<number, unknown>();
  private readonly listeners = new Map<number, Set<SignalListener>>();
  private readonly serialized: boolean;
  private readonly untraced: boolean;
  private queue: Promise<unknown> = Promise.resolve();
  /** The worker pool of CPU-heavy methods, if any. */
  readonly pool: WorkerPool | undefined;
  /** Statistics and trace (built-ins 80–86): made when a peer first turns one on. */
  private monitor: ObjectMonitor | undefined;

  /**
   * @param definition the object's members and types
   * @param implementation one function per method; it may return a value or a promise, and receives a
   * {@link CallContext} (with an AbortSignal for cancellation) after its arguments
   */
  constructor(
    definition: D | ObjectType,
    readonly implementation: Implementation<D>,
    options: LocalObjectOptions = {},
  ) {
    this.type = definition instanceof ObjectType ? definition : ObjectType.of(definition);
    for (const p of this.type.properties.values()) this.values.set(p.uid, p.initial);
    this.pool = options.workers === undefined ? undefined : new WorkerPool(options.workers);
    for (const m of this.type.methods.values()) {
      if (
        m.uid >= 100 &&
        !this.pool?.methods.has(m.name) &&
        typeof (implementation as Record<string, unknown>)[m.name] !== 'function'
      ) {
        throw new TypeError(
          `The implementation has no function for method "${m.name}" ${m.meta.parametersSignature} -> ${m.meta.returnSignature}.`,
        );
      }
    }
    this.serialized = options.serialized ?? process.env.QI_SERIALIZED === '1';
    this.untraced = options.untraced === true;
  }

  /** Emits a signal to every subscriber, local and remote. */
  emit<K extends keyof SignalsOf<D> & string>(
    name: K,
    ...args: SignalsOf<D>[K] extends { params: infer P extends readonly never[] } ? TypesOf<P> : unknown[]
  ): void {
    const s = this.type.signalsByName.get(name);
    if (s === undefined)
      throw new TypeError(
        `No signal "${name}" on this object (signals: ${[...this.type.signalsByName.keys()].join(', ') || 'none'}).`,
      );
    this.emitUid(s.uid, args as unknown[]);
  }

  /** Emits by member id (a remote Post to a signal lands here). */
  emitUid(uid: number, args: unknown[]): void {
    if (this.monitor?.traceEnabled && uid !== Builtin.traceObject)
      this.monitor.signal(uid, this.type.signals.get(uid)?.params.type, args);
    const set = this.listeners.get(uid);
    if (set === undefined) return;
    for (const l of set) {
      try {
        l(args);
      } catch {
        // One failing subscriber must not stop the others.
      }
    }
  }

  /** Current value of a property. */
  get<K extends keyof PropertiesOf<D> & string>(
    name: K,
  ): PropertiesOf<D>[K] extends { type: infer T } ? TypeOf<T> : unknown {
    return this.values.get(this.property(name).uid) as never;
  }

  /** Sets a property and emits its change signal. */
  set<K extends keyof PropertiesOf<D> & string>(
    name: K,
    value: PropertiesOf<D>[K] extends { type: infer T } ? TypeOf<T> : unknown,
  ): void {
    this.setUid(this.property(name).uid, value);
  }

  /** Sets a property by id. */
  setUid(uid: number, value: unknown): void {
    this.values.set(uid, value);
    this.emitUid(uid, [value]);
  }

  /**
   * A peer's setProperty: sets it (a forwarded object writes to its owner, and returns that promise for
   * the answer to wait on).
   */
  writeUid(uid: number, value: unknown): unknown {
    this.setUid(uid, value);
    return undefined;
  }

  /** Property value by id. */
  getUid(uid: number): unknown {
    return this.values.get(uid);
  }

  private property(name: string) {
    const p = this.type.propertiesByName.get(name);
    if (p === undefined)
      throw new TypeError(
        `No property "${name}" on this object (properties: ${[...this.type.propertiesByName.keys()].join(', ') || 'none'}).`,
      );
    return p;
  }

  /** Subscribes to a signal (or a property's changes) by id. Returns the function that unsubscribes. */
  subscribe(uid: number, listener: SignalListener): () => void {
    let set = this.listeners.get(uid);
    if (set === undefined) this.listeners.set(uid, (set = new Set()));
    set.add(listener);
    // As in libqi, the first subscriber of traceObject turns tracing on and the last one off.
    if (uid === Builtin.traceObject) this.monitored().traceEnabled = true;
    return () => {
      if (!set.delete(listener) || set.size > 0) return;
      this.listeners.delete(uid);
      if (uid === Builtin.traceObject) this.monitored().traceEnabled = false;
    };
  }

  private monitored(): ObjectMonitor {
    return (this.monitor ??= new ObjectMonitor((event) => this.emitUid(Builtin.traceObject, [event]), this.untraced));
  }

  /**
   * The statistics and trace built-ins (80–85) with decoded arguments: isStatsEnabled, enableStats,
   * stats, clearStats, isTraceEnabled, enableTrace. Other ids below 100 belong to the connection.
   */
  builtin(uid: number, args: unknown[]): unknown {
    const m = this.monitor;
    switch (uid) {
      case Builtin.isStatsEnabled:
        return m?.statsEnabled ?? false;
      case Builtin.enableStats:
        this.monitored().statsEnabled = args[0] === true;
        return undefined;
      case Builtin.stats:
        return m?.snapshot() ?? new Map();
      case Builtin.clearStats:
        return void m?.clear();
      case Builtin.isTraceEnabled:
        return m?.traceEnabled ?? false;
      case Builtin.enableTrace:
        this.monitored().traceEnabled = args[0] === true;
        return undefined;
      default:
        throw new QiMethodError(`Member #${uid} is a built-in of connections, not of this object.`);
    }
  }

  /**
   * Called when a peer released this object (`terminate`) on `channel`: it will not be called from
   * there again. Objects that hold something for their callers (a stream's queue) free it here.
   */
  released(_channel: Channel): void {}

  /** Number of subscriptions to a signal (for tests and metrics). */
  subscriberCount(uid: number): number {
    return this.listeners.get(uid)?.size ?? 0;
  }

  /**
   * Runs a method by id with already-decoded arguments. Always asynchronous; a thrown error or a
   * rejected promise becomes a {@link QiMethodError}-like rejection carrying the message for the caller.
   */
  invoke(uid: number, args: unknown[], ctx: CallContext): Promise<unknown> {
    try {
      return Promise.resolve(this.invokeRaw(uid, args, ctx));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Like {@link LocalObject.invoke}, but returns what the implementation returned (a value or a
   * promise) and throws what it threw: a transport can answer a synchronous result at once, without a
   * promise and a microtask per call.
   */
  invokeRaw(uid: number, args: unknown[], ctx: CallContext): unknown {
    const m = this.type.methods.get(uid);
    if (m === undefined) throw new QiMethodError(`No such method #${uid} on this object.`);
    if (uid < 100) return this.builtin(uid, args);
    // Measured and traced only while someone asked for it: otherwise one check per call.
    if (this.monitor?.active) return this.monitor.run(m, args, () => this.run(m, args, ctx));
    return this.run(m, args, ctx);
  }

  private run(m: MethodInfo, args: unknown[], ctx: CallContext): unknown {
    const fn = (this.implementation as unknown as Record<string, (...a: unknown[]) => unknown>)[m.name];
    const pool = this.pool?.methods.has(m.name) ? this.pool : undefined;
    // Runs now, so it cannot have been canceled yet; reading ctx.signal here would build a controller per call.
    if (!this.serialized && pool === undefined) return callWith(fn, this.implementation, args, ctx);
    const run = async () => {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('canceled');
      if (pool !== undefined) return pool.run(m.name, args, ctx.signal);
      return callWith(fn, this.implementation, args, ctx);
    };
    if (!this.serialized) return run();
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * `fn.call(self, ...args, ctx)` without building the spread array for the usual counts of arguments
 * (a spread call allocated an array per call on a busy server).
 */
function callWith(fn: (...a: unknown[]) => unknown, self: unknown, args: unknown[], ctx: CallContext): unknown {
  switch (args.length) {
    case 0:
      return fn.call(self, ctx);
    case 1:
      return fn.call(self, args[0], ctx);
    case 2:
      return fn.call(self, args[0], args[1], ctx);
    case 3:
      return fn.call(self, args[0], args[1], args[2], ctx);
    default:
      return fn.call(self, ...args, ctx);
  }
}
