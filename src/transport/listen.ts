/**
 * Listening endpoints. A listener reports the endpoints it can be reached at (with the real port when
 * port 0 was asked, and one endpoint per interface address for a wildcard host), for a ServiceInfo.
 */
import { existsSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { interfaceAddresses } from './addresses.js';
import { AddressSlots, Admissions, type AdmissionOptions } from './admission.js';
import { QiConnectError } from './errors.js';
import { keepAlive } from './keepalive.js';
import { schemeOf } from './schemes.js';
import { MessageStream, type MessageStreamOptions } from './message-stream.js';
import { plainAddress } from './peer.js';
import type { TlsServerOptions } from './tls.js';
import {
  QiUrlError,
  formatEndpoint,
  isLoopbackHost,
  isWebSocket,
  parseEndpoint,
  socketHost,
  type Endpoint,
} from './url.js';
import { listenWebSocket, type HttpHandler } from './websocket.js';

/** Options of {@link listen}. */
export interface ListenOptions extends MessageStreamOptions, AdmissionOptions {
  /** Certificate and key for `tcps` / `tcpsm` (and the client CA for `tcpsm`). */
  tls?: TlsServerOptions;
  /** Most connections open at once; more are closed as soon as they arrive (default: no limit). */
  maxConnections?: number;
  /**
   * Most connections open at once from one remote address, counted from the TCP accept (before TLS or
   * the WebSocket upgrade); more are closed as they arrive (default: no limit). To share one budget
   * among several listeners, give them the same `slots` table instead.
   */
  maxConnectionsPerAddress?: number;
  /** What a `ws`/`wss` listener also serves on its port (web pages, other WebSocket paths). */
  http?: HttpHandler;
  /**
   * Web origins (`https://app.example.com`) whose pages may open the qi path of a `ws`/`wss` listener,
   * besides pages of the listener's own origin and clients that send no Origin (non-browser); `'*'`
   * for every origin. Default: none besides those. Rule: src/transport/origin.ts.
   */
  allowedOrigins?: readonly string[];
}

/** A listening endpoint. */
export class Listener {
  constructor(
    private readonly server: net.Server,
    /** The endpoint as bound (real port filled in). */
    readonly endpoint: Endpoint,
    private readonly cleanup: () => void,
  ) {}

  /** The bound endpoint as a URL. */
  get url(): string {
    return formatEndpoint(this.endpoint);
  }

  /** True when bound to a wildcard host: its {@link endpoints} change with the machine's addresses. */
  get followsAddresses(): boolean {
    const ep = this.endpoint;
    return 'host' in ep && (ep.host === '0.0.0.0' || ep.host === '::');
  }

  /**
   * URLs a peer can use to reach this listener. A wildcard host (`0.0.0.0`, `::`) expands to every
   * usable address of this machine's interfaces (transport/addresses.ts); loopback ones come first, as libqi orders them.
   */
  get endpoints(): string[] {
    const ep = this.endpoint;
    if (!('host' in ep)) return [this.url];
    if (ep.host !== '0.0.0.0' && ep.host !== '::') return [this.url];
    const out: string[] = [];
    for (const a of interfaceAddresses()) {
      if (a.family === 'IPv6' && ep.host === '0.0.0.0') continue;
      const zone = a.family === 'IPv6' && a.address.startsWith('fe80') ? a.name : undefined;
      out.push(
        formatEndpoint({
          scheme: ep.scheme,
          host: a.address,
          port: ep.port,
          path: ep.path,
          ...(zone ? { zone } : {}),
        }),
      );
    }
    const host = (u: string) => parseEndpoint(u) as { host: string };
    return out.sort(
      (a, b) => Number(isLoopbackHost(host(b).host)) - Number(isLoopbackHost(host(a).host)) || (a < b ? -1 : 1),
    );
  }

  /** Stops accepting connections (open ones stay until closed by their owners). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        this.cleanup();
        resolve();
      });
    });
  }
}

/**
 * Listens on a `tcp`, `tcps`, `tcpsm`, `ws`, `wss` or `unix` endpoint; `onConnection` gets each accepted
 * connection (after the TLS handshake for secure schemes).
 * @throws {@link QiConnectError} (address in use, not available…) or {@link QiUrlError}.
 */
export async function listen(
  url: string,
  onConnection: (stream: MessageStream) => void,
  options: ListenOptions = {},
): Promise<Listener> {
  const ep = parseEndpoint(url);
  const refusal = schemeOf(ep.scheme)?.listenRefusal;
  if (refusal !== undefined) throw new QiUrlError(url, refusal);
  if (!('host' in ep) && ep.scheme !== 'unix') throw new QiUrlError(url, `cannot listen on a ${ep.scheme} endpoint`);
  const secure = ep.scheme === 'tcps' || ep.scheme === 'tcpsm' || ep.scheme === 'wss';
  if (secure && options.tls === undefined)
    throw new QiUrlError(url, `a ${ep.scheme} endpoint needs { tls: { cert, key } }`);
  const slots =
    options.slots ??
    (options.maxConnectionsPerAddress === undefined ? undefined : new AddressSlots(options.maxConnectionsPerAddress));
  const gated =
    slots !== undefined || options.handshakeTimeoutMs !== undefined || options.maxBytesBeforeAuth !== undefined;
  const admissions = gated ? new Admissions({ ...options, slots }) : undefined;
  const admitted = (stream: MessageStream, carrier: net.Socket) => {
    admissions?.of(carrier)?.watch(stream, carrier);
    onConnection(stream);
  };
  let server: net.Server;
  if (isWebSocket(ep)) {
    server = listenWebSocket(ep, admitted, options, admissions);
  } else if (secure) {
    const mutual = ep.scheme === 'tcpsm';
    server = tls.createServer({
      ...options.tls,
      minVersion: 'TLSv1.2',
      requestCert: mutual,
      rejectUnauthorized: mutual,
    });
    // A failed handshake concerns that client only.
    server.on('tlsClientError', (_e, s) => s.destroy());
  } else {
    server = net.createServer();
  }
  if (!isWebSocket(ep))
    server.on(secure ? 'secureConnection' : 'connection', (socket: net.Socket) => {
      if (socket.destroyed) return; // refused by the admission above
      socket.setNoDelay?.(true);
      keepAlive(socket);
      const remote =
        ep.scheme === 'unix'
          ? formatEndpoint(ep)
          : formatEndpoint({ scheme: ep.scheme, host: String(socket.remoteAddress), port: socket.remotePort ?? 0 });
      // This side as the client reached it (the real port, and the interface address behind 0.0.0.0).
      const local =
        ep.scheme === 'unix'
          ? formatEndpoint(ep)
          : formatEndpoint({
              scheme: ep.scheme,
              host: plainAddress(socket.localAddress),
              port: socket.localPort ?? 0,
            });
      const peerAddress = ep.scheme === 'unix' ? undefined : plainAddress(socket.remoteAddress);
      admitted(new MessageStream(socket, remote, local, { ...options, peerAddress, plainSocket: !secure }), socket);
    });
  // Counted from the TCP accept, before any TLS handshake or HTTP upgrade: registered before the
  // listener above, so that a refused plain TCP connection never becomes a stream.
  if (admissions) server.prependListener('connection', (raw: net.Socket) => admissions.accept(raw));
  if (ep.scheme === 'unix') await removeStaleSocket(ep.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new QiConnectError(url, 'listen on', e)));
    if (ep.scheme === 'unix') server.listen(ep.path, resolve);
    else server.listen({ host: socketHost(ep), port: ep.port, ipv6Only: false }, resolve);
  });
  server.on('error', () => {}); // after binding, errors belong to connections
  if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections; // Node closes the extra ones
  if (ep.scheme === 'unix') {
    return new Listener(server, ep, () => {
      if (existsSync(ep.path)) unlinkSync(ep.path);
    });
  }
  const port = (server.address() as net.AddressInfo).port;
  return new Listener(server, { ...ep, port }, () => {});
}

/** True when a process accepts connections on the unix socket at `path`. */
function socketAlive(path: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = net.connect({ path });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * Removes the socket files of `dir` that nobody listens on any more (left by processes that were
 * killed before they could clean up). Never throws.
 */
export async function sweepStaleSockets(dir: string): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.sock'));
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (!(await socketAlive(path))) {
      try {
        unlinkSync(path);
        removed++;
      } catch {
        // gone already, or not ours to remove
      }
    }
  }
  return removed;
}

/** A socket file left by a crashed process blocks listening; remove it only if nobody answers there. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!(await socketAlive(path))) unlinkSync(path);
}
