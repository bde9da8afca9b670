/**
 * The gateway: one public address for every service of a (multi-computer) robot. Outside clients see
 * a ServiceDirectory whose services all live at the gateway's address; their calls, cancels and
 * subscriptions are forwarded over one shared connection per internal endpoint, with ids remapped,
 * signals fanned out, and every message checked against the client's permissions. Internal traffic
 * never passes through it.
 */
import { Capability, acceptChannel, defaultCapabilities, type ChannelLimits } from '../channel/index.js';
import { Dynamic } from '../type/index.js';
import { Session, type SessionOptions } from '../session/index.js';
import {
  AddressSlots,
  cutThrough,
  defaultCutThroughBytes,
  listen,
  type HttpHandler,
  type Listener,
  type MessageStream,
  type TlsServerOptions,
} from '../transport/index.js';
import { Access, type AccessConfig, type Identity } from './access.js';
import { ClientConnection } from './client.js';
import { machineIdle } from './machine-idle.js';
import type { GatewayContext, GatewayMetrics } from './context.js';
import { limitedLog } from './errors.js';
import { HeldObjects } from './held.js';
import { OutsideServices } from './outside.js';
import { clientQuotas, type ClientQuotas } from './quotas.js';
import { AuthThrottle, type AuthThrottleOptions } from './throttle.js';
import { Upstream } from './upstream.js';

/** Sessions ended by an error logged a minute at most, for all clients together. */
const SESSION_ENDS_PER_MINUTE = 20;

