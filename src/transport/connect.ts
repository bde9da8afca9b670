/** Opening a client connection to an endpoint, with errors that say what went wrong and what to try. */
import net from 'node:net';
import tls from 'node:tls';
import { QiConnectError, QiTlsError } from './errors.js';
import { DirectRead } from './direct-read.js';
import { dialerOf, registerDialer, type DialOptions } from './dialers.js';
import { keepAlive } from './keepalive.js';
import { schemeOf } from './schemes.js';
import { rememberDialled } from './sniff.js';
import { MessageStream, type MessageStreamOptions } from './message-stream.js';
import { checkServer, type TlsClientOptions } from './tls.js';
import { tunnel } from './proxy.js';
import { QiUrlError, formatEndpoint, isWebSocket, parseEndpoint, socketHost, type Endpoint } from './url.js';
import { connectWebSocket } from './websocket.js';

/** Options of {@link connect}. */
export interface ConnectOptions extends MessageStreamOptions {
  /** TLS settings for `tcps` and `tcpsm`. */
  tls?: TlsClientOptions;
  /** Give up connecting after this many milliseconds (default 10,000). */
  timeoutMs?: number;
  /** Abort the attempt. */
  signal?: AbortSignal;
  /** Options of plugged-in transports, by scheme (e.g. `xmpp: { service, jid, password }`). */
  transports?: Record<string, unknown>;
  /**
   * Reach the endpoint through this HTTP proxy (`http://[user:password@]host:port`, HTTP CONNECT).
   * Default: `QI_PROXY`. Never used for `unix` endpoints.
   */
  proxy?: string;
}

/**
 * Connects to an endpoint with the dialer registered for its scheme: `tcp`, `tcps`, `tcpsm`, `ws`, `wss`
 * or `unix` (through an HTTP proxy when one is configured), or a plugged-in transport's.
 * @throws {@link QiConnectError} (refused, unreachable, timed out…), {@link QiTlsError} (untrusted
 * certificate, failed handshake) or {@link QiUrlError}.
 */
export async function connect(url: string | Endpoint, options: ConnectOptions = {}): Promise<MessageStream> {
  const ep = typeof url === 'string' ? parseEndpoint(url) : url;
  const refusal = schemeOf(ep.scheme)?.dialRefusal;
  if (refusal !== undefined) throw new QiUrlError(formatEndpoint(ep), refusal);
  const dial = dialerOf(ep.scheme);
  if (dial === undefined) throw new QiUrlError(formatEndpoint(ep), `the ${ep.scheme} transport is not loaded`);
  return dial(ep, { ...options.transports, ...options, timeoutMs: options.timeoutMs ?? 10_000 });
}

/** The built-in dialer of `tcp`, `tcps`, `tcpsm`, `unix`, `ws` and `wss`. */
async function dialBuiltIn(ep: Endpoint, options: DialOptions): Promise<MessageStream> {
  if (!('host' in ep) && ep.scheme !== 'unix') throw new Error('unreachable');
  const text = formatEndpoint(ep);
  const timeoutMs = options.timeoutMs;
  const proxy = ep.scheme === 'unix' ? undefined : (options.proxy ?? (process.env.QI_PROXY || undefined));
  const tunnelled =
    proxy !== undefined && ep.scheme !== 'unix'
      ? await tunnel(proxy, socketHost(ep), ep.port, timeoutMs, text)
      : undefined;
  if (isWebSocket(ep)) return connectWebSocket(ep, { ...options, timeoutMs, socket: tunnelled });
  return connectSocket(ep, text, options, timeoutMs, tunnelled);
}

for (const scheme of ['tcp', 'tcps', 'tcpsm', 'unix', 'ws', 'wss']) registerDialer(scheme, dialBuiltIn);

function connectSocket(
  ep: Endpoint,
  text: string,
  options: ConnectOptions,
  timeoutMs: number,
  tunnelled: net.Socket | undefined,
): Promise<MessageStream> {
  return new Promise<MessageStream>((resolve, reject) => {
    if (!('host' in ep || ep.scheme === 'unix') || isWebSocket(ep)) throw new Error('unreachable');
    let socket: net.Socket;
    // Plain sockets read straight into message buffers; TLS sockets cannot (Node has no onread for them).
    const directRead = new DirectRead();
    const secure = ep.scheme === 'tcps' || ep.scheme === 'tcpsm';
    if (ep.scheme === 'unix') {
      socket = net.connect({ path: ep.path, onread: directRead.option });
    } else if (secure) {
      const t = options.tls ?? {};
      if (ep.scheme === 'tcpsm' && (t.cert === undefined || t.key === undefined)) {
        reject(
          new QiTlsError(
            `Cannot connect to ${text}: mutual TLS (tcpsm) needs a client certificate and key in { tls: { cert, key } }.`,
          ),
        );
        return;
      }
      const host = socketHost(ep);
      socket = tls.connect({
        socket: tunnelled,
        host,
        port: ep.port,
        servername: t.servername ?? (net.isIP(ep.host) ? undefined : ep.host),
        ca: t.ca,
        cert: t.cert,
        key: t.key,
        minVersion: 'TLSv1.2',
        // Verification is done by checkServer so that its error can carry the fingerprint to pin.
        rejectUnauthorized: false,
      });
    } else if (tunnelled !== undefined) {
      socket = tunnelled;
      setImmediate(() => socket.emit('connect')); // the tunnel is already open
    } else {
      socket = net.connect({ host: socketHost(ep), port: ep.port, onread: directRead.option });
    }
    socket.setNoDelay?.(true);
    if (ep.scheme !== 'unix') keepAlive(socket);
    const timer = setTimeout(() => fail(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    const onAbort = () => fail(options.signal?.reason ?? new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup() {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', fail);
    }
    function fail(e: unknown) {
      cleanup();
      socket.destroy();
      if (e instanceof QiTlsError || (e as Error)?.name === 'AbortError') return reject(e);
      const code = (e as { code?: string })?.code ?? '';
      if (
        secure &&
        (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS/.test((e as Error)?.message ?? ''))
      ) {
        return reject(
          new QiTlsError(
            `TLS handshake with ${text} failed: ${(e as Error).message}. Is it really a tcps endpoint, with a TLS 1.2+ server?`,
            undefined,
            e,
          ),
        );
      }
      reject(new QiConnectError(text, 'connect to', e));
    }
    socket.once('error', fail);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      try {
        if (secure) checkServer(socket as tls.TLSSocket, text, options.tls ?? {});
      } catch (e) {
        return fail(e);
      }
      cleanup();
      const local =
        ep.scheme === 'unix'
          ? text
          : formatEndpoint({ scheme: ep.scheme, host: String(socket.localAddress), port: socket.localPort ?? 0 });
      const stream = new MessageStream(
        socket,
        text,
        local,
        secure || tunnelled ? options : { ...options, directRead, plainSocket: true },
      );
      if (tunnelled === undefined) rememberDialled(stream, ep); // so that a failed handshake can say what the port speaks
      resolve(stream);
    });
  });
}
