/**
 * The ROS bridge: a rosbridge v2 WebSocket server in front of a qi ServiceDirectory, so that ROS tools
 * (roslibjs, rosbridge clients) call qi methods as ROS services, watch qi signals and properties as
 * topics, publish into qi, and serve ROS services to qi clients. It has no authentication, so it never
 * starts unless told so (`insecureUnauthenticated: true`), listens on loopback unless also told
 * otherwise (`allowNonLoopback: true`), refuses browser pages unless their origin is listed, and
 * bridges nothing but what its allowlist names. See docs/bridges.md.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { QiError } from '../../errors/index.js';
import { backendOf, type ObjectBackend } from '../../object/index.js';
import { Session, type SessionOptions } from '../../session/index.js';
import {
  formatEndpoint,
  isLoopbackHost,
  ownUpgrade,
  parseEndpoint,
  refuseUpgrade,
  type HttpHandler,
} from '../../transport/index.js';
import { RosClient, type BridgeCore, type RosBridgeMetrics } from './client.js';
import { normalizePrefix, RosAllowlist } from './names.js';
import { ServedServices } from './served.js';

/** Options of {@link RosBridge.start}. */
export interface RosBridgeOptions {
  /**
   * Must be `true`: an acknowledgement that every program able to open the bridge's WebSocket may use
   * what the allowlist names, without any authentication.
   */
  insecureUnauthenticated: boolean;
  /** The ServiceDirectory (default `QI_URL`, then tcp://127.0.0.1:9559); ignored when `session` is given. */
  sd?: string;
  /** A session to use instead of connecting one (it stays open when the bridge closes). */
  session?: Session;
  /** Options of the session the bridge connects (credentials, TLS…). */
  sessionOptions?: SessionOptions;
  /**
   * Where the bridge's session listens for qi clients of the services ROS nodes serve (default
   * tcp://127.0.0.1:0, enough when the SD and its clients are on this machine).
   */
  qiListen?: string;
  /**
   * Where to listen: `ws://host:port[/path]` (default `ws://127.0.0.1:9090`, rosbridge's port), or
   * `null` for no listener of its own (plug {@link RosBridge.httpHandler} into another HTTP server).
   */
  listen?: string | null;
  /** The WebSocket path with `listen: null` (default `/rosbridge`); otherwise the path of `listen`. */
  path?: string;
  /** Required to listen on anything but a loopback address: anyone who can reach it can use it. */
  allowNonLoopback?: boolean;
  /** What is bridged: rules such as `Calculator.*`, `method:ALTextToSpeech.say`, `serve:RosPlanner` (docs/bridges.md). Default: nothing. */
  allow?: readonly string[];
  /**
   * Web page origins allowed to connect (`http://localhost:8000`, or `*`). A WebSocket handshake that
   * carries an `Origin` header (browsers always send one) is refused unless listed; programs such as
   * roslib in Node send none. Default: none.
   */
  allowOrigins?: readonly string[];
  /** The ROS name prefix of qi members (default `/qi`: `/qi/<Service>/<member>`). */
  prefix?: string;
  /** Longest wait for a qi method called from ROS without its own `timeout` (default 60,000 ms). */
  callTimeoutMs?: number;
  /** Longest wait for a ROS node answering a qi call (default 30,000 ms). */
  serveTimeoutMs?: number;
  /** Topic messages are dropped for a client with more than this waiting to be sent (default 8 MiB). */
  maxBufferedBytes?: number;
  /** Largest incoming message, whole or reassembled from fragments (default 16 MiB). */
  maxMessageBytes?: number;
  /** Most clients at once (default 64). */
  maxClients?: number;
  /** Receives warnings meant for the operator (default: printed on stderr). */
  onWarning?: (message: string) => void;
}

function configError(message: string): QiError {
  return new QiError('ERR_QI_CONFIG', message);
}

/** Why the bridge refuses to start without the acknowledgement. */
export const UNAUTHENTICATED_REFUSAL =
  'The ROS bridge has no authentication: any program that can open its WebSocket can call, watch and publish ' +
  'into every qi member its allowlist names (rosbridge clients have no way to prove who they are). ' +
  'Start it only on a trusted machine or network, and acknowledge this with --insecure-unauthenticated ' +
  '(insecureUnauthenticated: true in the API).';

