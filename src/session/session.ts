/**
 * A Session: the entry point of qimessaging. It connects to a ServiceDirectory, listens for
 * connections, registers services and gives proxies of services by name, over the cheapest route:
 * in-process when the service lives in this process, IPC on the same machine, TCP otherwise.
 */
import { randomUUID } from 'node:crypto';
import { acceptChannel, type Channel } from '../channel/index.js';
import {
  InProcessBackend,
  RemoteBackend,
  backendOf,
  createProxy,
  enableObjectReferences,
  type AnyProxy,
  type LocalObject,
  type ObjectDefinition,
  type ProxyFor,
  type QiSignal,
} from '../object/index.js';
import type { Listener, MessageStream } from '../transport/index.js';
import { dial } from './dial.js';
import { Lane, laneBytes } from './lane.js';
import { AddressFollower, pollInterval } from './follow.js';
import { listenAll } from './listen.js';
import { machineId } from './machine.js';
import type { ServiceOptions, SessionOptions } from './options.js';
import { ServiceRegistry } from './registry.js';
import { ResilientBackend, type ReconnectOptions } from './resilient.js';
import { connectService } from './routes.js';
import { normalizeServiceInfo, sortEndpoints, type ServiceInfo } from './serviceinfo.js';
import { untilListed } from './wait.js';

/**
 * The entry point: connect to a ServiceDirectory (`Session.connect(url)`), listen, register services and
 * get typed proxies of services by name. See docs/sessions.md.
 */
export class Session {
  /** This session's id, sent as ServiceInfo.sessionId. */
  readonly id = randomUUID();
  /** This machine's id (libqi-compatible). */
  readonly machineId = machineId();
  private directory: AnyProxy | undefined;
  private directoryChannel: Channel | undefined;
  private hostsDirectory = false;
  private readonly listeners: Listener[] = [];
  private readonly channels = new Set<Channel>();
  /** The services this session serves, on every one of its connections. */
  private readonly registry = new ServiceRegistry(this.id, this.channels);
  private readonly connections = new Map<string, Promise<Channel>>();
  /**
   * Proxies handed out by {@link service}, by service name (libqi's session caches them the same way):
   * asking again for a service that is still the same gives the same proxy, instead of a new one that
   * would fetch its MetaObject again and stay attached to the connection for its whole life.
   */
  private readonly proxies = new Map<string, { proxy: AnyProxy; serviceId: () => number | undefined }>();
  private closed = false;
  /** The lane of each connection this session opened (lane.ts), and the lanes each endpoint refused. */
  private readonly lanes = new WeakMap<Channel, Lane>();
  private readonly laneRefusals = new Map<string, number>();
  private sdUrl: string | undefined;
  /** Follows this machine's addresses: new endpoints to the directory, connections whose address went (follow.ts). */
  private readonly follower: AddressFollower;

  constructor(readonly options: SessionOptions = {}) {
    const follow = options.followAddresses;
    this.follower = new AddressFollower(
      pollInterval(typeof follow === 'object' ? follow : {}),
      () => this.endpoints,
      (endpoints) => this.publishEndpoints(endpoints),
      this.channels,
    );
  }

