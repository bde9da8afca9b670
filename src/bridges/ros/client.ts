/**
 * One rosbridge client (one WebSocket): its operations, subscriptions, advertised topics and pending
 * calls. Every failure is answered per the rosbridge protocol (a `status` message, and a failed
 * `service_response` for calls) and never closes the connection; closing it releases everything.
 */
import type { WebSocket } from 'ws';
import type { ObjectBackend } from '../../object/index.js';
import { RosValueError } from './json.js';
import { messageOf, messageOfArgs, argsFromRos } from './messages.js';
import { argsForMethod, findMember, RosLookupError, type Member } from './members.js';
import { parseRosName, type RosAccessKind, type RosAllowlist } from './names.js';
import {
  CLIENT_OPS,
  Fragments,
  LEVELS,
  RosProtocolError,
  field,
  idOf,
  parseOp,
  shown,
  type IncomingOp,
  type StatusLevel,
} from './protocol.js';
import type { RosPeer, ServedServices } from './served.js';

/** Counters of a bridge. */
export interface RosBridgeMetrics {
  clients: number;
  calls: number;
  published: number;
  /** Topic subscriptions in place (one per client and topic). */
  subscriptions: number;
  /** Topic messages not sent to a client that did not keep up. */
  dropped: number;
  /** Operations refused: not allowlisted, unknown, malformed. */
  refused: number;
}

/** What a client needs from its bridge. */
export interface BridgeCore {
  readonly prefix: string;
  readonly allow: RosAllowlist;
  readonly callTimeoutMs: number;
  readonly maxBufferedBytes: number;
  readonly maxMessageBytes: number;
  readonly served: ServedServices;
  readonly metrics: RosBridgeMetrics;
  /** The object behind a qi service name. */
  backend(service: string): Promise<ObjectBackend>;
}

interface Subscription {
  ids: Set<string>;
  off?: () => Promise<void>;
  closed: boolean;
  throttleMs: number;
  last: number;
  timer?: NodeJS.Timeout;
  latest?: Record<string, unknown>;
}

/** A refusal that goes back to the client as an error status. */
class Refused extends Error {}

const KIND_WORDS: Record<RosAccessKind, string> = {
  method: 'calling',
  signal: 'subscribing to',
  emit: 'publishing into the signal',
  property: 'subscribing to the property',
  set: 'publishing into the property',
  serve: 'serving',
};

