/**
 * Signal fan-out: one subscription made on a connection (registerEvent with the gateway's own link id)
 * serves every sink that watches the same signal of the same object; each sink keeps the link ids it
 * chose. The last sink to leave ends the subscription (unregisterEvent).
 */
import type { Channel } from '../channel/index.js';
import type { Message } from '../message/index.js';
import { registerEvent, unregisterEvent } from '../object/index.js';

/** Receives the emissions of a subscription (an outside client, or an inside one). */
export interface EventSink {
  /** One emission, to deliver under the sink's own `link`. */
  event(m: Message, link: bigint): void;
}

interface Subscription {
  key: string;
  service: number;
  object: number;
  signal: number;
  channel: Channel;
  /** The link id registered on `channel`. */
  link: bigint;
  /** Subscribers and the link ids they chose. */
  sinks: Map<EventSink, Set<bigint>>;
  ready: Promise<void>;
  off: () => void;
}

const skey = (s: number, o: number, sig: number) => `${s}.${o}.${sig}`;

/** Shared subscriptions, keyed by (service, object, signal). */
export class SignalHub {
  private readonly subs = new Map<string, Subscription>();
  private nextLink = 1n;

  /** The live subscription of a signal, if any. */
  find(service: number, object: number, signal: number): Subscription | undefined {
    return this.subs.get(skey(service, object, signal));
  }

  /** Number of live subscriptions. */
  get size(): number {
    return this.subs.size;
  }

  /** Adds `sink` under `link`; subscribes on `channel` when it is the first. Rejects when the subscription fails. */
  async subscribe(
    channel: Channel,
    service: number,
    object: number,
    signal: number,
    sink: EventSink,
    link: bigint,
  ): Promise<void> {
    const k = skey(service, object, signal);
    let s = this.subs.get(k);
    if (s === undefined) {
      const sub: Subscription = {
        key: k,
        service,
        object,
        signal,
        channel,
        link: this.nextLink++,
        sinks: new Map(),
        ready: Promise.resolve(),
        off: () => {},
      };
      sub.off = channel.onEvent(service, object, (m) => {
        if (m.action !== signal) return;
        for (const [to, links] of sub.sinks) for (const l of links) to.event(m, l);
      });
      sub.ready = registerEvent(channel, sub, signal, sub.link, { name: `registerEvent ${k}` }).then(() => {});
      this.subs.set(k, sub);
      sub.ready.catch(() => this.drop(sub));
      s = sub;
    }
    let links = s.sinks.get(sink);
    if (links === undefined) s.sinks.set(sink, (links = new Set()));
    links.add(link);
    try {
      await s.ready;
    } catch (e) {
      links.delete(link);
      throw e;
    }
  }

  /** Removes one link of `sink` (all without `link`); the subscription ends with its last sink. */
  unsubscribe(service: number, object: number, signal: number, sink: EventSink, link?: bigint): void {
    const s = this.subs.get(skey(service, object, signal));
    const links = s?.sinks.get(sink);
    if (s === undefined || links === undefined) return;
    if (link === undefined) links.clear();
    else links.delete(link);
    if (links.size === 0) s.sinks.delete(sink);
    if (s.sinks.size > 0) return;
    this.drop(s);
    if (!s.channel.closed) {
      unregisterEvent(s.channel, s, signal, s.link).catch(() => {});
    }
  }

  /** Removes every subscription of `sink`. */
  unsubscribeAll(sink: EventSink): void {
    for (const s of [...this.subs.values()])
      if (s.sinks.has(sink)) this.unsubscribe(s.service, s.object, s.signal, sink);
  }

  /** Forgets the subscriptions made on a connection that closed. */
  dropChannel(channel: Channel): void {
    for (const s of [...this.subs.values()]) if (s.channel === channel) this.drop(s);
  }

  /** Forgets the subscriptions of a service that went away. */
  dropService(service: number): void {
    for (const s of [...this.subs.values()]) if (s.service === service) this.drop(s);
  }

  private drop(s: Subscription): void {
    if (this.subs.get(s.key) !== s) return;
    this.subs.delete(s.key);
    s.off();
  }
}
