/**
 * Services that outside clients register through the gateway, made reachable from inside (as libqi's
 * SD proxy does). The gateway registers them on the internal SD under its own internal endpoints; inside
 * callers connect there, and their calls, cancels and subscriptions are relayed to the outside client
 * that serves the service, with ids remapped and signals fanned out. When that client goes away, its
 * services are unregistered.
 */
import type { Channel } from '../channel/index.js';
import { CANCEL_CODEC, acceptChannel, type CapabilityMap } from '../channel/index.js';
import { MessageType, type Message } from '../message/index.js';
import { Builtin, BuiltinMethods as B } from '../object/index.js';
import { callDirectory, keepName } from '../sd/index.js';
import { normalizeServiceInfo, type ServiceInfo } from '../session/index.js';
import { listen, parseEndpoint, type Listener, type MessageStream } from '../transport/index.js';
import { SignalHub, type EventSink } from './fanout.js';
import type { Upstream } from './upstream.js';

interface Owner {
  channel: Channel;
  /** What the internal SD was given at registration: the name never changes after it. */
  info: ServiceInfo;
}

/** The outside services of a gateway; see the module comment. */
export class OutsideServices {
  private readonly owners = new Map<number, Owner>();
  private readonly hub = new SignalHub();
  private listeners: Promise<Listener[]> | undefined;
  private readonly inside = new Set<Channel>();
  /** Registrations per outside client, those on their way to the SD included. */
  private readonly counts = new Map<Channel, number>();

  constructor(
    private readonly upstream: Upstream,
    private readonly capabilities: () => CapabilityMap,
    private readonly listenUrls: string[] | undefined,
    /** Most services one outside client may have registered at once. */
    private readonly maxPerClient = 32,
  ) {}

  /** The gateway's internal endpoints, listening from the first registration on. */
  private async endpoints(): Promise<string[]> {
    this.listeners ??= (async () => {
      let urls = this.listenUrls;
      if (urls === undefined) {
        // By default, the address through which the gateway reaches the SD: the inside can reach it.
        const local = this.upstream.session.directoryConnection?.stream.local;
        const ep = local === undefined ? undefined : parseEndpoint(local);
        urls = [
          ep !== undefined && 'host' in ep
            ? `tcp://${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:0`
            : 'tcp://127.0.0.1:0',
        ];
      }
      const out: Listener[] = [];
      for (const u of urls) out.push(await listen(u, (s) => this.accept(s)));
      return out;
    })();
    this.listeners.catch(() => (this.listeners = undefined));
    return (await this.listeners).flatMap((l) => l.endpoints);
  }

  private sd(): Channel {
    const ch = this.upstream.session.directoryConnection;
    if (ch === undefined || ch.closed)
      throw new Error("the robot's internal ServiceDirectory is not reachable right now; retry in a moment");
    return ch;
  }

  /** Registers `info` for `client` on the internal SD; returns the service id. */
  async register(info: ServiceInfo, client: Channel): Promise<number> {
    const count = this.counts.get(client);
    if (count === undefined) client.onClose(() => this.clientGone(client));
    else if (count >= this.maxPerClient) {
      throw new Error(
        `A client may register at most ${this.maxPerClient} services through this gateway, and this connection has ${count} (or on their way): unregister one first, or ask the robot's administrator to raise maxRegistrationsPerClient.`,
      );
    }
    this.counts.set(client, (count ?? 0) + 1);
    let id: number;
    let inner: ServiceInfo;
    try {
      const endpoints = await this.endpoints();
      const s = this.upstream.session;
      inner = {
        ...normalizeServiceInfo(info),
        endpoints,
        machineId: s.machineId,
        processId: process.pid,
        sessionId: s.id,
      };
      id = await callDirectory(this.sd(), 'registerService', [inner], { name: 'ServiceDirectory.registerService' });
    } catch (e) {
      this.release(client);
      throw e;
    }
    if (client.closed) {
      // It left while the SD answered: nobody would ever unregister this name.
      callDirectory(this.sd(), 'unregisterService', [id]).catch(() => {});
      throw new Error('the client went away during its registration');
    }
    this.owners.set(id, { channel: client, info: { ...inner, serviceId: id } });
    return id;
  }

  private release(client: Channel): void {
    const n = (this.counts.get(client) ?? 1) - 1;
    if (client.closed) this.counts.delete(client);
    else this.counts.set(client, n);
  }

  private owned(id: number, client: Channel): Owner {
    const o = this.owners.get(id);
    if (o === undefined || o.channel !== client)
      throw new Error(`Service #${id} was not registered by this connection`);
    return o;
  }

  /** serviceReady, for the client that registered `id`. */
  async ready(id: number, client: Channel): Promise<void> {
    this.owned(id, client);
    await callDirectory(this.sd(), 'serviceReady', [id], { name: 'ServiceDirectory.serviceReady' });
  }

