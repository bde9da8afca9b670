/**
 * The services a session serves: the objects it registered, by service id, each served on every
 * connection of the session (those open when it is registered, and those that come later), and
 * registered again on a new ServiceDirectory after losing the old one. Also how another session of
 * this process finds them, to call them without bytes.
 */
import type { Channel } from '../channel/index.js';
import { ObjectServer, type LocalObject, type RemoteBackend } from '../object/index.js';
import type { ServiceInfo } from './serviceinfo.js';

/** One registered service. */
interface Registered {
  name: string;
  object: LocalObject;
  /** Its server on each open connection. */
  servers: Set<ObjectServer>;
}

/** Registries of this process by session id: services they serve are called in-process, without bytes. */
const registries = new Map<string, ServiceRegistry>();

/** The services of one session; see the module comment. */
export class ServiceRegistry {
  /** By service id. */
  private readonly registered = new Map<number, Registered>();

  /**
   * @param sessionId registers this registry for in-process calls under this id (until {@link close})
   * @param channels the session's open connections, on which every service is served
   */
  constructor(
    private readonly sessionId: string,
    private readonly channels: ReadonlySet<Channel>,
  ) {
    registries.set(sessionId, this);
  }

  /** The object served as service `id` by the session `sessionId` of this process, if any. */
  static find(sessionId: string, id: number): LocalObject | undefined {
    return registries.get(sessionId)?.registered.get(id)?.object;
  }

  /** How many services are served. */
  get size(): number {
    return this.registered.size;
  }

  /** The ids in use. */
  ids(): number[] {
    return [...this.registered.keys()];
  }

  /** Every registered service: [id, name, object]. */
  *entries(): Iterable<[number, string, LocalObject]> {
    for (const [id, r] of this.registered) yield [id, r.name, r.object];
  }

  /** The object served as service `id`. */
  object(id: number): LocalObject | undefined {
    return this.registered.get(id)?.object;
  }

  /** The id the service `name` has now. */
  idOf(name: string): number | undefined {
    for (const [id, r] of this.registered) if (r.name === name) return id;
    return undefined;
  }

  /** Serves `object` as service `id` on every connection, open now or later. */
  serve(id: number, name: string, object: LocalObject): void {
    const r: Registered = { name, object, servers: new Set() };
    this.registered.set(id, r);
    for (const ch of this.channels) this.bindServer(r, ch, id);
  }

  /** Serves every service on a new connection. */
  bind(ch: Channel): void {
    for (const [id, r] of this.registered) this.bindServer(r, ch, id);
  }

  /** Serves a registered object on a connection, forgetting it when the connection closes. */
  private bindServer(r: Registered, ch: Channel, id: number): void {
    const server = new ObjectServer(r.object, ch, id, 1, r.name);
    r.servers.add(server);
    ch.onClose(() => r.servers.delete(server));
  }

  /** Stops serving service `id`. */
  drop(id: number): void {
    const r = this.registered.get(id);
    this.registered.delete(id);
    for (const s of r?.servers ?? []) s.close();
  }

  /**
   * Registers every service again on a new ServiceDirectory (`info` gives each one's ServiceInfo). A
   * service given a new id is served under it on connections opened from now on; connections made
   * before keep the old id (their clients address it).
   */
  async registerAgain(sd: RemoteBackend, info: (name: string, object: LocalObject) => ServiceInfo): Promise<void> {
    for (const [oldId, r] of [...this.registered]) {
      const id = (await sd.call('registerService', [info(r.name, r.object)])) as number;
      if (id !== oldId) {
        this.registered.delete(oldId);
        this.registered.set(id, r);
        for (const ch of this.channels) this.bindServer(r, ch, id);
      }
      await sd.call('serviceReady', [id]);
    }
  }

  /** Stops serving everything, and no longer answers in-process look-ups. */
  close(): void {
    for (const r of this.registered.values()) for (const s of r.servers) s.close();
    this.registered.clear();
    registries.delete(this.sessionId);
  }
}