/** Options of {@link Gateway.start}. */
export interface GatewayOptions {
  /** The internal ServiceDirectory, e.g. `tcp://10.0.0.2:9559`. */
  sd: string;
  /** Outside endpoints to listen on: `tcp://`, `tcps://`, `tcpsm://`, `ws://`, `wss://` (port 0 lets the system choose). */
  listen: string | string[];
  /**
   * Who may connect and what each may do. Without it nobody outside may use anything (deny by
   * default); `{ anonymous: { allow: ['*'] } }` opens every service to everyone, for trusted networks
   * (add `'register:*'` to let them register services too, `'monitor:*'` to let them read statistics and
   * traces, which show every caller's calls).
   */
  access?: AccessConfig | Access;
  /** Certificate and key of `tcps`/`tcpsm`/`wss` listeners (and the client CA for `tcpsm`). */
  tls?: TlsServerOptions;
  /** What the `ws`/`wss` listeners also serve on their port (the web dashboard, the classic browser API). */
  http?: HttpHandler;
  /** How the gateway itself connects inside (credentials, TLS trust, timeouts). */
  upstream?: SessionOptions;
  /** Public URLs given to clients for every service, when clients reach the gateway through NAT or a
   * port forward under another address. By default a client is given the address it reached. */
  advertise?: string[];
  /** @deprecated the same as `limits.maxQueueBytes` (used when that is not set). */
  maxQueueBytes?: number;
  /** @deprecated the same as `limits.slowPeer` (used when that is not set). */
  slowClient?: 'drop-signals' | 'disconnect';
  /** Most outside connections at once on each listener (default 10,000); more are closed as they arrive. */
  maxConnections?: number;
  /**
   * Most outside connections at once from one remote address, over all listeners and streams given to
   * {@link Gateway.acceptStream} (default 64). Counted from the TCP accept, before any TLS handshake or
   * WebSocket upgrade; more are closed as they arrive.
   */
  maxConnectionsPerAddress?: number;
  /**
   * Most work the gateway spends finding the object references in one message (the arguments of a
   * call whose signature may hold objects, an answer, a signal emission): one step per value visited
   * (a run of numbers or raw bytes counts as one), plus the characters of dynamic values' signatures.
   * A call over it is refused with an error saying so. Default 1,000,000 (a few milliseconds of work).
   */
  maxReferenceScan?: number;
  /**
   * Limits of each outside connection; see docs/reliability.md. `maxIncomingCalls` is each client's
   * quota of calls not yet answered: by default 1,000 (or a tenth of the upstream limits if lower), and it
   * must stay below the upstream limits (`upstream.limits`), so that no client alone can fill a service.
   * `maxQueueBytes` bounds the bytes queued to one client (default 8 MiB here, not 64 MiB): over it the
   * client is not read from until it catches up, and its signals are dropped (or, with `slowPeer:
   * 'disconnect'`, it is disconnected). Every byte counts, whoever made it (answers, the gateway's own
   * answers and errors, signals); a client four times over is disconnected.
   */
  limits?: ChannelLimits;
  /**
   * Drop an outside client that has not authenticated this long after its TCP accept, TLS handshake
   * and HTTP upgrade included (default 10,000 ms).
   */
  handshakeTimeoutMs?: number;
  /**
   * Bytes an outside client may send before it has authenticated (default 65,536; an authenticate call
   * is a few KiB). More closes the connection: a huge message before authentication costs nothing.
   */
  maxBytesBeforeAuth?: number;
  /**
   * How failed authentications slow their address down (defaults in {@link AuthThrottleOptions}:
   * 3 free failures, then 250 ms between attempts doubling up to 5 s, forgotten after 10 minutes).
   */
  authThrottle?: AuthThrottleOptions;
  /**
   * First wait before trying to reach the internal SD again after losing it (default 500 ms); each
   * failed attempt doubles the wait, up to 5 s (or `reconnectMs` if longer).
   */
  reconnectMs?: number;
  /**
   * Start even when the internal SD cannot be reached yet, and keep trying (default false: `start`
   * fails with the connection error). Outside clients then see no services until the SD is up.
   */
  waitForSd?: boolean;
  /**
   * Where the gateway listens for inside callers of services registered from outside (default: the
   * address it reaches the internal SD from, port chosen by the system). Opened at the first such
   * registration.
   */
  insideListen?: string[];
  /**
   * Most services one outside client may have registered through the gateway at once (default 32);
   * more registrations are refused until it unregisters one.
   */
  maxRegistrationsPerClient?: number;
  /** Told when the internal SD is lost (`error` says why) and when it is back. */
  onDirectory?(connected: boolean, error?: Error): void;
  /**
   * Web origins whose pages may open the qi path of the `ws`/`wss` listeners (`['https://app.example.com']`,
   * or `['*']` for every page on the web). Default: only pages the gateway serves itself (same origin)
   * and clients that send no Origin header (Node, libqi, scripts). See docs/web.md.
   */
  allowedOrigins?: string[];
  /**
   * Bytes of arguments one client may have in calls not yet answered, forwarded or waiting for the
   * service to be reached (default 64 MiB); a call beyond gets an error at once, naming this option.
   */
  maxPendingBytesPerClient?: number;
  /**
   * Forwarded messages read in one go leave every `cutThroughBytes` (on plain TCP and unix connections)
   * instead of all together at the end, while the gateway and its machine have time to spare (event loop
   * busy under 60% of the time and the machine's cores idle over 35%, sampled every 250 ms; back to one
   * write per burst above 95% busy or under 10% idle): the service starts on the first calls of a burst
   * while the gateway forwards the rest. One client with 64 calls in flight: 62–68% → 70–83% of the direct
   * rate at 256; four such clients on two cores: up to 17% fewer calls in all. Default
   * `QI_CUT_THROUGH_BYTES`, else 0 (one write per burst). See docs/gateway.md.
   */
  cutThroughBytes?: number;
  /**
   * Where the gateway writes what it hides from clients: the full text of an error whose internal
   * addresses or upstream ids were rewritten before it was sent, at most 10 a minute per client; and the
   * sessions that an error ended (a client that died or stopped answering, a bytestream that failed),
   * one line each with who and from where, at most 20 a minute (default `console.error`).
   */
  log?(line: string): void;
}

