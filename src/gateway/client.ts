/**
 * One outside client of the gateway: a ServiceDirectory of its own (the services its permissions let
 * it see, each reachable only through the gateway), and a forwarder for every other service. Calls go
 * upstream under fresh ids and their answers come back under the client's ids; payloads are passed
 * through as bytes, decoded only where a permission needs a name (signal ids, property names).
 */
import {
  CANCEL_CODEC,
  IdTable,
  QiCallError,
  QiLimitError,
  errorText,
  noObjectText,
  type Channel,
  type ForwardedCall,
  type MessageHandler,
} from '../channel/index.js';
import { MessageType, type Message } from '../message/index.js';
import { Builtin, BuiltinMethods as B } from '../object/index.js';
import type { ServiceInfo } from '../session/index.js';
import { needsReferenceScan, type MetaObject } from '../type/index.js';
import type { Identity } from './access.js';
import { ClientObjects } from './client-objects.js';
import type { GatewayContext } from './context.js';
import { asClientSees, hideInside } from './errors.js';
import { ClientHeld } from './held.js';
import type { MemberKind } from './policy.js';
import { overBytes } from './quotas.js';
import { ClientRoutes } from './routes.js';
import { ClientDirectory } from './sd-view.js';
import type { EventSink } from './upstream.js';

/**
 * The member behind an event id. A property and its change signal share one id (in libqi's MetaObject
 * too): such a member is a `property`, whichever list names it, so one rule covers watching it,
 * emitting it and reading or writing it.
 */
function eventMember(meta: MetaObject, id: number): { kind: MemberKind; name: string } | undefined {
  const prop = meta.properties.get(id);
  if (prop !== undefined) return { kind: 'property', name: prop.name };
  const sig = meta.signals.get(id);
  return sig === undefined ? undefined : { kind: 'signal', name: sig.name };
}

/**
 * A call forwarded upstream for the client: its message, the gateway's id for it, and what its answer
 * needs. One object per call, which is also the entry of both tables (the client's ids here, the
 * gateway's ids in the upstream channel's forwarding) and what takes the answer.
 */
class Relayed implements ForwardedCall {
  /** The gateway's id of the call upstream (0 until it is sent). */
  id = 0;
  /** Set for a large call: ends its count on the lane of its connection (Upstream.large). */
  done: (() => void) | undefined;

  constructor(
    readonly client: ClientConnection,
    /** The client's call. */
    readonly m: Message,
    readonly channel: Channel,
    /** Set when the answer may hold objects of the service. */
    readonly returnSignature: string | undefined,
    /** Bytes of arguments forwarded, counted in the client's quota until the answer. */
    readonly bytes: number,
  ) {}

  get service(): number {
    return this.m.service;
  }

  get object(): number {
    return this.m.object;
  }

  get action(): number {
    return this.m.action;
  }

  answered(answer: Message | undefined, error?: Error): void {
    this.done?.();
    this.client.answered(this, answer, error);
  }
}

/** One outside connection; see the module comment. */
export class ClientConnection implements MessageHandler, EventSink {
  /** This client's view of the ServiceDirectory. */
  readonly directory: ClientDirectory;
  /** Calls forwarded upstream, by the client's id (the channel refuses a second call under an id still pending). */
  private readonly pending = new IdTable<Relayed>();
  /** Bytes of arguments of `pending` calls. */
  private pendingBytes = 0;
  /** Bytes of arguments of calls waiting for a MetaObject or a connection before they can be forwarded. */
  private waitingBytes = 0;
  /** Calls waiting for a lane to open, by the client's id: true once the client canceled one (see onLane). */
  private readonly early = new Map<number, boolean>();
  /** Objects this client passed to services, relayed under gateway ids. */
  private readonly objects: ClientObjects;
  /** Objects services returned to this client, terminated upstream when it leaves without releasing them. */
  private readonly held: ClientHeld;
  /** What this client may do, decided once per service and method. */
  private readonly routes: ClientRoutes;
  private closed = false;

  constructor(
    private readonly gw: GatewayContext,
    readonly channel: Channel,
    readonly identity: Identity,
  ) {
    this.directory = new ClientDirectory(gw, channel, identity, this.who);
    this.objects = new ClientObjects(channel, gw.maxReferenceScan);
    this.held = new ClientHeld(gw.held, gw.maxReferenceScan);
    this.routes = new ClientRoutes(identity.policy);
    channel.bindFallback(this);
    channel.errorFilter = hideInside(gw.log, () => `${this.who} at ${channel.remote}`);
    gw.metrics.clients++;
    channel.onClose((e) => this.close(e));
  }

  /** Who the client is, for messages: `user "alice"` or `an anonymous client`. */
  get who(): string {
    return this.identity.user === undefined ? 'an anonymous client' : `user "${this.identity.user}"`;
  }