/** A running ROS bridge. */
export class RosBridge implements BridgeCore {
  readonly metrics: RosBridgeMetrics = { clients: 0, calls: 0, published: 0, subscriptions: 0, dropped: 0, refused: 0 };
  readonly prefix: string;
  readonly allow: RosAllowlist;
  readonly callTimeoutMs: number;
  readonly maxBufferedBytes: number;
  readonly maxMessageBytes: number;
  readonly served: ServedServices;
  private readonly clients = new Set<RosClient>();
  private readonly backends = new Map<string, Promise<ObjectBackend>>();
  private readonly wss: WebSocketServer;
  private server: http.Server | undefined;
  private path: string;
  private url: string | undefined;
  private stopWatching: (() => Promise<void>) | undefined;
  private closed = false;

  private constructor(
    readonly session: Session,
    private readonly ownsSession: boolean,
    private readonly options: RosBridgeOptions,
  ) {
    this.prefix = normalizePrefix(options.prefix ?? '/qi');
    this.allow = new RosAllowlist(options.allow ?? []);
    this.callTimeoutMs = options.callTimeoutMs ?? 60_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
    this.served = new ServedServices(session, options.serveTimeoutMs ?? 30_000);
    this.path = options.path ?? '/rosbridge';
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: this.maxMessageBytes });
  }

  /**
   * Checks the options, connects to the ServiceDirectory and listens.
   * @throws QiError `ERR_QI_CONFIG` without `insecureUnauthenticated: true`, for a non-loopback address
   * without `allowNonLoopback`, or a bad rule; `ERR_QI_CONNECT` when the SD or the address cannot be used
   */
  static async start(options: RosBridgeOptions): Promise<RosBridge> {
    if (options.insecureUnauthenticated !== true) throw configError(UNAUTHENTICATED_REFUSAL);
    const listen = options.listen === undefined ? 'ws://127.0.0.1:9090' : options.listen;
    const ep = listen === null ? undefined : parseEndpoint(listen);
    if (ep !== undefined && ep.scheme !== 'ws') {
      throw configError(
        `the ROS bridge listens on ws://host:port[/path] URLs (got ${listen}); for TLS, put it behind a TLS-terminating proxy or an SSH tunnel`,
      );
    }
    const host = ep !== undefined && 'host' in ep ? ep.host : undefined;
    const warn = options.onWarning ?? ((m: string) => console.error(`qi: warning: ${m}`));
    if (host !== undefined && !isLoopbackHost(host)) {
      if (options.allowNonLoopback !== true) {
        throw configError(
          `refusing to listen on ${listen}: it is not a loopback address, so every machine that can reach it could use the bridge without authentication. ` +
            'Listen on ws://127.0.0.1:PORT and reach it through an SSH tunnel, or confirm with --allow-non-loopback (allowNonLoopback: true).',
        );
      }
      warn(
        `the ROS bridge listens on ${listen}, beyond this machine, WITHOUT AUTHENTICATION: every host that can reach this port can use what --allow names (${(options.allow ?? []).join(', ') || 'nothing'}).`,
      );
    }
    let allow: RosAllowlist;
    try {
      allow = new RosAllowlist(options.allow ?? []);
    } catch (e) {
      throw configError((e as Error).message);
    }
    if (allow.empty)
      warn(
        'the ROS bridge allows nothing (deny by default): every request will be refused. Name what to bridge with --allow, e.g. --allow "Calculator.*".',
      );
    const session = options.session ?? (await Session.connect(options.sd, options.sessionOptions));
    const bridge = new RosBridge(session, options.session === undefined, options);
    try {
      if (options.qiListen !== undefined) await session.listen(options.qiListen);
      await bridge.watchDirectory();
      if (ep !== undefined && 'host' in ep) await bridge.listenOn(ep.host, ep.port, ep.path ?? '/');
    } catch (e) {
      await bridge.close();
      throw e;
    }
    return bridge;
  }

  /** The URL clients connect to (`ws://127.0.0.1:9090`), when the bridge has a listener of its own. */
  get endpoint(): string | undefined {
    return this.url;
  }

  /** The number of connected ROS clients. */
  get clientCount(): number {
    return this.clients.size;
  }

  private async watchDirectory(): Promise<void> {
    // A service that goes away (or comes back under a new id) is looked up again at its next use.
    this.stopWatching = await this.session.serviceRemoved
      .connect((_id, name) => void this.backends.delete(name))
      .catch(() => undefined);
  }

  private listenOn(host: string, port: number, path: string): Promise<void> {
    this.path = path;
    const server = http.createServer((req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end(
        'This is a rosbridge v2 WebSocket endpoint (the qi ROS bridge): connect with roslibjs or another rosbridge client.\n',
      );
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      ownUpgrade(socket);
      if (!this.handleUpgrade(req, socket, head))
        refuseUpgrade(socket, 400, `no rosbridge endpoint at ${(req.url ?? '/').split('?')[0]}; it is at ${path}`);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (e) =>
        reject(new QiError('ERR_QI_CONNECT', `the ROS bridge cannot listen on ${host}:${port}: ${e.message}`)),
      );
      server.listen(port, host, () => {
        const a = server.address() as AddressInfo;
        this.url = formatEndpoint({ scheme: 'ws', host: a.address, port: a.port, path });
        resolve();
      });
    });
  }

  /**
   * Takes a WebSocket upgrade on the bridge's path (refusing foreign origins and clients over the
   * limit); false when the path is not the bridge's. For HTTP servers of your own.
   */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if ((req.url ?? '/').split('?')[0] !== this.path) return false;
    ownUpgrade(socket);
    const origin = req.headers.origin;
    const origins = this.options.allowOrigins ?? [];
    if (origin !== undefined && !origins.includes('*') && !origins.includes(origin)) {
      this.metrics.refused++;
      refuseUpgrade(
        socket,
        403,
        `web pages from ${origin} may not use this ROS bridge (it has no authentication); its operator may allow them with --allow-origin ${origin}`,
      );
      return true;
    }
    if (this.closed || this.clients.size >= (this.options.maxClients ?? 64)) {
      this.metrics.refused++;
      refuseUpgrade(
        socket,
        503,
        this.closed ? 'the ROS bridge is closing' : 'the ROS bridge has too many clients; try again later',
      );
      return true;
    }
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const s = req.socket;
      const remote = `${String(s.remoteAddress).replace(/^::ffff:(?=\d+\.)/, '')}:${s.remotePort ?? 0}`;
      const client = new RosClient(ws, this, remote);
      this.clients.add(client);
      this.metrics.clients = this.clients.size;
      ws.on('close', () => {
        this.clients.delete(client);
        this.metrics.clients = this.clients.size;
      });
    });
    return true;
  }

  /**
   * The bridge as an {@link HttpHandler}, to serve it on the port of another `ws` listener (e.g. a
   * Gateway's `http` option), at `path` (default `/rosbridge`).
   */
  get httpHandler(): HttpHandler {
    return { upgrade: (req, socket, head) => this.handleUpgrade(req, socket, head) };
  }

  /** The object behind a qi service, looked up once and kept until the service goes away. */
  backend(service: string): Promise<ObjectBackend> {
    let p = this.backends.get(service);
    if (p === undefined) {
      p = this.session.service(service, { timeoutMs: this.callTimeoutMs }).then((proxy) => backendOf(proxy)!);
      this.backends.set(service, p);
      p.catch(() => {
        if (this.backends.get(service) === p) this.backends.delete(service);
      });
    }
    return p;
  }

  /** Closes every client connection, unregisters the services ROS nodes served, and stops listening. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.clients].map((c) => c.terminate()));
    await this.served.close();
    await this.stopWatching?.().catch(() => {});
    if (this.server !== undefined) {
      const server = this.server;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.wss.close();
    if (this.ownsSession) await this.session.close();
  }
}
