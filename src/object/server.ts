/**
 * Serves a {@link LocalObject} on one channel at (service, object): decodes calls, runs them
 * concurrently, answers with the result, the error text or Canceled, and implements libqi's built-in
 * members (events, introspection, properties, statistics and trace) as libqi peers expect them.
 */
import { CANCEL_CODEC, type Channel, type MessageHandler } from '../channel/index.js';
import { MessageFlags, MessageType, type Message } from '../message/index.js';
import { Dynamic, type Codec } from '../type/index.js';
import { Builtin, BuiltinMethods as B } from './builtins.js';
import type { MethodInfo } from './definition.js';
import type { LocalObject } from './local.js';

/** Text of an error thrown by an implementation, as the caller will read it. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return typeof e === 'string' ? e : `non-Error value thrown: ${String(e)}`;
}

let serverLinks = 0n;

/**
 * The context of one incoming call. Its AbortSignal is made only if the implementation asks for it:
 * most never do, and an AbortController per call was a quarter of a busy server's time.
 */
class IncomingContext {
  private controller: AbortController | undefined;
  private canceled = false;

  constructor(
    readonly caller: string,
    readonly channel: Channel,
  ) {}

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.canceled) this.controller.abort(new Error('canceled by the caller'));
    }
    return this.controller.signal;
  }

  /** True once the caller canceled (whether or not the implementation was watching). */
  get isCanceled(): boolean {
    return this.canceled;
  }

  cancel(reason: string): void {
    this.canceled = true;
    this.controller?.abort(new Error(reason));
  }
}

/** Serves one {@link LocalObject} on one channel at (service, object); closed with the channel or on `terminate`. */
export class ObjectServer implements MessageHandler {
  private readonly running = new Map<number, IncomingContext>();
  /** Every invocation still running (posts and calls, even with an id reused): all canceled on close. */
  private readonly inFlight = new Set<IncomingContext>();
  /** Remote subscriptions on this channel: client link id → unsubscribe. */
  private readonly links = new Map<bigint, () => void>();
  private readonly name: string;
  private unbind: (() => void) | undefined;
  private offClose: (() => void) | undefined;

  /**
   * @param object the object to serve
   * @param channel the connection
   * @param service service id it is reached at
   * @param objectId object id within the service (1 = main object)
   * @param name for error texts, e.g. `ALTextToSpeech`
   * @param onTerminate called when the peer releases a non-main object
   */
  constructor(
    readonly object: LocalObject,
    readonly channel: Channel,
    readonly service: number,
    readonly objectId: number,
    name?: string,
    private readonly onTerminate?: () => void,
  ) {
    this.name = name ?? `object ${service}.${objectId}`;
    this.unbind = channel.bindObject(service, objectId, this);
    // Removed on close: an object released by the peer must not stay reachable from its channel.
    this.offClose = channel.onClose(() => this.close());
  }

  /** Stops serving: drops the subscriptions of this channel and cancels its running calls. */
  close(): void {
    this.unbind?.();
    this.unbind = undefined;
    this.offClose?.();
    this.offClose = undefined;
    for (const off of this.links.values()) off();
    this.links.clear();
    for (const c of this.inFlight) c.cancel('the caller went away');
    this.inFlight.clear();
    this.running.clear();
  }

  onMessage(m: Message, ch: Channel): void {
    switch (m.type) {
      case MessageType.Call:
        return this.call(m, ch, true);
      case MessageType.Post:
        if (this.object.type.signals.has(m.action) && !this.object.type.methods.has(m.action)) {
          const s = this.object.type.signals.get(m.action)!;
          try {
            this.object.emitUid(m.action, m.decode(s.params, ch.codecOptions()) as unknown[]);
          } catch {
            // A Post never gets an answer, not even an error.
          }
          return;
        }
        return this.call(m, ch, false);
      case MessageType.Cancel: {
        let id: number;
        try {
          id = m.decode(CANCEL_CODEC);
        } catch {
          return;
        }
        this.running.get(id)?.cancel('canceled by the caller');
        return;
      }
      default:
        return;
    }
  }