  /** Tells the client about a service that appeared inside (when it may see it). */
  added(info: ServiceInfo): void {
    this.directory.added(info);
  }

  /** Tells the client about a service that went away (when it could see it). */
  removed(id: number, name: string): void {
    this.routes.forget(id);
    this.directory.removed(id, name);
  }

  onMessage(m: Message): void {
    if (this.closed) return;
    if (m.type === MessageType.Cancel) return this.cancel(m);
    if (this.overQuota(m, this.pendingBytes + this.waitingBytes)) return;
    const info = this.gw.upstream.services.get(m.service);
    if (info === undefined || !this.routes.sees(info)) {
      if (m.type === MessageType.Call)
        this.fail(
          m,
          `Service #${m.service} is not available through this gateway: it stopped, or was never registered, or is not visible to ${this.who}. List what is available with \`qi services\`.`,
        );
      return;
    }
    // Object ids are sequential on the shared upstream connection: besides a service's main object, a
    // client reaches only the objects it received, and any other answers exactly as a missing one.
    if (m.object !== 1 && !this.held.reaches(m.service, m.object)) {
      if (m.type === MessageType.Call) this.fail(m, noObjectText(m));
      return;
    }
    const meta = this.gw.upstream.metaNow(m.service, m.object);
    if (meta !== undefined) return this.route(m, info, meta);
    this.waiting(m, this.gw.upstream.meta(m.service, m.object)).then(
      (mo) => this.route(m, info, mo),
      (e: Error) => {
        if (m.type !== MessageType.Call) return;
        // The service no longer serves the object: its answer names the gateway's own call, so say it as a missing object.
        if (m.object !== 1 && e instanceof QiCallError) return this.fail(m, noObjectText(m));
        this.fail(m, `${info.name}: the gateway could not reach the service (${e.message}).`);
      },
    );
  }

  /** Checks permissions by member kind, then forwards or handles the built-in action. */
  private route(m: Message, info: ServiceInfo, meta: MetaObject): void {
    if (this.closed) return;
    try {
      switch (m.action) {
        case Builtin.registerEvent:
        case Builtin.registerEventWithSignature:
          return this.subscribe(m, info, meta);
        case Builtin.unregisterEvent: {
          const [, signal, link] = m.decode(B.unregisterEvent.args);
          this.gw.upstream.unsubscribe(m.service, m.object, signal, this, link);
          return this.channel.reply(m, B.unregisterEvent.returns, undefined);
        }
        case Builtin.terminate:
          if (!this.held.terminated(m.service, m.object)) {
            // Another client still holds this object: the service must keep it.
            if (m.type === MessageType.Call) this.channel.reply(m, B.terminate.returns, undefined);
            return;
          }
          this.gw.upstream.forgetMeta(m.service, m.object);
          return this.forward(m);
        case Builtin.metaObject:
        case Builtin.properties:
          return this.forward(m);
        case Builtin.isStatsEnabled:
        case Builtin.enableStats:
        case Builtin.stats:
        case Builtin.clearStats:
        case Builtin.isTraceEnabled:
        case Builtin.enableTrace:
          // Statistics and traces show every caller's calls: they take a monitor: rule.
          if (this.check(m, info, 'monitor', meta.methods.get(m.action)?.name ?? `#${m.action}`)) this.forward(m);
          return;
        case Builtin.property:
        case Builtin.setProperty: {
          const [key] = m.decode(B.property.args);
          const k = key.value;
          const name = typeof k === 'string' ? k : (meta.properties.get(Number(k))?.name ?? `#${String(k)}`);
          if (!this.check(m, info, 'property', name)) return;
          // A property value may hold objects: the client reaches them once it read them.
          return this.forward(m, undefined, m.action === Builtin.property ? 'm' : undefined);
        }
        default: {
          const method = this.routes.method(info, m.object, meta, m.action);
          if (method === undefined) {
            // A Post to a signal (or to a property's id) emits it: that needs the member's permission.
            const ev = eventMember(meta, m.action);
            if (m.type === MessageType.Post && ev !== undefined) {
              if (this.check(m, info, ev.kind, ev.name)) this.forward(m);
            } else if (m.type === MessageType.Call)
              this.fail(m, `${info.name} has no method #${m.action} (its MetaObject does not list it).`);
            return;
          }
          if (!method.allowed) return this.deny(m, info, 'method', method.name);
          return this.forward(m, method.args, method.returns);
        }
      }
    } catch (e) {
      if (m.type === MessageType.Call)
        this.fail(m, `${info.name}: malformed arguments for action #${m.action} (${(e as Error).message}).`);
    }
  }

  private allowed(kind: MemberKind, info: ServiceInfo, member: string): boolean {
    return this.identity.policy.allows(kind, info.name, member);
  }

