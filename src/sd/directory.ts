/**
 * The ServiceDirectory (spec §7): the registry of services, with libqi's member ids (100–109) and
 * error texts, so libqi clients (qicli, Choregraphe, robots) use it unchanged. Services registered
 * through a connection are removed, and announced, when that connection closes.
 */
import { Capability, probe, type Channel } from '../channel/index.js';
import { LocalObject, type CallContext } from '../object/index.js';
import { normalizeServiceInfo, sortEndpoints, type ServiceInfo } from '../session/index.js';
import { serviceNotFound, socketOfServiceRefused } from './errors.js';
import { ServiceDirectoryDefinition, directoryInfo } from './members.js';
import { QiClosedError } from '../transport/index.js';

/** How long a connection suspected stale has to answer (see registerChecked). */
const STALE_PROBE_MS = 2000;

/**
 * Refuses an update that would rename a service: a service keeps the name it was registered with
 * (libqi's SD keys its name index at registration, so a rename there leaves the index stale).
 * @throws Error naming both names and what to do instead
 */
export function keepName(registered: ServiceInfo, update: ServiceInfo): void {
  if (update.name !== registered.name) {
    throw new Error(
      `updateServiceInfo: service #${registered.serviceId} "${registered.name}" cannot be renamed to "${update.name}": a service keeps the name it was registered with. Unregister it and register the new name instead.`,
    );
  }
}

/** Options of a ServiceDirectory. */
export interface DirectoryOptions {
  /** This machine's id. */
  machineId: string;
  /** The directory's own endpoints (read when listed, so they can change). */
  endpoints: () => string[];
}

/** The state and logic of a ServiceDirectory; `object` is what gets served as service 1. */
export class ServiceDirectory {
  readonly object: LocalObject<typeof ServiceDirectoryDefinition>;
  private readonly ready = new Map<number, ServiceInfo>();
  private readonly pending = new Map<number, ServiceInfo>();
  private readonly byChannel = new Map<Channel, Set<number>>();
  private lastId = 1;

  constructor(private readonly options: DirectoryOptions) {
    this.object = new LocalObject(ServiceDirectoryDefinition, {
      service: (name, ctx) => this.finalize(this.find(name), ctx),
      services: (ctx) => [...this.all()].sort((a, b) => a.serviceId - b.serviceId).map((i) => this.finalize(i, ctx)),
      registerService: (info, ctx) => this.registerChecked(normalizeServiceInfo(info), ctx.channel),
      unregisterService: (id, ctx) => this.unregister(this.owned(id, ctx, 'unregisterService')),
      serviceReady: (id, ctx) => this.markReady(this.owned(id, ctx, 'serviceReady')),
      updateServiceInfo: (info, ctx) => {
        const update = normalizeServiceInfo(info);
        this.update(update, this.owned(update.serviceId, ctx, 'updateServiceInfo'), ctx.channel);
      },
      machineId: () => options.machineId,
      _socketOfService: () => {
        throw socketOfServiceRefused();
      },
    });
  }

  /** The directory's own entry (service 1). */
  private own(): ServiceInfo {
    return directoryInfo(this.options.machineId, this.options.endpoints(), '0');
  }

  private *all(): Iterable<ServiceInfo> {
    yield this.own();
    yield* this.ready.values();
  }

  private find(name: string): ServiceInfo {
    for (const i of this.all()) if (i.name === name) return i;
    throw serviceNotFound(name);
  }

  /**
   * What a client gets: with RelativeEndpointURI shared, `qi:X` is added for every service X whose
   * endpoints are all among this one's (the client may reuse its connection to X); sorted as libqi does.
   */
  private finalize(info: ServiceInfo, ctx: CallContext): ServiceInfo {
    const absolute = info.endpoints.filter((e) => !e.startsWith('qi:'));
    const endpoints = [...absolute];
    if (ctx.channel?.shared(Capability.RelativeEndpointURI)) {
      const mine = new Set(absolute);
      for (const other of this.all()) {
        const theirs = other.endpoints.filter((e) => !e.startsWith('qi:'));
        if (theirs.length > 0 && theirs.every((e) => mine.has(e))) endpoints.push(`qi:${other.name}`);
      }
    }
    return { ...info, endpoints: sortEndpoints(endpoints) };
  }

