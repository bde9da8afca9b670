/**
 * The classic `qimessaging.js` browser API of NAOqi 1.14 and 2.x, served by the gateway so that tablet
 * apps which load `/libs/qimessaging/2/qimessaging.js` (or `/1.0/`) keep working: the script itself
 * (global `QiSession`) and the socket.io endpoint it talks to, which turns each browser connection into
 * a qi {@link Session} (normally to the gateway's own outside endpoint, so that its access rules apply).
 *
 *   const classic = classicQiSession({ url: () => gw.url });
 *   gw = await Gateway.start({ sd, listen: 'ws://0.0.0.0:8002/qi', http: classic, access });
 *
 * Protocol, JSON mapping and limits: docs/web-classic.md.
 *
 * @packageDocumentation
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type net from 'node:net';
import type { Server as SocketIoServer, Socket } from 'socket.io';
import { requireOptional } from '../../errors/optional.js';
import type { Credentials } from '../../channel/index.js';
import { Session } from '../../session/index.js';
import {
  originRefusal,
  originRule,
  ownUpgrade,
  plainAddress,
  socketEndpoints,
  type HttpHandler,
} from '../../transport/index.js';
import { ClassicConnection, type ApiVersion, type ClassicLimits } from './bridge.js';
import { LegacySocketIo } from './legacy.js';
import { CLASSIC_FEATURE, clientScript } from './script.js';
import { qiThroughGateway, type ClassicQi, type StreamAcceptor } from './through-gateway.js';

export { ClassicConnection, type ApiVersion, type ClassicLimits, type ClassicPeer } from './bridge.js';
export type { ClassicQi, StreamAcceptor } from './through-gateway.js';
export { toJson, fromJson, metaObjectJson, type JsonRules } from './json.js';

/** Who is connecting, for {@link ClassicOptions.connect}. */
export interface ClassicClient {
  /** The browser's address (as the HTTP server saw it). */
  address: string;
  /** HTTP headers of the socket.io handshake (cookies, origin, user agent). */
  headers: http.IncomingHttpHeaders;
  /** Query parameters of the handshake. */
  query: Record<string, string>;
  /** The API the page loaded. */
  version: ApiVersion;
}

/** Options of {@link classicQiSession}. */
export interface ClassicOptions extends ClassicLimits {
  /**
   * The gateway serving this API in the same process (or a function giving it, as it is started after
   * the handler): each browser connection is handed to it as a connection from the browser's own address,
   * so that its per-address limits and access rules apply to the browser. The recommended setup.
   */
  gateway?: StreamAcceptor | (() => StreamAcceptor | undefined);
  /** Credentials of a browser's qi connection to `gateway` (e.g. from a cookie); default anonymous. */
  auth?: (client: ClassicClient) => Credentials | undefined;
  /**
   * Without `gateway`: the qi URL each browser connection opens a session to. Every browser then reaches
   * it from this process's address, which counts them all against one address's limits.
   */
  url?: string | (() => string);
  /** Opens the qi session of a browser connection, instead of `gateway` or `url`. */
  connect?: (client: ClassicClient) => Promise<Session>;
  /** Where the API lives (default `/libs/qimessaging`, as on the robot). */
  base?: string;
  /** Structs as arrays of their fields (the classic API's way, default) or objects by field name. */
  structs?: 'array' | 'object';
  /** Browser connections at once (default 256); more are refused. */
  maxConnections?: number;
  /** Largest message from a browser, in bytes (default 10 MB). */
  maxMessageBytes?: number;
  /**
   * Web origins (`http://tablet-app.local:8080`) whose pages may connect, besides pages of the gateway's
   * own origin (served on the same host and port) and clients that send no Origin header; `['*']` for
   * every page on the web. Default: none besides those. Same rule as `GatewayOptions.allowedOrigins`.
   */
  origins?: string[];
  /** Also speak the socket.io 0.9 protocol of the original scripts (copies bundled in apps); default true. */
  legacy?: boolean;
}