  private check(m: Message, info: ServiceInfo, kind: MemberKind, member: string): boolean {
    if (this.allowed(kind, info, member)) return true;
    this.deny(m, info, kind, member);
    return false;
  }

  /** Counts a refusal, and tells the client when it was a Call. */
  private deny(m: Message, info: ServiceInfo, kind: MemberKind, member: string): void {
    this.gw.metrics.denied++;
    if (m.type === MessageType.Call) {
      this.fail(
        m,
        `Permission denied: ${this.who} may not use ${kind} ${info.name}.${member} through this gateway. Ask the robot's administrator to allow "${kind}:${info.name}.${member}" for this user in the gateway configuration.`,
      );
    }
  }

  private subscribe(m: Message, info: ServiceInfo, meta: MetaObject): void {
    // The first argument is the service id in libqi clients, and ignored by servers: the header addresses the object.
    const [, signal, link] =
      m.action === Builtin.registerEvent ? m.decode(B.registerEvent.args) : m.decode(B.registerEventWithSignature.args);
    const object = m.object;
    const ev = eventMember(meta, signal);
    if (ev === undefined) return this.fail(m, `${info.name} has no signal or property #${signal}.`);
    const name = ev.name;
    if (!this.check(m, info, signal === Builtin.traceObject ? 'monitor' : ev.kind, name)) return;
    this.gw.upstream.subscribe(m.service, object, signal, this, link).then(
      () => !this.closed && this.channel.reply(m, B.registerEvent.returns, link),
      (e: Error) => {
        if (this.closed) return;
        this.gw.upstream.unsubscribe(m.service, object, signal, this, link);
        this.fail(m, `Could not subscribe to ${info.name}.${name}: ${e.message}`);
      },
    );
  }

  /**
   * Forwards upstream; `argsSignature` is given when the arguments may hold objects of this client,
   * `returnSignature` when the answer may hold objects of the service.
   */
  private forward(m: Message, argsSignature?: string, returnSignature?: string): void {
    const ch = this.gw.upstream.channelNow(m.service);
    if (ch !== undefined && !ch.closed) return this.send(ch, m, argsSignature, returnSignature);
    this.waiting(m, this.gw.upstream.channel(m.service)).then(
      (c) => this.send(c, m, argsSignature, returnSignature),
      (e: Error) =>
        m.type === MessageType.Call && this.fail(m, `The gateway could not reach service #${m.service}: ${e.message}`),
    );
  }

  private send(ch: Channel, m: Message, argsSignature?: string, returnSignature?: string, laned = false): void {
    if (this.closed) return;
    if (!laned && m.type === MessageType.Call && m.object === 1 && argsSignature === undefined && !returnSignature) {
      // A service's main object, no object either way: the call may take the lane of a connection busy
      // with a large message (other objects live on the connection that carried them).
      const via = this.gw.upstream.lane(ch, m.payload.length);
      if (via instanceof Promise) return this.onLane(m, via);
      ch = via;
    }
    let payload = m.payload;
    if (argsSignature !== undefined) {
      try {
        payload = this.objects.rewrite(m, argsSignature, ch);
      } catch (e) {
        if (m.type === MessageType.Call) this.fail(m, (e as Error).message);
        return;
      }
    }
    if (this.overQuota(m, this.pendingBytes, payload.length)) return;
    this.gw.metrics.forwarded++;
    if (m.type !== MessageType.Call) {
      ch.raw.forward(m, m.type, m.flags, payload, () => {});
      return;
    }
    const r = new Relayed(this, m, ch, returnSignature, payload.length);
    // Arguments passed as they came (not rewritten) go with the bytes received: header rewritten in place.
    r.done = this.gw.upstream.large(ch, payload.length);
    r.id = ch.raw.forwardCall(r, m.type, m.flags, payload, payload === m.payload ? m : undefined);
    if (r.id === 0) r.done?.();
    else {
      this.pending.set(m.id, r);
      this.pendingBytes += r.bytes;
    }
  }

  /**
   * Sends `m` once the lane it takes is open. A Cancel meanwhile is passed on right after it, as it
   * would have been on the main connection: the service answers as it does to any canceled call.
   */
  private onLane(m: Message, lane: Promise<Channel>): void {
    this.early.set(m.id, false);
    void this.waiting(m, lane).then((c) => {
      const canceled = this.early.get(m.id);
      this.early.delete(m.id);
      this.send(c, m, undefined, undefined, true);
      const f = this.pending.get(m.id);
      if (canceled && f !== undefined) f.channel.raw.cancel(f.id);
    });
  }

