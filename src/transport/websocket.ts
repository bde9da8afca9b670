/**
 * qi messages over WebSocket (`ws://`, `wss://`), for browsers and for networks that only let HTTP
 * through. Binary WebSocket messages carry the qi byte stream: a WebSocket message holds one or more
 * qi messages or pieces of one, and the receiver reassembles them as over TCP. Text messages are a
 * protocol error. The `ws` library does the WebSocket part.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import { HEADER_SIZE, defaultMaxPayload } from '../message/index.js';
import type { Admissions } from './admission.js';
import { QiConnectError, QiTlsError } from './errors.js';
import { keepAlive } from './keepalive.js';
import { originRefusal, originRule } from './origin.js';
import { plainAddress, socketEndpoints } from './peer.js';
import { MessageStream, type MessageStreamOptions, type StreamPeer } from './message-stream.js';
import { checkServer, type TlsClientOptions, type TlsServerOptions } from './tls.js';
import { ownUpgrade, refuseUpgrade } from './upgrade.js';
import { formatEndpoint, socketHost, type NetworkEndpoint } from './url.js';

/**
 * Largest WebSocket message taken: one qi message of the largest payload accepted with its header
 * (our senders never put more in one WebSocket message). Bigger is refused at the frame header (1009).
 */
function maxMessage(options: MessageStreamOptions): number {
  return (options.maxPayload ?? defaultMaxPayload()) + HEADER_SIZE;
}

/** A WebSocket as a byte stream for MessageStream, with text frames refused. */
function streamOf(
  ws: WebSocket,
  remote: string,
  local: string,
  options: MessageStreamOptions & StreamPeer,
): MessageStream {
  const duplex = createWebSocketStream(ws, { allowHalfOpen: false });
  ws.on('message', (_data, isBinary) => {
    if (!isBinary)
      duplex.destroy(new Error(`${remote} sent a WebSocket text message; qi messages travel in binary messages only`));
  });
  return new MessageStream(duplex, remote, local, options);
}

/**
 * What else a `ws`/`wss` listener serves on its port besides qi WebSocket connections (web pages, other
 * WebSocket protocols): the higher layers plug in here, this layer knows nothing of them.
 */
export interface HttpHandler {
  /** Answers a plain HTTP request, or returns false to leave it (the listener then answers 426). */
  request?(req: http.IncomingMessage, res: http.ServerResponse): boolean;
  /** Takes an upgrade to a path other than the qi one, or returns false (the listener answers 400). */
  upgrade?(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean;
}

/**
 * The HTTP(S) server and WebSocket server of a `ws`/`wss` listener. `onConnection` gets each qi
 * connection and the socket under it; `admissions` (the listener's pre-authentication bounds) lets
 * go of the connections that an {@link HttpHandler} takes.
 */
export function listenWebSocket(
  ep: NetworkEndpoint,
  onConnection: (stream: MessageStream, socket: net.Socket) => void,
  options: MessageStreamOptions & { tls?: TlsServerOptions; http?: HttpHandler; allowedOrigins?: readonly string[] },
  admissions?: Admissions,
): http.Server {
  const originAllowed = originRule(options.allowedOrigins);
  const server =
    ep.scheme === 'wss' ? https.createServer({ ...options.tls, minVersion: 'TLSv1.2' }) : http.createServer();
  // Plain HTTP requests get a short explanation rather than a hang.
  server.on('request', (req, res) => {
    if (options.http?.request?.(req, res)) return void admissions?.of(req.socket)?.lift();
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('This is a qimessaging WebSocket endpoint: connect with a WebSocket client (qi binary frames).\n');
  });
  const qiPath = ep.path ?? '/';
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: maxMessage(options) });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    ownUpgrade(socket);
    const path = (req.url ?? '/').split('?')[0];
    if (path === qiPath && !originAllowed(req)) {
      // Any page the user visits could otherwise drive the robot with the anonymous rules (docs/web.md).
      refuseUpgrade(socket, 403, originRefusal(req, 'this qi WebSocket endpoint'));
    } else if (path === qiPath) wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    else if (options.http?.upgrade?.(req, socket, head)) admissions?.of(req.socket)?.handOver();
    else refuseUpgrade(socket, 400, `no WebSocket endpoint at ${path}; qi messages are at ${qiPath}`);
  });
  wss.on('connection', (ws, req) => {
    const sock = req.socket;
    const { remote, local } = socketEndpoints(sock, ep.scheme, ep.path);
    sock.setNoDelay?.(true);
    keepAlive(sock);
    onConnection(streamOf(ws, remote, local, { ...options, peerAddress: plainAddress(sock.remoteAddress) }), sock);
  });
  server.on('close', () => wss.close());
  return server;
}

/** Opens a `ws`/`wss` connection; `socket` is an already open tunnel (HTTP CONNECT) to use, if any. */
export function connectWebSocket(
  ep: NetworkEndpoint,
  options: MessageStreamOptions & { tls?: TlsClientOptions; timeoutMs: number; socket?: net.Socket },
): Promise<MessageStream> {
  const text = formatEndpoint(ep);
  const host = socketHost(ep).includes(':') ? `[${socketHost(ep)}]` : ep.host;
  const url = `${ep.scheme}://${host}:${ep.port}${ep.path ?? '/'}`;
  const t = options.tls ?? {};
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      maxPayload: maxMessage(options),
      handshakeTimeout: options.timeoutMs,
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      // Verified by checkServer, so that its error can carry the fingerprint to pin.
      rejectUnauthorized: false,
      // The tunnel comes paused (so that no byte is lost); the HTTP client reads it from here on.
      ...(options.socket ? { createConnection: () => options.socket!.resume() } : {}),
    });
    let upgraded: net.Socket | undefined;
    ws.once('upgrade', (res) => (upgraded = res.socket));
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(
        new QiConnectError(
          text,
          'connect to',
          new Error(
            `the server answered HTTP ${res.statusCode} instead of a WebSocket upgrade (wrong path, or not a qi WebSocket endpoint?)`,
          ),
        ),
      );
    });
    ws.once('error', (e) => reject(new QiConnectError(text, 'connect to', e)));
    ws.once('open', () => {
      try {
        if (ep.scheme === 'wss') checkServer(upgraded as tls.TLSSocket, text, t);
      } catch (e) {
        ws.terminate();
        return reject(e instanceof QiTlsError ? e : new QiTlsError(String(e)));
      }
      upgraded?.setNoDelay?.(true);
      const local = formatEndpoint({
        scheme: ep.scheme,
        host: String(upgraded?.localAddress),
        port: upgraded?.localPort ?? 0,
      });
      resolve(streamOf(ws, text, local, options));
    });
  });
}