  /** Creates a session connected to the ServiceDirectory at `url` (default `QI_URL` or tcp://127.0.0.1:9559). */
  static async connect(url?: string, options?: SessionOptions): Promise<Session> {
    const s = new Session(options);
    try {
      await s.connect(url);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** Connects this session to a ServiceDirectory. */
  async connect(url: string = process.env.QI_URL ?? 'tcp://127.0.0.1:9559'): Promise<void> {
    this.sdUrl = url;
    const first = await this.openDirectory();
    const r = this.reconnectOptions();
    this.directory = createProxy(
      r
        ? new ResilientBackend(
            first,
            () => this.reopenDirectory(),
            () => !this.closed,
            r,
            undefined,
            () => this.registry.size > 0,
          )
        : first,
    );
  }

  private reconnectOptions(): ReconnectOptions | undefined {
    const r = this.options.reconnect ?? true;
    return r === false ? undefined : r === true ? {} : r;
  }

  private async openDirectory(): Promise<RemoteBackend> {
    const ch = await this.open(this.sdUrl!);
    this.connections.set('qi:ServiceDirectory', Promise.resolve(ch));
    this.directoryChannel = ch;
    return this.laned(await RemoteBackend.fetch(ch, 1, 1, 'ServiceDirectory'));
  }

  /** The ServiceDirectory again, after losing it: the services of this session are registered anew. */
  private async reopenDirectory(): Promise<RemoteBackend> {
    const sd = await this.openDirectory();
    const endpoints = this.endpoints;
    await this.registry.registerAgain(sd, (name, object) => this.serviceInfoOf(name, object, endpoints));
    return sd;
  }

  /** What this session tells the ServiceDirectory about a service it registers. */
  private serviceInfoOf(name: string, object: LocalObject, endpoints = this.endpoints, serviceId = 0): ServiceInfo {
    return {
      name,
      serviceId,
      machineId: this.machineId,
      processId: process.pid,
      endpoints,
      sessionId: this.id,
      objectUid: object.uid,
    };
  }

  /** The id a service registered by this session has now (it changes when the session registers it again after losing the SD). */
  serviceId(name: string): number | undefined {
    return this.registry.idOf(name);
  }

  /**
   * Makes this session host a ServiceDirectory object (used by `listenStandalone`): it is served as
   * service 1 on this session's connections and called in-process by the session itself.
   */
  hostDirectory(object: LocalObject): void {
    this.hostsDirectory = true;
    this.registry.serve(1, 'ServiceDirectory', object);
    this.directory = createProxy(new InProcessBackend(object, 'ServiceDirectory'));
  }

  /** True when connected to (or hosting) a ServiceDirectory. */
  get isConnected(): boolean {
    return this.directory !== undefined && (this.hostsDirectory || this.directoryChannel?.closed === false);
  }

  /** The endpoints this session listens on, best first. */
  get endpoints(): string[] {
    return sortEndpoints(this.listeners.flatMap((l) => l.endpoints));
  }

  /**
   * Listens on one or more URLs (`tcp://127.0.0.1:0`, `tcp://[::1]:0`, `tcps://0.0.0.0:9503`…). With
   * TCP, a unix socket is added for clients on this machine (unless `ipc: false`).
   * @returns all endpoints the session now listens on
   */
  async listen(urls: string | string[]): Promise<string[]> {
    const all = Array.isArray(urls) ? urls : [urls];
    await listenAll(all, this.id, this.options, (s) => this.accept(s), this.listeners);
    if (this.options.followAddresses !== false && this.listeners.some((l) => l.followsAddresses))
      this.follower.listening();
    return this.endpoints;
  }

  /**
   * Calls `listener` with this session's endpoints each time they change because an address of this
   * machine appeared, went or changed (listeners on `0.0.0.0` / `::` only; docs/roaming.md).
   * @returns a function that stops the calls
   */
  onEndpointsChanged(listener: (endpoints: string[]) => void): () => void {
    return this.follower.on(listener);
  }

  /** Tells the directory the new endpoints of each service of this session (libqi's updateServiceInfo). */
  private async publishEndpoints(endpoints: string[]): Promise<void> {
    if (this.directory === undefined || this.closed) return;
    for (const [serviceId, name, object] of [...this.registry.entries()]) {
      if (serviceId === 1 && this.hostsDirectory) continue; // it lists its endpoints when asked
      await this.sd().updateServiceInfo(this.serviceInfoOf(name, object, endpoints, serviceId));
    }
  }

  private accept(stream: MessageStream): void {
    this.track(
      acceptChannel(stream, {
        authenticator: this.options.authenticator,
        capabilities: this.options.capabilities,
        limits: this.options.limits,
        handshakeTimeoutMs: this.options.handshakeTimeoutMs,
      }),
    );
  }

  /** Makes a new connection able to carry objects and to reach every service of this session. */
  private track(ch: Channel): void {
    enableObjectReferences(ch);
    this.channels.add(ch);
    ch.onClose(() => this.channels.delete(ch));
    this.registry.bind(ch);
  }

  /** Opens (or reuses) an authenticated connection to an endpoint. */
  private open(url: string): Promise<Channel> {
    const known = this.connections.get(url);
    if (known !== undefined) return known;
    const p = (async () => {
      const ch = await dial(url, this.options);
      if (this.options.followAddresses !== false && !this.closed) this.follower.dialed();
      this.track(ch);
      ch.onClose(() => {
        if (this.connections.get(url) === p) this.connections.delete(url);
      });
      const bytes = laneBytes(this.options.laneBytes);
      if (bytes > 0 && /^tcps?:/.test(url)) this.lanes.set(ch, new Lane(ch, bytes, () => this.openLane(url)));
      return ch;
    })();
    this.connections.set(url, p);
    p.catch(() => this.connections.delete(url));
    return p;
  }

  /**
   * A lane to `url` (lane.ts): a connection of its own, with the same credentials and capabilities;
   * undefined when it cannot be opened, and from the second refusal of the endpoint on, never tried again.
   */
  private async openLane(url: string): Promise<Channel | undefined> {
    if (this.closed || (this.laneRefusals.get(url) ?? 0) >= 2) return undefined;
    try {
      const ch = await dial(url, this.options);
      this.track(ch);
      return ch;
    } catch {
      this.laneRefusals.set(url, (this.laneRefusals.get(url) ?? 0) + 1);
      return undefined;
    }
  }

  /** Lets the calls of `backend` take the lane of its connection, if it has one. */
  private laned(backend: RemoteBackend): RemoteBackend {
    const lane = this.lanes.get(backend.channel);
    if (lane !== undefined) backend.via = (args, send) => lane.call(args, send);
    return backend;
  }

  private sd(): AnyProxy {
    if (this.directory === undefined)
      throw new Error('This session is not connected to a ServiceDirectory: call session.connect(url) first.');
    return this.directory;
  }

  /**
   * Registers `object` under `name`: listens on tcp://127.0.0.1:0 first if the session listens
   * nowhere yet (libqi's default), then announces it to the ServiceDirectory.
   * @returns the service id
   */
  async registerService(name: string, object: LocalObject): Promise<number> {
    const sd = this.sd();
    if (this.listeners.length === 0 && !this.hostsDirectory) await this.listen('tcp://127.0.0.1:0');
    const id = (await sd.registerService(this.serviceInfoOf(name, object))) as number;
    this.registry.serve(id, name, object);
    await sd.serviceReady(id);
    return id;
  }

  /** Unregisters a service of this session and stops serving it. */
  async unregisterService(id: number): Promise<void> {
    this.registry.drop(id);
    await this.sd().unregisterService(id);
  }

  /** All ready services, as the ServiceDirectory lists them. */
  async services(): Promise<ServiceInfo[]> {
    return ((await this.sd().services()) as unknown[]).map(normalizeServiceInfo);
  }

  /** The ServiceInfo of one service. @throws QiCallError when the directory does not know it */
  async serviceInfo(name: string, options?: ServiceOptions): Promise<ServiceInfo> {
    return normalizeServiceInfo(await this.sd().service(name, { ...options }));
  }

  /**
   * A proxy of the service `name`, reached over the cheapest route. Pass the service's definition as
   * type parameter for a typed proxy: `session.service<typeof TextToSpeech>('ALTextToSpeech')`.
   */
  async service<D extends ObjectDefinition = ObjectDefinition>(
    name: string,
    options: ServiceOptions = {},
  ): Promise<ProxyFor<D>> {
    const info = await this.serviceInfo(name, options);
    const inProcess = this.options.lpc === false ? undefined : this.inProcess(info);
    if (inProcess !== undefined) return createProxy<D>(new InProcessBackend(inProcess, info.name));
    const cached = this.proxies.get(info.name);
    if (cached !== undefined && cached.serviceId() === info.serviceId) return cached.proxy as ProxyFor<D>;
    const ch = await this.route(info);
    const first = this.laned(await RemoteBackend.fetch(ch, info.serviceId, 1, info.name, options));
    const r = this.reconnectOptions();
    if (r === undefined) {
      const proxy = createProxy<D>(first);
      this.proxies.set(info.name, { proxy, serviceId: () => (first.channel.closed ? undefined : first.service) });
      return proxy;
    }
    const again = async (budgetMs: number) => {
      const now = await this.serviceInfo(name, { timeoutMs: budgetMs });
      const c = await this.route(now);
      return this.laned(await RemoteBackend.fetch(c, now.serviceId, 1, now.name));
    };
    const backend = new ResilientBackend(first, again, () => !this.closed, r);
    const proxy = createProxy<D>(backend);
    this.proxies.set(info.name, { proxy, serviceId: () => backend.serviceId });
    return proxy;
  }

  /**
   * A connection to the process of a service, over a socket even when it runs in this process, shared
   * with every other user of that endpoint. For code that forwards raw messages, such as a gateway.
   */
  channelFor(info: ServiceInfo): Promise<Channel> {
    return this.route(info);
  }

  /** A connection to the process of a service: an open one to any of its endpoints, else the cheapest route. */
  private route(info: ServiceInfo): Promise<Channel> {
    return connectService(
      info,
      this.machineId,
      (u) => this.open(u),
      (u) => this.connections.get(u),
    );
  }

  /**
   * The lane of a connection this session opened (docs/reliability.md), for code that forwards raw
   * messages: `lane.pickSize(bytes)` says where a small call without objects goes while the connection
   * is busy with a large message. Undefined when lanes are off or the connection is not TCP.
   */
  laneOf(channel: Channel): Lane | undefined {
    return this.lanes.get(channel);
  }

  /** The connection a remote proxy uses (to watch it close, or read its limits); `undefined` in-process. */
  static channelOf(proxy: unknown): Channel | undefined {
    const b = backendOf(proxy);
    return b instanceof RemoteBackend || b instanceof ResilientBackend ? b.channel : undefined;
  }

  /** The connection to the ServiceDirectory, when connected to a remote one (to watch it close). */
  get directoryConnection(): Channel | undefined {
    return this.directoryChannel;
  }

  private inProcess(info: ServiceInfo): LocalObject | undefined {
    if (info.machineId !== this.machineId || info.processId !== process.pid) return undefined;
    if (info.serviceId === 1 && this.hostsDirectory) return this.registry.object(1);
    return ServiceRegistry.find(info.sessionId, info.serviceId);
  }

  /** Emitted by the ServiceDirectory when a service becomes ready: (id, name). */
  get serviceAdded(): QiSignal<[number, string]> {
    return this.sd().serviceAdded as unknown as QiSignal<[number, string]>;
  }

  /** Emitted by the ServiceDirectory when a service goes away: (id, name). */
  get serviceRemoved(): QiSignal<[number, string]> {
    return this.sd().serviceRemoved as unknown as QiSignal<[number, string]>;
  }

  /**
   * Resolves with the proxy of `name` once the service is ready (at once if it already is).
   * @throws {@link QiTimeoutError} after `timeoutMs` (default 10,000)
   */
  async waitForService<D extends ObjectDefinition = ObjectDefinition>(
    name: string,
    timeoutMs = 10_000,
  ): Promise<ProxyFor<D>> {
    await untilListed(this, name, timeoutMs);
    return this.service<D>(name);
  }

  /** How a proxy reaches its object: `local` (in-process) or the URL of its connection. */
  static route(proxy: unknown): string | undefined {
    return backendOf(proxy)?.route;
  }

  /** Unregisters this session's services, stops listening and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.follower.close();
    if (this.isConnected && !this.hostsDirectory) {
      await Promise.allSettled(this.registry.ids().map((id) => this.sd().unregisterService(id)));
    }
    this.registry.close();
    this.proxies.clear();
    // Connections first: a listener's close waits until every connection it accepted has ended.
    for (const ch of this.channels) ch.close();
    await Promise.allSettled(this.listeners.map((l) => l.close()));
  }
}