/** The bridge side of one rosbridge connection. */
export class RosClient implements RosPeer {
  private level: StatusLevel = 'error';
  private readonly subs = new Map<string, Subscription>();
  private readonly advertised = new Set<string>();
  private readonly calls = new Set<AbortController>();
  private readonly servedNames = new Map<string, { service: string; method: string }>();
  private readonly fragments: Fragments;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly core: BridgeCore,
    readonly remote: string,
  ) {
    this.fragments = new Fragments(core.maxMessageBytes);
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('close', () => void this.close());
    ws.on('error', () => ws.terminate());
  }

  send(message: Record<string, unknown>): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  private status(level: Exclude<StatusLevel, 'none'>, msg: string, id?: string): void {
    if (shown(level, this.level))
      this.send(id === undefined ? { op: 'status', level, msg } : { op: 'status', id, level, msg });
  }

  private onFrame(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (isBinary) {
      this.core.metrics.refused++;
      return this.status(
        'error',
        'binary messages (CBOR, BSON) are not supported by this bridge: send JSON text messages',
      );
    }
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    this.onText(text);
  }

  private onText(text: string): void {
    let m: IncomingOp;
    try {
      m = parseOp(text);
    } catch (e) {
      this.core.metrics.refused++;
      return this.status('error', (e as Error).message, (e as RosProtocolError).id);
    }
    this.handle(m).catch((e: unknown) => {
      if (e instanceof Refused || e instanceof RosProtocolError) this.core.metrics.refused++;
      this.status('error', e instanceof Error ? e.message : String(e), idOf(m));
    });
  }

  private async handle(m: IncomingOp): Promise<void> {
    switch (m.op as (typeof CLIENT_OPS)[number]) {
      case 'call_service':
        return this.callService(m);
      case 'subscribe':
        return this.subscribe(m);
      case 'unsubscribe':
        return this.unsubscribe(m);
      case 'publish':
        return this.publish(m);
      case 'advertise':
        return this.advertise(m);
      case 'unadvertise':
        return this.unadvertise(m);
      case 'advertise_service':
        return this.advertiseService(m);
      case 'unadvertise_service':
        return this.unadvertiseService(m);
      case 'service_response':
        if (!this.core.served.respond(this, m))
          this.status(
            'warning',
            `service_response: no call with id ${JSON.stringify(idOf(m) ?? null)} is waiting for this client's answer (answered already, timed out or canceled)`,
            idOf(m),
          );
        return;
      case 'set_level': {
        const level = m.level as StatusLevel;
        if (!LEVELS.includes(level)) throw new Refused(`set_level: "level" is one of ${LEVELS.join(', ')}`);
        this.level = level;
        return;
      }
      case 'fragment': {
        const whole = this.fragments.add(m);
        if (whole !== undefined) this.onText(whole);
        return;
      }
      case 'auth':
        throw new Refused(
          'auth: this bridge has no authentication (it was started with --insecure-unauthenticated, for trusted networks only); nothing to authenticate',
        );
      default:
        throw new Refused(
          `unknown op ${JSON.stringify(m.op).slice(0, 60)}; this bridge understands ${CLIENT_OPS.join(', ')}`,
        );
    }
  }

  /** The qi target of a ROS name, checked against the allowlist before anything is looked up. */
  private target(name: string, op: string, kinds: readonly RosAccessKind[]): { service: string; member: string } {
    const t = parseRosName(this.core.prefix, name);
    const { prefix } = this.core;
    if (t === undefined)
      throw new Refused(
        `${op}: unknown name ${name}: this bridge only maps qi members, named ${prefix}/<Service>/<member> (e.g. ${prefix}/ALTextToSpeech/say)`,
      );
    if (!kinds.some((k) => this.core.allow.allows(k, t.service, t.member))) {
      const k = kinds[0];
      throw new Refused(
        `${op}: ${name} is not allowlisted: ${KIND_WORDS[k]} ${t.service}.${t.member} is not allowed by this bridge's rules (its operator may add --allow '${k}:${t.service}.${t.member}')`,
      );
    }
    return t;
  }

  private async member(
    service: string,
    name: string,
    ros: string,
  ): Promise<{ backend: ObjectBackend; member: Member }> {
    let backend: ObjectBackend;
    try {
      backend = await this.core.backend(service);
    } catch (e) {
      throw new Refused(`unknown name ${ros}: no qi service "${service}" could be reached (${(e as Error).message})`);
    }
    try {
      return { backend, member: findMember(backend, service, name, ros) };
    } catch (e) {
      throw new Refused((e as RosLookupError).message);
    }
  }

  private async callService(m: IncomingOp): Promise<void> {
    const id = idOf(m);
    let service = '';
    const answer = (result: boolean, values: unknown) =>
      this.send({ op: 'service_response', ...(id === undefined ? {} : { id }), service, values, result });
    try {
      service = field(m, 'service');
      const t = this.target(service, 'call_service', ['method']);
      const { backend, member } = await this.member(t.service, t.member, service);
      if (member.kind !== 'method')
        throw new Refused(`call_service: ${service} is a qi ${member.kind}, not a method: subscribe to it as a topic`);
      let mapped: ReturnType<typeof argsForMethod>;
      try {
        mapped = argsForMethod(member.overloads, m.args, `${service}`);
      } catch (e) {
        throw new Refused(`call_service: wrong args: ${(e as Error).message}`);
      }
      const seconds = typeof m.timeout === 'number' && m.timeout > 0 ? m.timeout : undefined;
      const ac = new AbortController();
      this.calls.add(ac);
      this.core.metrics.calls++;
      try {
        const result = await backend.call(t.member, mapped.args, {
          signal: ac.signal,
          timeoutMs: seconds !== undefined ? seconds * 1000 : this.core.callTimeoutMs,
        });
        answer(true, messageOf(result, mapped.method.returns.type));
      } finally {
        this.calls.delete(ac);
      }
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (e instanceof Refused || e instanceof RosProtocolError) this.core.metrics.refused++;
      answer(false, msg);
      this.status('error', msg, id);
    }
  }

  private async subscribe(m: IncomingOp): Promise<void> {
    const topic = field(m, 'topic');
    const id = idOf(m) ?? '';
    const throttle = typeof m.throttle_rate === 'number' && m.throttle_rate > 0 ? m.throttle_rate : 0;
    if (typeof m.compression === 'string' && m.compression !== 'none')
      this.status(
        'warning',
        `subscribe: compression "${m.compression}" is not supported; messages on ${topic} are sent as JSON`,
        idOf(m),
      );
    const known = this.subs.get(topic);
    if (known !== undefined) {
      known.ids.add(id);
      known.throttleMs = Math.min(known.throttleMs, throttle);
      return;
    }
    const t = this.target(topic, 'subscribe', ['signal', 'property']);
    const sub: Subscription = { ids: new Set([id]), closed: false, throttleMs: throttle, last: 0 };
    this.subs.set(topic, sub);
    try {
      const { backend, member } = await this.member(t.service, t.member, topic);
      if (member.kind === 'method')
        throw new Refused(`subscribe: ${topic} is a qi method, not a signal or property: call it with call_service`);
      const kind = member.kind === 'signal' ? 'signal' : 'property';
      if (!this.core.allow.allows(kind, t.service, t.member))
        throw new Refused(
          `subscribe: ${topic} is not allowlisted: ${KIND_WORDS[kind]} ${t.service}.${t.member} is not allowed by this bridge's rules (its operator may add --allow '${kind}:${t.service}.${t.member}')`,
        );
      const deliver =
        member.kind === 'signal'
          ? (args: unknown[]) =>
              this.deliver(
                topic,
                sub,
                messageOfArgs(
                  args,
                  member.params.map((p) => p.sig),
                ),
              )
          : (args: unknown[]) => this.deliver(topic, sub, messageOf(args[0], member.type));
      const off = await backend.subscribe(t.member, deliver);
      if (sub.closed) return void off().catch(() => {});
      sub.off = off;
      this.core.metrics.subscriptions++;
      // A property is latched: its value now, then its changes.
      if (member.kind === 'property') deliver([await backend.getProperty(t.member)]);
    } catch (e) {
      if (this.subs.get(topic) === sub) this.subs.delete(topic);
      throw e;
    }
  }

  private deliver(topic: string, sub: Subscription, msg: Record<string, unknown>): void {
    if (sub.closed) return;
    const out = (message: Record<string, unknown>) => {
      sub.last = Date.now();
      if (this.ws.bufferedAmount > this.core.maxBufferedBytes) this.core.metrics.dropped++;
      else this.send({ op: 'publish', topic, msg: message });
    };
    if (sub.throttleMs <= 0) return out(msg);
    const wait = sub.last + sub.throttleMs - Date.now();
    if (wait <= 0) return out(msg);
    sub.latest = msg; // only the newest waits for the end of the interval
    sub.timer ??= setTimeout(() => {
      sub.timer = undefined;
      const latest = sub.latest;
      sub.latest = undefined;
      if (!sub.closed && latest !== undefined) out(latest);
    }, wait);
  }

  private async unsubscribe(m: IncomingOp): Promise<void> {
    const topic = field(m, 'topic');
    const sub = this.subs.get(topic);
    const id = idOf(m);
    if (sub === undefined || (id !== undefined && !sub.ids.has(id))) {
      this.status('warning', `unsubscribe: not subscribed to ${topic}${id === undefined ? '' : ` with id ${id}`}`, id);
      return;
    }
    if (id !== undefined) sub.ids.delete(id);
    else sub.ids.clear();
    if (sub.ids.size === 0) await this.endSubscription(topic, sub);
  }

  private async endSubscription(topic: string, sub: Subscription): Promise<void> {
    this.subs.delete(topic);
    sub.closed = true;
    clearTimeout(sub.timer);
    if (sub.off !== undefined) this.core.metrics.subscriptions--;
    await sub.off?.().catch(() => {});
  }

  private async publish(m: IncomingOp): Promise<void> {
    const topic = field(m, 'topic');
    const t = this.target(topic, 'publish', ['method', 'emit', 'set']);
    const { backend, member } = await this.member(t.service, t.member, topic);
    const kind: RosAccessKind = member.kind === 'method' ? 'method' : member.kind === 'signal' ? 'emit' : 'set';
    if (!this.core.allow.allows(kind, t.service, t.member))
      throw new Refused(
        `publish: ${topic} is not allowlisted: ${KIND_WORDS[kind]} ${t.service}.${t.member} is not allowed by this bridge's rules (its operator may add --allow '${kind}:${t.service}.${t.member}')`,
      );
    try {
      if (member.kind === 'method') {
        const { args } = argsForMethod(member.overloads, m.msg, topic);
        backend.post(t.member, args);
      } else if (member.kind === 'signal') {
        backend.post(t.member, argsFromRos(member.params, m.msg, topic));
      } else {
        const [value] = argsFromRos([{ sig: member.type, name: 'value' }], m.msg, topic);
        await backend.setProperty(t.member, value);
      }
    } catch (e) {
      if (e instanceof RosValueError) throw new Refused(`publish: wrong msg: ${e.message}`);
      throw e;
    }
    this.core.metrics.published++;
  }

  private async advertise(m: IncomingOp): Promise<void> {
    const topic = field(m, 'topic');
    const t = this.target(topic, 'advertise', ['method', 'emit', 'set']);
    const { member } = await this.member(t.service, t.member, topic);
    const kind: RosAccessKind = member.kind === 'method' ? 'method' : member.kind === 'signal' ? 'emit' : 'set';
    if (!this.core.allow.allows(kind, t.service, t.member))
      throw new Refused(
        `advertise: ${topic} is not allowlisted: ${KIND_WORDS[kind]} ${t.service}.${t.member} is not allowed by this bridge's rules (its operator may add --allow '${kind}:${t.service}.${t.member}')`,
      );
    this.advertised.add(topic);
    this.status(
      'info',
      `advertise: publishing on ${topic} reaches the qi ${member.kind} ${t.service}.${t.member}`,
      idOf(m),
    );
  }

  private async unadvertise(m: IncomingOp): Promise<void> {
    const topic = field(m, 'topic');
    if (!this.advertised.delete(topic))
      this.status('warning', `unadvertise: ${topic} was not advertised by this client`, idOf(m));
  }

  private async advertiseService(m: IncomingOp): Promise<void> {
    const service = field(m, 'service');
    const type = typeof m.type === 'string' ? m.type : '';
    const t = parseRosName(this.core.prefix, service);
    const { prefix } = this.core;
    if (t === undefined)
      throw new Refused(
        `advertise_service: ROS services offered to qi must be named ${prefix}/<Service>/<method>, e.g. ${prefix}/RosPlanner/plan (got ${service})`,
      );
    if (!this.core.allow.allows('serve', t.service, t.member)) {
      throw new Refused(
        `advertise_service: ${service} is not allowlisted: serving the qi service ${t.service} is not allowed by this bridge's rules (its operator may add --allow 'serve:${t.service}.*')`,
      );
    }
    try {
      await this.core.served.advertise(this, t.service, t.member, service, type);
    } catch (e) {
      throw new Refused(
        `advertise_service: cannot serve ${service} as the qi method ${t.service}.${t.member}: ${(e as Error).message}`,
      );
    }
    this.servedNames.set(service, { service: t.service, method: t.member });
    this.status('info', `advertise_service: qi clients now reach ${service} as ${t.service}.${t.member}`, idOf(m));
  }

  private async unadvertiseService(m: IncomingOp): Promise<void> {
    const service = field(m, 'service');
    const s = this.servedNames.get(service);
    if (s === undefined || !(await this.core.served.unadvertise(this, s.service, s.method))) {
      this.status('warning', `unadvertise_service: ${service} is not served by this client`, idOf(m));
      return;
    }
    this.servedNames.delete(service);
  }

  /** Releases everything this client holds: subscriptions, pending calls, the services it served. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ac of this.calls) ac.abort(new Error(`the ROS client ${this.remote} disconnected`));
    this.calls.clear();
    await Promise.all([...this.subs].map(([topic, sub]) => this.endSubscription(topic, sub)));
    await this.core.served.dropOwner(this);
  }

  /** Closes the WebSocket (and releases everything). */
  async terminate(): Promise<void> {
    this.ws.close(1001, 'the ROS bridge is closing');
    await this.close();
  }
}
