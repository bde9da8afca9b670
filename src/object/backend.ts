/**
 * How a proxy reaches its object: over a channel ({@link RemoteBackend}) or straight into a
 * {@link LocalObject} of this process ({@link InProcessBackend}, no bytes encoded). Both give the same
 * semantics: asynchronous calls, errors, cancellation, signals and properties.
 */
import type { Address, CallNamer, CallOptions, Channel } from '../channel/index.js';
import { QiCallError, QiTimeoutError, canceledError, guardCall } from '../channel/index.js';
import { MessageFlags, type Message } from '../message/index.js';
import { Dynamic } from '../type/index.js';
import { QiError } from '../errors/index.js';
import { Builtin, BuiltinMethods, fetchMetaObject, registerEvent, unregisterEvent } from './builtins.js';
import { ObjectType, type MethodInfo } from './definition.js';
import type { LocalObject, SignalListener } from './local.js';
import { errorMessage } from './server.js';

/**
 * Emissions of a signal may have been missed: the connection to the object was lost at `from` and the
 * subscription was made again at `to`. Emissions in between are not replayed (nobody kept them); an app
 * that needs the state reads it again.
 */
export interface SignalGap {
  readonly from: Date;
  readonly to: Date;
  /** Why the connection was lost, as its error said. */
  readonly reason: string;
}

/** What a proxy needs from the object behind it. */
export interface ObjectBackend {
  readonly type: ObjectType;
  /** Name used in errors, e.g. `ALTextToSpeech`. */
  readonly name: string;
  /** How the object is reached: `local` (in-process) or the peer URL. */
  readonly route: string;
  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown>;
  post(member: string, args: unknown[]): void;
  /**
   * Subscribes to a signal (or property change); resolves once the subscription is in place. `onGap` is
   * called when emissions may have been missed (a backend that reconnects: see {@link SignalGap}).
   */
  subscribe(signal: string, listener: SignalListener, onGap?: (gap: SignalGap) => void): Promise<() => Promise<void>>;
  getProperty(name: string): Promise<unknown>;
  setProperty(name: string, value: unknown): Promise<void>;
}

/**
 * A call with a number of arguments that no overload of the method takes (code `ERR_QI_VALUE`),
 * found before anything is sent. The message names the method, its signatures and the count given.
 */
export class QiArgumentsError extends QiError {
  constructor(
    /** `Service.method` */
    readonly method: string,
    /** Its parameter signatures, e.g. `['(s)']` */
    readonly signatures: string[],
    /** How many arguments the call had */
    readonly given: number,
    counts: number[],
  ) {
    super(
      'ERR_QI_VALUE',
      `${method} takes ${counts.join(' or ')} argument(s), got ${given} (${signatures.map((sig) => method.slice(method.lastIndexOf('.') + 1) + sig).join(', ')}).`,
    );
  }
}

/** Picks the overload of `name` that `args` fit: by count first, then by trying each signature. */
export function resolveMethod(type: ObjectType, objectName: string, name: string, args: unknown[]): MethodInfo {
  const all = type.methodsByName.get(name);
  if (all !== undefined && all.length === 1 && all[0].arity === args.length) return all[0]; // the common case
  if (all === undefined) {
    const known = [...type.methodsByName.keys()].filter((n) => !BUILTIN_NAMES.has(n));
    throw new TypeError(`${objectName} has no method "${name}". Its methods: ${known.join(', ') || 'none'}.`);
  }
  const byCount = all.filter((m) => m.arity === args.length);
  if (byCount.length === 1) return byCount[0];
  for (const m of byCount) {
    try {
      m.params.encode(args);
      return m;
    } catch {
      // try the next overload
    }
  }
  if (byCount.length === 0)
    throw new QiArgumentsError(
      `${objectName}.${name}`,
      all.map((m) => m.meta.parametersSignature),
      args.length,
      [...new Set(all.map((m) => m.arity))],
    );
  return byCount[0]; // none fits: let the codec report which argument is wrong
}

const BUILTIN_NAMES = new Set(Object.keys(Builtin));