  /**
   * A session that registers a name it already holds through another connection has lost that one
   * without the directory noticing (its address went away: no FIN reaches us). The old connection is
   * asked for a sign of life; silent, it is closed (its services go) and the registration proceeds.
   * Answered, the registration is refused as any other clash: claiming a live session's id takes nothing.
   */
  private async registerChecked(info: ServiceInfo, channel: Channel | undefined): Promise<number> {
    const clash = [...this.ready.values(), ...this.pending.values()].find((i) => i.name === info.name);
    const owner = clash && clash.sessionId === info.sessionId ? this.ownerOf(clash.serviceId) : undefined;
    if (owner !== undefined && owner !== channel) {
      const alive = await probe(owner, STALE_PROBE_MS).then(
        () => true,
        () => false,
      );
      if (!alive)
        owner.stream.destroy(
          new QiClosedError(
            `no answer within ${STALE_PROBE_MS} ms while its session registered "${info.name}" again from another connection`,
          ),
        );
    }
    return this.register(info, channel);
  }

  /** The connection that registered service `id`, if any. */
  private ownerOf(id: number): Channel | undefined {
    for (const [ch, ids] of this.byChannel) if (ids.has(id)) return ch;
    return undefined;
  }

  private register(info: ServiceInfo, channel: Channel | undefined): number {
    for (const i of [this.own(), ...this.ready.values(), ...this.pending.values()]) {
      if (i.name === info.name)
        throw new Error(
          `Service "${info.name}" (#${i.serviceId}) is already registered. Rejecting conflicting registration attempt.`,
        );
    }
    const id = ++this.lastId;
    this.pending.set(id, { ...info, serviceId: id });
    if (channel !== undefined) {
      let ids = this.byChannel.get(channel);
      if (ids === undefined) {
        this.byChannel.set(channel, (ids = new Set()));
        channel.onClose(() => {
          for (const sid of ids!) this.drop(sid);
          this.byChannel.delete(channel);
        });
      }
      ids.add(id);
    }
    return id;
  }

  /** True when service `id` was registered through a connection. */
  private isRemote(id: number): boolean {
    for (const ids of this.byChannel.values()) if (ids.has(id)) return true;
    return false;
  }

  private drop(id: number): boolean {
    const info = this.ready.get(id) ?? this.pending.get(id);
    if (info === undefined) return false;
    this.ready.delete(id);
    this.pending.delete(id);
    for (const ids of this.byChannel.values()) ids.delete(id);
    this.object.emit('serviceRemoved', id, info.name);
    return true;
  }

  private unregister(id: number): void {
    if (!this.drop(id)) throw new Error(`Unregister Service: Can't find service #${id}`);
  }

  private markReady(id: number): void {
    const info = this.pending.get(id);
    if (info === undefined) throw new Error(`Can't find pending service #${id}`);
    this.pending.delete(id);
    this.ready.set(id, info);
    this.object.emit('serviceAdded', id, info.name);
  }

  /**
   * `id`, when the caller may change it: the connection that registered it, or this process. Another
   * client could otherwise point a service's endpoints at itself, or take it away.
   * @throws Error naming the service and who may change it
   */
  private owned(id: number, ctx: CallContext, member: string): number {
    const channel = ctx.channel;
    if (channel === undefined || this.byChannel.get(channel)?.has(id) === true) return id;
    const info = this.ready.get(id) ?? this.pending.get(id);
    if (info === undefined) return id; // the member's own "Can't find" error
    throw new Error(
      `${member}: service #${id} "${info.name}" was registered by another connection; only the session that registered a service may change or unregister it.`,
    );
  }

  private update(info: ServiceInfo, id: number, channel: Channel | undefined): void {
    const map = this.ready.has(info.serviceId)
      ? this.ready
      : this.pending.has(info.serviceId)
        ? this.pending
        : undefined;
    if (map === undefined) throw new Error(`updateServiceInfo: Can't find service #${info.serviceId}`);
    keepName(map.get(info.serviceId)!, info);
    map.set(info.serviceId, info);
    // The other services of the same session move with it (those registered through the same connection).
    const mine = channel === undefined ? undefined : this.byChannel.get(channel);
    for (const [other, o] of this.ready) {
      if (other === id || o.sessionId !== info.sessionId) continue;
      if (mine === undefined ? this.isRemote(other) : !mine.has(other)) continue;
      this.ready.set(other, { ...o, endpoints: info.endpoints });
    }
  }
}