/**
 * What the gateway advertises on both sides. Payloads pass through as bytes, so every capability that
 * changes how a value is laid out must be the same on both legs: object references go without the
 * ObjectPtrUID field (and without the MetaObject cache), which every libqi generation understands.
 */
function gatewayCapabilities() {
  const caps = defaultCapabilities();
  caps.set(Capability.ObjectPtrUID, new Dynamic('b', false));
  caps.set(Capability.MetaObjectCache, new Dynamic('b', false));
  // A client's reference to a service's object is relayed as an object of the client's (client-objects.ts):
  // clients send such proxies back the way libqi does, whatever the service behind.
  caps.delete(Capability.OwnObjectsByAddress);
  return caps;
}

/** A running gateway; see the module comment. Start one with {@link Gateway.start}. */
export class Gateway {
  /** Counters for monitoring: clients, forwarded and denied calls, dropped signals… */
  readonly metrics: GatewayMetrics = {
    clients: 0,
    forwarded: 0,
    denied: 0,
    droppedEvents: 0,
    slowDisconnects: 0,
    refused: 0,
    sdConnected: false,
    overLimit: 0,
  };

  /** Objects that services returned to outside clients and that some client still holds. */
  get heldObjects(): number {
    return this.context.held.size;
  }
  /** Open outside connections per remote address, shared by the listeners and {@link acceptStream}. */
  private readonly slots: AddressSlots;
  private readonly throttle: AuthThrottle;
  private readonly listeners: Listener[] = [];
  private readonly clients = new Set<ClientConnection>();
  private readonly access: Access;
  private readonly context: GatewayContext;
  private closed = false;
  private releaseCutThrough = (): void => {};

  private constructor(
    readonly options: GatewayOptions,
    private readonly session: Session,
    private readonly upstream: Upstream,
    private readonly quotas: ClientQuotas,
  ) {
    const log = options.log ?? ((line: string) => console.error(line));
    this.access = options.access instanceof Access ? options.access : new Access(options.access ?? {});
    this.slots = new AddressSlots(options.maxConnectionsPerAddress ?? 64, () => this.metrics.overLimit++);
    this.throttle = new AuthThrottle(options.authThrottle);
    this.context = {
      upstream,
      outside: new OutsideServices(
        upstream,
        gatewayCapabilities,
        options.insideListen,
        options.maxRegistrationsPerClient ?? 32,
      ),
      held: new HeldObjects(),
      machineId: session.machineId,
      sessionId: session.id,
      maxReferenceScan: options.maxReferenceScan ?? 1_000_000,
      metrics: this.metrics,
      advertise: options.advertise,
      maxPendingBytes: quotas.maxPendingBytes,
      log,
      sessionEnded: limitedLog(log, SESSION_ENDS_PER_MINUTE, 'sessions ended'),
    };
  }

  /** Connects to the internal SD, then listens outside. */
  static async start(options: GatewayOptions): Promise<Gateway> {
    const quotas = clientQuotas(options);
    // The gateway reconnects to its SD itself (Upstream), and forwards raw: no proxy reconnection.
    const session = new Session({
      ...options.upstream,
      ipc: false,
      capabilities: gatewayCapabilities(),
      reconnect: false,
    });
    let gw: Gateway | undefined;
    const upstream = new Upstream(
      session,
      options.sd,
      {
        added: (info) => gw?.clients.forEach((c) => c.added(info)),
        removed: (id, name) => gw?.clients.forEach((c) => c.removed(id, name)),
        directory: (lost, error) => {
          if (gw) gw.metrics.sdConnected = !lost;
          options.onDirectory?.(!lost, error);
          for (const w of [...(gw?.directoryWatchers ?? [])]) w(!lost);
        },
      },
      options.reconnectMs,
    );
    gw = new Gateway(options, session, upstream, quotas);
    const cut = options.cutThroughBytes ?? defaultCutThroughBytes();
    if (cut > 0) gw.releaseCutThrough = cutThrough.hold(cut, machineIdle());
    try {
      await upstream.start(options.waitForSd);
      if (upstream.session.isConnected) gw.metrics.sdConnected = true;
      for (const url of Array.isArray(options.listen) ? options.listen : [options.listen]) {
        gw.listeners.push(await listen(url, (s) => gw.accept(s), gw.listenOptions()));
      }
    } catch (e) {
      await gw.close();
      throw e;
    }
    return gw;
  }