function member<T>(map: Map<string, T>, objectName: string, kind: string, name: string): T {
  const m = map.get(name);
  if (m === undefined)
    throw new TypeError(
      `${objectName} has no ${kind} "${name}". Its ${kind}s: ${[...map.keys()].filter((n) => !BUILTIN_NAMES.has(n)).join(', ') || 'none'}.`,
    );
  return m;
}

let linkCounter = 0;

/** Context of in-process calls that nothing can cancel. */
const UNCANCELABLE = { signal: new AbortController().signal, caller: 'local' };

/** An object at the other end of a channel, addressed by (service, object). */
export class RemoteBackend implements ObjectBackend, CallNamer {
  private readonly listeners = new Map<number, { link: bigint; set: Set<SignalListener>; ready: Promise<unknown> }>();
  private stopEvents: (() => void) | undefined;
  /**
   * Makes the calls with `send` on a connection to the same peer it chooses: {@link channel} or a
   * session's lane (session/lane.ts). Unset: always {@link channel}. Signal subscriptions always use it.
   */
  via: ((args: unknown[], send: (channel: Channel) => Promise<unknown>) => Promise<unknown>) | undefined;

  constructor(
    readonly channel: Channel,
    readonly service: number,
    readonly object: number,
    readonly type: ObjectType,
    readonly name: string,
  ) {}

  get route(): string {
    return this.channel.remote;
  }

  /** Fetches the MetaObject of (service, object) and makes a backend for it. */
  static async fetch(
    channel: Channel,
    service: number,
    object: number,
    name: string,
    options?: CallOptions,
  ): Promise<RemoteBackend> {
    const meta = await fetchMetaObject(channel, { service, object }, { name: `${name}.metaObject`, ...options });
    return new RemoteBackend(channel, service, object, ObjectType.fromMetaObject(meta), name);
  }

  private address(action: number) {
    return { service: this.service, object: this.object, action };
  }

  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    let m: MethodInfo;
    try {
      m = resolveMethod(this.type, this.name, method, args);
    } catch (e) {
      return Promise.reject(e);
    }
    // Named `Service.method` in errors (unless options.name says otherwise), by callName: only on error.
    if (this.via === undefined) return this.channel.call(this.address(m.uid), m.params, args, m.returns, options, this);
    return this.via(args, (ch) => ch.call(this.address(m.uid), m.params, args, m.returns, options, this));
  }

  /** How a call of this object is named in errors: `Service.method`. */
  callName(address: Address): string {
    return `${this.name}.${this.type.methods.get(address.action)?.name ?? `#${address.action}`}`;
  }

  post(name: string, args: unknown[]): void {
    const s = this.type.signalsByName.get(name);
    if (s !== undefined && !this.type.methodsByName.has(name))
      return this.channel.post(this.address(s.uid), s.params, args);
    const m = resolveMethod(this.type, this.name, name, args);
    this.channel.post(this.address(m.uid), m.params, args);
  }

  async subscribe(signal: string, listener: SignalListener): Promise<() => Promise<void>> {
    const s = member(this.type.signalsByName, this.name, 'signal', signal);
    this.stopEvents ??= this.channel.onEvent(this.service, this.object, (m) => this.onEvent(m));
    let entry = this.listeners.get(s.uid);
    if (entry === undefined) {
      // One remote subscription per signal, fanned out locally (libqi does the same).
      const link = (BigInt(s.uid) << 32n) | BigInt(++linkCounter >>> 0);
      const ready = registerEvent(this.channel, this, s.uid, link, { name: `${this.name}.${signal} (subscribe)` });
      entry = { link, set: new Set(), ready };
      this.listeners.set(s.uid, entry);
      ready.catch(() => this.listeners.delete(s.uid));
    }
    entry.set.add(listener);
    await entry.ready;
    const e = entry;
    return async () => {
      if (!e.set.delete(listener) || e.set.size > 0) return;
      this.listeners.delete(s.uid);
      if (!this.channel.closed)
        await unregisterEvent(this.channel, this, s.uid, e.link, { name: `${this.name}.${signal} (unsubscribe)` });
    };
  }

  private onEvent(m: Message): void {
    const entry = this.listeners.get(m.action);
    const s = this.type.signals.get(m.action);
    if (entry === undefined || s === undefined) return;
    let args: unknown[];
    try {
      args =
        m.flags & MessageFlags.DynamicPayload
          ? ((m.decode('m', this.channel.codecOptions()) as Dynamic).value as unknown[])
          : (m.decode(s.params, this.channel.codecOptions()) as unknown[]);
    } catch {
      return; // an event we cannot read is dropped, the connection lives on
    }
    for (const l of entry.set) l(args);
  }

  async getProperty(name: string): Promise<unknown> {
    const p = member(this.type.propertiesByName, this.name, 'property', name);
    const { action, args, returns } = BuiltinMethods.property;
    const values = [new Dynamic('s', name)];
    const options = { name: `${this.name}.${name} (get)` };
    const send = (ch: Channel) => ch.call(this.address(action), args, values, returns, options);
    const d = (await (this.via === undefined ? send(this.channel) : this.via(values, send))) as Dynamic;
    void p;
    return d.value;
  }

  async setProperty(name: string, value: unknown): Promise<void> {
    const p = member(this.type.propertiesByName, this.name, 'property', name);
    const { action, args, returns } = BuiltinMethods.setProperty;
    const values = [new Dynamic('s', name), new Dynamic(p.type.signature, value)];
    const options = { name: `${this.name}.${name} (set)` };
    const send = (ch: Channel) => ch.call(this.address(action), args, values, returns, options);
    await (this.via === undefined ? send(this.channel) : this.via(values, send));
  }
}