  /** @internal The answer of a call forwarded for this client (`undefined`: none will come, `error` says why). */
  answered(r: Relayed, answer: Message | undefined, error?: Error): void {
    const { m, channel: ch, returnSignature } = r;
    if (this.pending.get(m.id) === r) {
      this.pending.delete(m.id);
      this.pendingBytes -= r.bytes;
    }
    if (this.closed) {
      // The client left while the call was on its way: nobody holds the objects in its answer.
      if (answer !== undefined && returnSignature !== undefined && answer.type === MessageType.Reply) {
        for (const o of this.held.orphaned(ch, returnSignature, answer, ch.codecOptions()))
          this.gw.upstream.forgetMeta(o.service, o.object);
      }
      return;
    }
    if (answer === undefined) {
      const name = this.gw.upstream.services.get(m.service)?.name ?? `service #${m.service}`;
      return this.fail(
        m,
        `${name} stopped answering while this call was pending: ${error?.message ?? 'its connection closed'}. Retry once the service is back (watch serviceAdded).`,
      );
    }
    if (returnSignature !== undefined && answer.type === MessageType.Reply)
      this.held.received(ch, returnSignature, answer, ch.codecOptions());
    // A service's error quotes the call under the gateway's id: the client reads its own (then hideInside).
    if (answer.type === MessageType.Error) return this.fail(m, asClientSees(errorText(answer), r.id, m.id));
    // A client 4x over its output bound is disconnected by the channel.
    this.channel.raw.send(
      { id: m.id, type: answer.type, flags: answer.flags, service: m.service, object: m.object, action: m.action },
      answer.payload,
      answer,
    );
  }

  /** Refuses a call whose arguments would take the client over its quota of bytes (`held` already counted). */
  private overQuota(m: Message, held: number, bytes = m.payload.length): boolean {
    if (m.type !== MessageType.Call) return false;
    const over = overBytes(held, bytes, this.gw.maxPendingBytes);
    if (over !== undefined) this.fail(m, over);
    return over !== undefined;
  }

  /** `p`, with the arguments of `m` counted in the client's quota until it settles. */
  private waiting<T>(m: Message, p: Promise<T>): Promise<T> {
    if (m.type !== MessageType.Call) return p;
    this.waitingBytes += m.payload.length;
    const done = () => void (this.waitingBytes -= m.payload.length);
    p.then(done, done);
    return p;
  }

  private cancel(m: Message): void {
    let target: number;
    try {
      target = m.decode(CANCEL_CODEC);
    } catch {
      return; // a malformed Cancel changes nothing, as in libqi
    }
    if (this.early.has(target)) return void this.early.set(target, true);
    const f = this.pending.get(target);
    if (f === undefined) return;
    // When the service cannot cancel, its normal answer still comes back in due course.
    f.channel.raw.cancel(f.id);
  }

  /** One upstream emission of a signal this client subscribed to. */
  event(m: Message, _link: bigint): void {
    if (this.closed) return;
    // Dropped (or the client disconnected, with limits.slowPeer 'disconnect') when it does not read.
    if (
      !this.channel.raw.relayEvent(
        { id: m.id, flags: m.flags, service: m.service, object: m.object, action: m.action },
        m.payload,
      )
    ) {
      this.gw.metrics.droppedEvents++;
      return;
    }
    this.receivedIn(m);
  }

  /** Records the objects a signal emission carries to this client: it reaches them from now on. */
  private receivedIn(m: Message): void {
    const meta = this.gw.upstream.metaNow(m.service, m.object);
    const ch = this.gw.upstream.channelNow(m.service);
    if (meta === undefined || ch === undefined) return;
    const property = meta.properties.get(m.action);
    const signature =
      meta.signals.get(m.action)?.signature ?? (property === undefined ? undefined : `(${property.signature})`);
    if (signature !== undefined && needsReferenceScan(signature))
      this.held.received(ch, signature, m, ch.codecOptions());
  }

  private fail(m: Message, text: string): void {
    if (!this.channel.closed) this.channel.replyError(m, text);
  }

  /**
   * Releases what the client held upstream: its pending calls are canceled, its subscriptions dropped.
   * `error` is why the connection closed (a QiLimitError: the client did not read fast enough).
   */
  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.gw.metrics.clients--;
    // One line per session an error ended, whatever carried it: the gateway and its other clients go on.
    if (error !== undefined)
      this.gw.sessionEnded(
        (more) => `gateway: the session of ${this.who} at ${this.channel.remote} ended: ${error.message}${more}`,
      );
    if (error instanceof QiLimitError) this.gw.metrics.slowDisconnects++;
    // A call whose answer may hold objects is still listened to: they must be terminated when it comes.
    for (const f of this.pending.valueList()) {
      f.channel.raw.cancel(f.id, f.returnSignature === undefined);
      f.done?.(); // a forgotten call is no longer waited for
    }
    this.pending.clear();
    this.pendingBytes = 0;
    this.gw.upstream.unsubscribeAll(this);
    this.objects.close();
    for (const o of this.held.close()) this.gw.upstream.forgetMeta(o.service, o.object);
  }
}