  private readonly directoryWatchers = new Set<(connected: boolean) => void>();

  /**
   * Calls `watcher(false)` when the internal SD is lost and `watcher(true)` when it is back (for bridges
   * that must start their clients over, like the classic web API); returns the function that stops it.
   */
  watchDirectory(watcher: (connected: boolean) => void): () => void {
    this.directoryWatchers.add(watcher);
    return () => void this.directoryWatchers.delete(watcher);
  }

  /** The outside endpoints, as bound (real ports filled in). */
  get endpoints(): string[] {
    return this.listeners.flatMap((l) => l.endpoints);
  }

  /** The first outside endpoint, handy for tests and logs. */
  get url(): string {
    return this.listeners[0]?.url ?? '';
  }

  /** Number of live upstream signal subscriptions (one per signal, however many clients watch it). */
  get upstreamSubscriptions(): number {
    return this.upstream.subscriptions;
  }

  /** Number of internal services known now (for presence texts and monitoring). */
  get serviceCount(): number {
    return this.upstream.services.size;
  }

  /**
   * Takes an outside connection that arrived some other way than a listener (XMPP, a tunnel, the classic
   * web bridge…): it then goes through authentication and permissions like any other, and takes a
   * connection slot of `stream.peerAddress` (by default the host part of `stream.remote`: `ws://1.2.3.4:5/…`
   * counts for 1.2.3.4), from the same per-address budget as the listeners, given back when the stream
   * closes. Over the budget, it is closed at once.
   */
  acceptStream(stream: MessageStream): void {
    const release = this.slots.take(stream.peerAddress);
    if (release === undefined) return stream.destroy();
    stream.whenClosed(release);
    this.accept(stream);
  }

  /** What every outside listener enforces before authentication (one per-address table for all). */
  private listenOptions() {
    const o = this.options;
    return {
      tls: o.tls,
      http: o.http,
      maxConnections: o.maxConnections ?? 10_000,
      slots: this.slots,
      handshakeTimeoutMs: o.handshakeTimeoutMs ?? 10_000,
      maxBytesBeforeAuth: o.maxBytesBeforeAuth ?? 64 * 1024,
      allowedOrigins: o.allowedOrigins,
    };
  }

  /** A connection already counted (by its listener, or by {@link acceptStream}): authentication, then a client. */
  private accept(stream: MessageStream): void {
    let identity: Identity | undefined;
    const ch = acceptChannel(stream, {
      authenticator: this.throttle.guard(
        this.access.authenticator((id) => (identity = id)),
        stream.peerAddress,
        () => !stream.isClosed,
      ),
      handshakeTimeoutMs: this.options.handshakeTimeoutMs ?? 10_000,
      capabilities: gatewayCapabilities(),
      limits: this.quotas.limits,
      onReady: (c) => {
        if (identity === undefined || this.closed) return c.close();
        const client = new ClientConnection(this.context, c, identity);
        this.clients.add(client);
        c.onClose(() => this.clients.delete(client));
      },
    });
    ch.onClose(() => {
      if (identity === undefined) this.metrics.refused++;
    });
  }

  /** Disconnects every client, stops listening and leaves the internal SD. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.releaseCutThrough();
    this.upstream.stop();
    for (const c of this.clients) c.channel.close();
    await this.context.outside.close();
    await Promise.allSettled(this.listeners.map((l) => l.close()));
    await this.session.close();
  }
}
