/**
 * The gateway's inside: one client session to the internal ServiceDirectory, the list of services it
 * knows (kept fresh by serviceAdded/serviceRemoved, re-read after the SD comes back), one connection
 * per internal endpoint shared by every outside client, MetaObjects cached for permission checks, and
 * signal subscriptions made once upstream and fanned out to every subscribed client.
 */
import type { Channel } from '../channel/index.js';
import { fetchMetaObject } from '../object/index.js';
import { BACKOFF_MAX_MS, Backoff, type ServiceInfo, type Session } from '../session/index.js';
import type { MetaObject } from '../type/index.js';
import { ByObject } from './by-object.js';
import { SignalHub, type EventSink } from './fanout.js';

export type { EventSink } from './fanout.js';

/** What the gateway reports about its inside. */
export interface UpstreamEvents {
  added(info: ServiceInfo): void;
  removed(id: number, name: string): void;
  /** The ServiceDirectory connection was lost (`true`) or is back (`false`). */
  directory(lost: boolean, error?: Error): void;
}

/** The inside of a gateway; see the module comment. */
export class Upstream {
  /** Ready services by id, as the internal SD announces them. */
  readonly services = new Map<number, ServiceInfo>();
  private readonly channels = new Map<number, Promise<Channel>>();
  private readonly metas = new ByObject<Promise<MetaObject>>();
  /** Channels and MetaObjects already resolved, so the hot path needs no promise. */
  private readonly channelsNow = new Map<number, Channel>();
  private readonly metasNow = new ByObject<MetaObject>();
  /** Signal subscriptions made upstream, shared by every client that watches them. */
  private readonly hub = new SignalHub();
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  /** The SD connection is lost (nobody can announce that a service went away). */
  private sdLost = false;
  /** Services whose process connection closed and was not opened again. */
  private readonly unreachable = new Set<number>();

  constructor(
    readonly session: Session,
    readonly sdUrl: string,
    private readonly events: UpstreamEvents,
    /** First wait before trying to reach a lost SD again; the waits then double up to 5 s. */
    private readonly retryMs = 500,
  ) {}

  /**
   * Connects to the SD and reads its services. With `wait`, an SD that cannot be reached yet is not an
   * error: the gateway keeps trying in the background (a robot's gateway may start before its SD).
   */
  async start(wait = false): Promise<void> {
    try {
      await this.session.connect(this.sdUrl);
      await this.attach();
    } catch (e) {
      if (!wait) throw e;
      this.lost(e as Error);
    }
  }

  private async attach(): Promise<void> {
    const sd = this.session;
    await sd.serviceAdded.connect((id, name) => void this.learn(id, name));
    await sd.serviceRemoved.connect((id, name) => this.forget(id, name));
    const now = await sd.services();
    const seen = new Set<number>();
    for (const info of now) {
      if (info.serviceId === 1) continue; // the SD itself: clients have the gateway's own
      seen.add(info.serviceId);
      const before = this.services.get(info.serviceId);
      this.services.set(info.serviceId, info);
      if (before === undefined || before.name !== info.name) {
        if (before !== undefined) this.forget(before.serviceId, before.name);
        this.services.set(info.serviceId, info);
        this.events.added(info);
      }
    }
    for (const [id, info] of [...this.services]) if (!seen.has(id)) this.forget(id, info.name);
    this.sdLost = false;
    sd.directoryConnection?.onClose((e) => this.lost(e));
  }

  private lost(error?: Error): void {
    if (this.stopped) return;
    // Without the SD, a service whose process connection is gone cannot be announced as removed by
    // anyone: announce it here (the robot died with its SD), so that clients do not wait forever.
    this.sdLost = true;
    for (const id of [...this.unreachable]) this.forget(id, this.services.get(id)?.name ?? `#${id}`);
    this.events.directory(true, error);
    // Quick at first (an SD that restarts is back soon), then backing off up to BACKOFF_MAX_MS.
    const backoff = new Backoff(this.retryMs, Math.max(this.retryMs, BACKOFF_MAX_MS));
    const attempt = async () => {
      this.retry = undefined;
      if (this.stopped) return;
      try {
        await this.session.connect(this.sdUrl);
        await this.attach();
        this.events.directory(false);
      } catch {
        if (!this.stopped) this.retry = setTimeout(() => void attempt(), backoff.next());
      }
    };
    this.retry = setTimeout(() => void attempt(), backoff.next());
  }

  private async learn(id: number, name: string): Promise<void> {
    try {
      const info = await this.session.serviceInfo(name);
      const before = this.services.get(id);
      if (info.serviceId !== id || before?.name === info.name) return;
      // A restarted SD numbers from 2 again: the service that had this id is gone, and must be announced so.
      if (before !== undefined) this.forget(id, before.name);
      this.services.set(id, info);
      this.events.added(info);
    } catch {
      // The SD went away meanwhile; the list is read again when it is back.
    }
  }