  private call(m: Message, ch: Channel, answer: boolean): void {
    if (m.action < 100) return this.builtin(m, ch, answer);
    const method = this.object.type.methods.get(m.action);
    if (method === undefined)
      return void (
        answer && ch.replyError(m, `No such method {${m.service}.${m.object}.${m.action}, id:${m.id}} on ${this.name}.`)
      );
    let args: unknown[];
    try {
      args = this.decodeArgs(m, ch, method.params);
    } catch (e) {
      const text = `${this.name}.${method.name} ${method.meta.parametersSignature}: bad arguments: ${errorMessage(e)}`;
      return void (answer && ch.replyError(m, text));
    }
    const ctx = new IncomingContext(ch.remote, ch);
    let result: unknown;
    try {
      result = this.object.invokeRaw(m.action, args, ctx);
    } catch (e) {
      return void (answer && ch.replyError(m, errorMessage(e)));
    }
    const async = typeof (result as PromiseLike<unknown> | null)?.then === 'function';
    if (async) {
      this.inFlight.add(ctx);
      const done = () => this.inFlight.delete(ctx);
      (result as PromiseLike<unknown>).then(done, done);
    }
    if (!answer) {
      // A Post gets no answer, not even an error; a failure must not go unhandled either.
      if (async) (result as PromiseLike<unknown>).then(undefined, () => {});
      return;
    }
    if (!async) return this.succeed(m, ch, method, result);
    // Asynchronous: remember the call so a Cancel can reach it, and answer when it settles.
    this.running.set(m.id, ctx);
    (result as PromiseLike<unknown>).then(
      (value) => {
        if (this.running.get(m.id) !== ctx) return;
        this.running.delete(m.id);
        this.succeed(m, ch, method, value);
      },
      (e: unknown) => {
        if (this.running.get(m.id) !== ctx) return;
        this.running.delete(m.id);
        if (ch.closed) return;
        if (ctx.isCanceled) ch.replyCanceled(m);
        else ch.replyError(m, errorMessage(e));
      },
    );
  }

  private succeed(m: Message, ch: Channel, method: MethodInfo, value: unknown): void {
    if (ch.closed) return; // the caller went away: nobody to answer
    try {
      ch.reply(m, method.returns, value);
    } catch (e) {
      ch.replyError(
        m,
        `${this.name}.${method.name} returned a value that does not fit its return type ${method.meta.returnSignature}: ${errorMessage(e)}`,
      );
    }
  }

  /** Arguments of a call: the parameter tuple, or one dynamic holding it (flag DynamicPayload). */
  private decodeArgs(m: Message, ch: Channel, params: Codec): unknown[] {
    const options = ch.codecOptions();
    if (m.flags & MessageFlags.DynamicPayload) {
      const d = m.decode('m', options) as Dynamic;
      if (!Array.isArray(d.value))
        throw new Error(`expected an argument tuple, got a dynamic of signature ${d.signature}`);
      return d.value;
    }
    const v = m.decode(params, options);
    return params.type.kind === 'tuple' && params.type.fields === undefined ? (v as unknown[]) : [v];
  }