/** The handler to give to `Gateway.start({ http })` (or any `ws` listener), and its shutdown. */
export interface ClassicHandler extends HttpHandler {
  request(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Browser connections open now. */
  readonly connections: number;
  /** Live signal subscriptions over all browser connections. */
  readonly subscriptions: number;
  /** socket.io 0.9 handshakes waiting for their WebSocket (at most 32 per address, 1,000 in all, 30 s each). */
  readonly pendingHandshakes: number;
  /** Closes every browser connection (and its qi session). */
  close(): Promise<void>;
}

const VERSIONS: ApiVersion[] = ['2', '1.0'];

/** Creates the classic qimessaging.js API: script, socket.io endpoint and the bridge to qi. */
export function classicQiSession(options: ClassicOptions = {}): ClassicHandler {
  const base = (options.base ?? '/libs/qimessaging').replace(/\/+$/, '');
  const connections = new Set<ClassicConnection>();
  const maxConnections = options.maxConnections ?? 256;
  // Both ends of the browser's connection, read while its socket is open (a polling handshake's socket
  // may be gone by the time socket.io reports the connection).
  const peers = new WeakMap<http.IncomingMessage, { remote: string; local: string; address: string }>();
  const peerOf = (req: http.IncomingMessage) => {
    let p = peers.get(req);
    if (p === undefined) {
      const socket = req.socket as net.Socket & { encrypted?: boolean };
      p = { ...socketEndpoints(socket, socket.encrypted ? 'wss' : 'ws'), address: plainAddress(socket.remoteAddress) };
      peers.set(req, p);
    }
    return p;
  };
  const openSession = (client: ClassicClient, req: http.IncomingMessage): Promise<ClassicQi> => {
    if (options.connect) return options.connect(client);
    const gateway = typeof options.gateway === 'function' ? options.gateway() : options.gateway;
    if (gateway) {
      const { remote, local } = peerOf(req);
      return qiThroughGateway(gateway, remote, local, options.auth?.(client));
    }
    const url = typeof options.url === 'function' ? options.url() : options.url;
    if (!url)
      return Promise.reject(new Error('the classic API has no qi side to connect to (option gateway, url or connect)'));
    return Session.connect(url, { ipc: false, reconnect: false });
  };
  const originAllowed = originRule(options.origins, 'origins');

  const attach = (
    version: ApiVersion,
    req: http.IncomingMessage,
    query: Record<string, string>,
    peer: ConstructorParameters<typeof ClassicConnection>[0],
  ) => {
    if (connections.size >= maxConnections) return undefined;
    const client: ClassicClient = { address: peerOf(req).address, headers: req.headers, query, version };
    const conn = new ClassicConnection(peer, version, () => openSession(client, req), options);
    connections.add(conn);
    return conn;
  };
  const detach = (conn: ClassicConnection) => {
    connections.delete(conn);
    return conn.close();
  };

  const servers = new Map<ApiVersion, SocketIoServer>();
  // socket.io is an optional dependency: loaded by the first classic API made.
  const { Server } = requireOptional(
    CLASSIC_FEATURE,
    'socket.io',
    (require) => require('socket.io') as typeof import('socket.io'),
  );
  for (const version of VERSIONS) {
    const io = new Server({
      path: `${base}/${version}/socket.io`,
      serveClient: false,
      allowEIO3: true, // socket.io 2.x clients (and 1.x, same engine.io protocol 3)
      maxHttpBufferSize: options.maxMessageBytes ?? 10_000_000,
      // CORS headers (with credentials) only for pages that may connect; the others are refused.
      cors: (req, cb) => cb(null, { origin: originAllowed(req as http.IncomingMessage), credentials: true }),
      allowRequest: (req, cb) => {
        peerOf(req);
        const ok = originAllowed(req);
        cb(ok ? null : originRefusal(req, 'the classic qimessaging.js API', 'origins'), ok);
      },
    });
    // socket.io drives its engine from an HTTP server's events: give it one that never listens, and
    // hand it the requests of our paths ourselves.
    io.attach(new http.Server());
    io.on('connection', (socket: Socket) => {
      const conn = attach(version, socket.request, socket.handshake.query as Record<string, string>, {
        emit: (event, data) => void socket.emit(event, data),
        // The transport only (not socket.disconnect(), whose packet tells clients never to come back).
        close: () => socket.conn.close(),
      });
      if (conn === undefined) {
        socket.emit('error', { result: `Too many browser connections (${maxConnections}); try again later` });
        socket.disconnect(true);
        return;
      }
      socket.on('call', (payload: unknown) => void conn.call(payload));
      socket.on('disconnect', () => void detach(conn));
    });
    servers.set(version, io);
  }

  const legacy =
    options.legacy === false
      ? undefined
      : new LegacySocketIo(
          base,
          originAllowed,
          (version, req, peer) =>
            attach(version, req, Object.fromEntries(new URL(req.url ?? '/', 'http://x').searchParams), peer),
          detach,
        );

  const route = (
    url: string | undefined,
  ): { kind: 'script' | 'engine' | 'legacy'; version: ApiVersion } | undefined => {
    const path = (url ?? '/').split('?')[0];
    for (const version of VERSIONS) {
      const dir = `${base}/${version}/`;
      if (!path.startsWith(dir)) continue;
      const rest = path.slice(dir.length);
      if (rest === 'qimessaging.js') return { kind: 'script', version };
      if (rest === 'socket.io/') return { kind: 'engine', version };
      if (rest.startsWith('socket.io/1/')) return { kind: 'legacy', version };
    }
    return undefined;
  };

  return {
    request(req, res) {
      const r = route(req.url);
      if (r === undefined) return false;
      if (r.kind === 'script') {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { allow: 'GET, HEAD' }).end();
          return true;
        }
        const body = clientScript(r.version, base);
        res.writeHead(200, {
          'content-type': 'application/javascript; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'cache-control': 'no-cache',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      } else if (r.kind === 'engine') servers.get(r.version)!.engine.handleRequest(req, res);
      else if (legacy) legacy.request(r.version, req, res);
      else return false;
      return true;
    },
    upgrade(req, socket, head) {
      const r = route(req.url);
      if (r !== undefined) ownUpgrade(socket);
      if (r?.kind === 'engine') servers.get(r.version)!.engine.handleUpgrade(req, socket, head);
      else if (r?.kind === 'legacy' && legacy) legacy.upgrade(r.version, req, socket, head);
      else return false;
      return true;
    },
    get connections() {
      return connections.size;
    },
    get pendingHandshakes() {
      return legacy?.pending ?? 0;
    },
    get subscriptions() {
      let n = 0;
      for (const c of connections) n += c.subscriptions;
      return n;
    },
    async close() {
      await Promise.allSettled([...connections].map(detach));
      legacy?.close();
      await Promise.allSettled([...servers.values()].map((io) => io.close()));
    },
  };
}