/** An object of this process, called directly: no encoding, same semantics as remote calls. */
export class InProcessBackend implements ObjectBackend {
  readonly route = 'local';

  constructor(
    readonly object: LocalObject,
    readonly name: string,
  ) {}

  get type(): ObjectType {
    return this.object.type;
  }

  call(method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    let m: MethodInfo;
    try {
      m = resolveMethod(this.type, this.name, method, args);
    } catch (e) {
      return Promise.reject(e);
    }
    if (options.signal === undefined && options.timeoutMs === undefined) {
      // Nothing can cancel this call: skip the controller and the timer (an in-process call is ~1 µs).
      return this.object.invoke(m.uid, args, UNCANCELABLE).catch((e: unknown) => {
        throw new QiCallError(`${this.name}.${method}`, errorMessage(e));
      });
    }
    const target = `${this.name}.${method}`;
    if (options.signal?.aborted) return Promise.reject(canceledError(target, options.signal.reason));
    const controller = new AbortController();
    return new Promise((resolve, reject) => {
      const disarm = guardCall(options, target, undefined, (e) => {
        // The method sees its call end: with the caller's reason when canceled, a timeout error else.
        controller.abort(e instanceof QiTimeoutError ? new Error('timeout') : options.signal?.reason);
        reject(e);
      });
      this.object
        .invoke(m.uid, args, { signal: controller.signal, caller: 'local' })
        .then(resolve, (e: unknown) => reject(new QiCallError(target, errorMessage(e))))
        .finally(disarm);
    });
  }

  post(name: string, args: unknown[]): void {
    const s = this.type.signalsByName.get(name);
    if (s !== undefined && !this.type.methodsByName.has(name)) return this.object.emitUid(s.uid, args);
    this.call(name, args).catch(() => {});
  }

  async subscribe(signal: string, listener: SignalListener): Promise<() => Promise<void>> {
    const s = member(this.type.signalsByName, this.name, 'signal', signal);
    // Deliver asynchronously, as a remote event would arrive: an emitter never runs subscriber code inline.
    const off = this.object.subscribe(s.uid, (args) => queueMicrotask(() => listener(args)));
    return async () => off();
  }

  async getProperty(name: string): Promise<unknown> {
    return this.object.getUid(member(this.type.propertiesByName, this.name, 'property', name).uid);
  }

  async setProperty(name: string, value: unknown): Promise<void> {
    const p = member(this.type.propertiesByName, this.name, 'property', name);
    await this.object.writeUid(p.uid, value);
  }
}