  /** unregisterService, for the client that registered `id`. */
  async unregister(id: number, client: Channel): Promise<void> {
    this.owned(id, client);
    this.owners.delete(id);
    this.release(client);
    this.hub.dropService(id);
    await callDirectory(this.sd(), 'unregisterService', [id], { name: 'ServiceDirectory.unregisterService' });
  }

  /**
   * updateServiceInfo: the registration again, with the gateway's internal endpoints (the only part
   * that may change). A rename is refused here, whatever the internal SD would accept.
   */
  async update(info: ServiceInfo, client: Channel): Promise<void> {
    const o = this.owned(normalizeServiceInfo(info).serviceId, client);
    keepName(o.info, normalizeServiceInfo(info));
    await callDirectory(this.sd(), 'updateServiceInfo', [{ ...o.info, endpoints: await this.endpoints() }]);
  }

  /** True when `client` serves service `id` through the gateway. */
  serves(id: number): boolean {
    return this.owners.has(id);
  }

  private clientGone(client: Channel): void {
    this.counts.delete(client);
    this.hub.dropChannel(client);
    for (const [id, o] of [...this.owners]) {
      if (o.channel !== client) continue;
      this.owners.delete(id);
      const sd = this.upstream.session.directoryConnection;
      if (sd !== undefined && !sd.closed) callDirectory(sd, 'unregisterService', [id]).catch(() => {});
    }
  }

  private accept(stream: MessageStream): void {
    // Inside traffic is trusted, as it is between the robot's own processes.
    const ch = acceptChannel(stream, { capabilities: this.capabilities() });
    this.inside.add(ch);
    const pending = new Map<number, { to: Channel; id: number }>();
    const sink: EventSink = {
      event: (m) => {
        if (!ch.closed)
          ch.raw.send(
            {
              id: m.id,
              type: MessageType.Event,
              flags: m.flags,
              service: m.service,
              object: m.object,
              action: m.action,
            },
            m.payload,
          );
      },
    };
    ch.bindFallback({ onMessage: (m) => this.fromInside(m, ch, sink, pending) });
    ch.onClose(() => {
      this.inside.delete(ch);
      this.hub.unsubscribeAll(sink);
      for (const p of pending.values()) p.to.raw.cancel(p.id, true);
    });
  }

  private fromInside(
    m: Message,
    ch: Channel,
    sink: EventSink,
    pending: Map<number, { to: Channel; id: number }>,
  ): void {
    const owner = this.owners.get(m.service);
    if (m.type === MessageType.Cancel) {
      const p = pending.get(m.decode(CANCEL_CODEC));
      if (p !== undefined) p.to.raw.cancel(p.id);
      return;
    }
    if (owner === undefined || owner.channel.closed) {
      if (m.type === MessageType.Call)
        ch.replyError(
          m,
          `Service #${m.service} is not served through this gateway any more: the outside client that registered it went away.`,
        );
      return;
    }
    if (
      m.type === MessageType.Call &&
      (m.action === Builtin.registerEvent ||
        m.action === Builtin.registerEventWithSignature ||
        m.action === Builtin.unregisterEvent)
    ) {
      // registerEventWithSignature's arguments begin as registerEvent's: its signature is not needed here.
      const [, signal, link] = m.decode(B.registerEvent.args);
      if (m.action === Builtin.unregisterEvent) {
        this.hub.unsubscribe(m.service, m.object, signal, sink, link);
        return ch.reply(m, B.unregisterEvent.returns, undefined);
      }
      this.hub.subscribe(owner.channel, m.service, m.object, signal, sink, link).then(
        () => !ch.closed && ch.reply(m, B.registerEvent.returns, link),
        (e: Error) =>
          !ch.closed && ch.replyError(m, `Could not subscribe to ${owner.info.name} signal #${signal}: ${e.message}`),
      );
      return;
    }
    const to = { service: m.service, object: m.object, action: m.action };
    if (m.type !== MessageType.Call) {
      owner.channel.raw.forward(to, m.type, m.flags, m.payload, () => {});
      return;
    }
    const id = owner.channel.raw.forward(to, MessageType.Call, m.flags, m.payload, (answer, error) => {
      pending.delete(m.id);
      if (ch.closed) return;
      if (answer === undefined)
        return ch.replyError(
          m,
          `${owner.info.name} (served from outside, through the gateway) stopped answering: ${error?.message ?? 'closed'}`,
        );
      ch.raw.send(
        { id: m.id, type: answer.type, flags: answer.flags, service: m.service, object: m.object, action: m.action },
        answer.payload,
      );
    });
    if (id !== 0) pending.set(m.id, { to: owner.channel, id });
  }

  /** Stops listening inside and drops inside connections. */
  async close(): Promise<void> {
    for (const ch of this.inside) ch.close();
    const ls = this.listeners ? await this.listeners.catch(() => []) : [];
    await Promise.allSettled(ls.map((l) => l.close()));
  }
}