  private builtin(m: Message, ch: Channel, answer: boolean): void {
    const reply = (sig: string | Codec, value: unknown) => answer && ch.reply(m, sig, value);
    const o = this.object;
    try {
      switch (m.action) {
        case Builtin.registerEvent:
        case Builtin.registerEventWithSignature: {
          const [, signalId, link] =
            m.action === Builtin.registerEvent
              ? m.decode(B.registerEvent.args)
              : m.decode(B.registerEventWithSignature.args);
          const s = o.type.signals.get(signalId);
          if (s === undefined)
            return void (answer && ch.replyError(m, `Cannot register event: no signal #${signalId} on ${this.name}.`));
          this.links.get(link)?.();
          const address = { service: this.service, object: this.objectId, action: signalId };
          this.links.set(
            link,
            o.subscribe(signalId, (args) => {
              if (!ch.closed) ch.emit(address, s.params, args);
            }),
          );
          return void reply(B.registerEvent.returns, ++serverLinks);
        }
        case Builtin.unregisterEvent: {
          const [, , link] = m.decode(B.unregisterEvent.args);
          const off = this.links.get(link);
          if (off === undefined && link !== 0xffff_ffff_ffff_ffffn) {
            return void (
              answer && ch.replyError(m, `Unregister request failed for ${link}: no such subscription on ${this.name}.`)
            );
          }
          off?.();
          this.links.delete(link);
          return void reply(B.unregisterEvent.returns, undefined);
        }
        case Builtin.metaObject:
          return void reply(B.metaObject.returns, o.type.metaObject);
        case Builtin.terminate:
          if (this.objectId !== 1) {
            this.close();
            this.object.released(this.channel);
            this.onTerminate?.();
          }
          return void reply(B.terminate.returns, undefined);
        case Builtin.property: {
          const uid = this.propertyId(m.decode(B.property.args));
          const signature = o.type.properties.get(uid)!.type.signature;
          return void this.settle(m, ch, answer, o.getUid(uid), (v) =>
            reply(B.property.returns, new Dynamic(signature, v)),
          );
        }
        case Builtin.setProperty: {
          const [key, value] = m.decode(B.setProperty.args, ch.codecOptions());
          const uid = this.propertyId([key]);
          const p = o.type.properties.get(uid)!;
          p.type.encode(value.value); // checks the value fits the property's type
          const set = o.writeUid(uid, value.value);
          return void this.settle(m, ch, answer, set, () => reply(B.setProperty.returns, undefined));
        }
        case Builtin.properties:
          return void reply(
            B.properties.returns,
            [...o.type.properties.values()].map((p) => p.name),
          );
        case Builtin.isStatsEnabled:
        case Builtin.enableStats:
        case Builtin.stats:
        case Builtin.clearStats:
        case Builtin.isTraceEnabled:
        case Builtin.enableTrace: {
          const member = o.type.methods.get(m.action)!;
          return void reply(member.returns, o.builtin(m.action, this.decodeArgs(m, ch, member.params)));
        }
        default:
          return void (
            answer &&
            ch.replyError(m, `No such method {${m.service}.${m.object}.${m.action}, id:${m.id}} on ${this.name}.`)
          );
      }
    } catch (e) {
      if (answer) ch.replyError(m, `${this.name}: ${errorMessage(e)}`);
    }
  }

  /** Answers with `then(value)`, at once or, for a promise (a forwarded object's property), once it settles. */
  private settle(m: Message, ch: Channel, answer: boolean, value: unknown, then: (v: unknown) => void): void {
    if (!(value instanceof Promise)) return then(value);
    value.then(
      (v) => {
        if (ch.closed) return;
        try {
          then(v);
        } catch (e) {
          if (answer) ch.replyError(m, `${this.name}: ${errorMessage(e)}`);
        }
      },
      (e: unknown) => answer && !ch.closed && ch.replyError(m, `${this.name}: ${errorMessage(e)}`),
    );
  }

  private propertyId([key]: [Dynamic]): number {
    const k = key.value;
    const p =
      typeof k === 'string'
        ? this.object.type.propertiesByName.get(k)
        : typeof k === 'number' || typeof k === 'bigint'
          ? this.object.type.properties.get(Number(k))
          : undefined;
    if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'bigint')
      throw new Error('Expected int or string for property index');
    if (p === undefined)
      throw new Error(
        `no property ${JSON.stringify(typeof k === 'bigint' ? Number(k) : k)} (properties: ${[...this.object.type.propertiesByName.keys()].join(', ') || 'none'})`,
      );
    return p.uid;
  }
}