  private forget(id: number, name: string): void {
    this.unreachable.delete(id);
    if (!this.services.delete(id)) return;
    this.channels.delete(id);
    this.channelsNow.delete(id);
    this.forgetMetas(id);
    this.hub.dropService(id);
    this.events.removed(id, name);
  }

  /** The shared connection to the process of service `id`. */
  channel(id: number): Promise<Channel> {
    let p = this.channels.get(id);
    if (p === undefined) {
      const info = this.services.get(id);
      if (info === undefined) return Promise.reject(new Error(`no service #${id}`));
      p = this.session.channelFor(info);
      this.channels.set(id, p);
      p.then(
        (ch) => {
          if (this.channels.get(id) === p) this.channelsNow.set(id, ch);
          this.unreachable.delete(id);
          ch.onClose(() => {
            if (this.channels.get(id) === p) {
              this.channels.delete(id);
              this.channelsNow.delete(id);
              if (this.services.has(id)) this.unreachable.add(id);
            }
            this.hub.dropChannel(ch);
            this.forgetMetas(id);
            if (this.sdLost) this.forget(id, this.services.get(id)?.name ?? `#${id}`);
          });
        },
        () => {
          if (this.channels.get(id) === p) this.channels.delete(id);
        },
      );
    }
    return p;
  }

  private forgetMetas(service: number): void {
    this.metas.deleteService(service);
    this.metasNow.deleteService(service);
  }

  /** Forgets the MetaObject of an object that was released (terminate): it will not be called again. */
  forgetMeta(service: number, object: number): void {
    if (object === 1) return; // a service's main object lives as long as the service
    this.metas.delete(service, object);
    this.metasNow.delete(service, object);
  }

  /** The connection to service `id` if it is already open. */
  channelNow(id: number): Channel | undefined {
    return this.channelsNow.get(id);
  }

  /**
   * Where a call whose arguments and answer hold no object goes, given its payload's size: `ch` (the
   * shared connection to the service's process), or its lane while `ch` is busy with a large message of
   * any client (session/lane.ts): one client's large call does not hold up every other client's small ones.
   */
  lane(ch: Channel, payloadBytes: number): Channel | Promise<Channel> {
    return this.session.laneOf(ch)?.pickSize(payloadBytes) ?? ch;
  }

  /** Counts a large call on `ch` until the function returned is called (session/lane.ts); undefined for a small one. */
  large(ch: Channel, payloadBytes: number): (() => void) | undefined {
    const lane = this.session.laneOf(ch);
    return lane !== undefined && payloadBytes > lane.bytes ? lane.large() : undefined;
  }

  /** The MetaObject of (service, object) if it is already known. */
  metaNow(service: number, object: number): MetaObject | undefined {
    return this.metasNow.get(service, object);
  }

  /** The MetaObject of object `object` of service `service` (fetched once, then cached). */
  meta(service: number, object: number): Promise<MetaObject> {
    let p = this.metas.get(service, object);
    if (p === undefined) {
      const name = this.services.get(service)?.name ?? `#${service}`;
      p = this.channel(service).then((ch) => fetchMetaObject(ch, { service, object }, { name: `${name}.metaObject` }));
      this.metas.set(service, object, p);
      p.then(
        (m) => this.metas.get(service, object) === p && this.metasNow.set(service, object, m),
        () => this.metas.get(service, object) === p && this.metas.delete(service, object),
      );
    }
    return p;
  }

  /** Adds `sink` (under its own `link`) to a signal's subscription, subscribing upstream if it is the first. */
  async subscribe(service: number, object: number, signal: number, sink: EventSink, link: bigint): Promise<void> {
    const known = this.hub.find(service, object, signal);
    const ch = known?.channel ?? (await this.channel(service));
    await this.hub.subscribe(ch, service, object, signal, sink, link);
  }

  /** Removes one link of `sink` (all of them without `link`); the upstream subscription ends with its last subscriber. */
  unsubscribe(service: number, object: number, signal: number, sink: EventSink, link?: bigint): void {
    this.hub.unsubscribe(service, object, signal, sink, link);
  }

  /** Removes every subscription of `sink` (a client that went away). */
  unsubscribeAll(sink: EventSink): void {
    this.hub.unsubscribeAll(sink);
  }

  /** Number of live upstream subscriptions. */
  get subscriptions(): number {
    return this.hub.size;
  }

  /** Stops reconnecting; the session is closed by its owner. */
  stop(): void {
    this.stopped = true;
    if (this.retry !== undefined) clearTimeout(this.retry);
  }
}
