/**
 * The socket.io 0.9 protocol (protocol revision 1), which the original qimessaging.js scripts embed
 * (socket.io 0.9.11), for apps that bundle their own copy instead of loading ours. WebSocket transport
 * only: a 0.9 client keeps to the transports the handshake lists, and every browser that can run a
 * tablet app has WebSocket.
 *
 *   GET  <resource>/1/?t=…              → "<sid>:<heartbeat s>:<close s>:websocket"
 *   WS   <resource>/1/websocket/<sid>   → frames "type:id:endpoint:data": 0 disconnect, 1 connect,
 *                                         2 heartbeat, 5 event {"name","args":[…]}, 8 noop
 * Several packets in one frame are framed as `\ufffd<length>\ufffd<packet>…`.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { originRefusal, plainAddress, refuseUpgrade, type OriginRule } from '../../transport/index.js';
import type { ApiVersion, ClassicConnection, ClassicPeer } from './bridge.js';

const HEARTBEAT_S = 60; // advertised: the client closes after this long without a packet
const SEND_HEARTBEAT_MS = 25_000;
const HANDSHAKE_TTL_MS = 30_000;
const MAX_WAITING_HANDSHAKES = 1_000;
/** A page makes one handshake and uses it at once: one address may not fill the table for the others. */
const MAX_WAITING_PER_ADDRESS = 32;

interface Packet {
  type: string;
  endpoint: string;
  data: string;
}

/** Packets of one frame: a single packet, or several framed by U+FFFD and lengths. */
export function decodeFrame(text: string): Packet[] {
  const packets: string[] = [];
  if (text.charAt(0) === '\ufffd') {
    let i = 0;
    while (i < text.length && text.charAt(i) === '\ufffd') {
      const end = text.indexOf('\ufffd', i + 1);
      if (end < 0) break;
      const len = Number(text.slice(i + 1, end));
      if (!Number.isInteger(len) || len < 0) break;
      packets.push(text.substr(end + 1, len));
      i = end + 1 + len;
    }
  } else packets.push(text);
  const out: Packet[] = [];
  for (const p of packets) {
    const m = /^(\d+):(\d*\+?):([^:]*):?([\s\S]*)$/.exec(p);
    if (m) out.push({ type: m[1], endpoint: m[3], data: m[4] });
  }
  return out;
}

/** socket.io 0.9 handshakes and WebSocket connections, bridged like the v4 ones. */
export class LegacySocketIo {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 10_000_000 });
  private readonly waiting = new Map<string, { version: ApiVersion; timer: NodeJS.Timeout; address: string }>();
  /** Waiting handshakes per browser address. */
  private readonly perAddress = new Map<string, number>();
  private readonly open = new Set<WebSocket>();

  constructor(
    private readonly base: string,
    private readonly originAllowed: OriginRule,
    private readonly attach: (
      version: ApiVersion,
      req: http.IncomingMessage,
      peer: ClassicPeer,
    ) => ClassicConnection | undefined,
    private readonly detach: (conn: ClassicConnection) => Promise<void>,
  ) {}

  private resource(version: ApiVersion): string {
    return `${this.base}/${version}/socket.io/1/`;
  }

  /** The handshake (`GET <resource>/1/`); other 0.9 transports (polling) are not offered. */
  request(version: ApiVersion, req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    const origin = req.headers.origin;
    if (!this.originAllowed(req)) {
      res
        .writeHead(403, { 'content-type': 'text/plain' })
        .end(originRefusal(req, 'the classic qimessaging.js API', 'origins'));
      return;
    }
    const cors: Record<string, string> = origin
      ? { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', vary: 'Origin' }
      : {};
    if (path !== this.resource(version) || (req.method !== 'GET' && req.method !== 'OPTIONS')) {
      res
        .writeHead(404, { 'content-type': 'text/plain', ...cors })
        .end('socket.io 0.9: only the WebSocket transport is served here');
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'access-control-allow-methods': 'GET' }).end();
      return;
    }
    const address = plainAddress(req.socket.remoteAddress);
    const mine = this.perAddress.get(address) ?? 0;
    if (mine >= MAX_WAITING_PER_ADDRESS || this.waiting.size >= MAX_WAITING_HANDSHAKES) {
      const who =
        mine >= MAX_WAITING_PER_ADDRESS
          ? `from your address (${MAX_WAITING_PER_ADDRESS})`
          : `(${MAX_WAITING_HANDSHAKES})`;
      res
        .writeHead(503, { 'content-type': 'text/plain', 'retry-after': String(HANDSHAKE_TTL_MS / 1000), ...cors })
        .end(
          `socket.io 0.9: too many handshakes waiting to be used ${who}; use the session ids you have, or try again in ${HANDSHAKE_TTL_MS / 1000} s`,
        );
      return;
    }
    const sid = randomBytes(12).toString('hex');
    const timer = setTimeout(() => this.forget(sid), HANDSHAKE_TTL_MS);
    timer.unref();
    this.waiting.set(sid, { version, timer, address });
    this.perAddress.set(address, mine + 1);
    const body = `${sid}:${HEARTBEAT_S}:${HEARTBEAT_S}:websocket`;
    const jsonp = new URL(req.url ?? '/', 'http://x').searchParams.get('jsonp');
    if (jsonp !== null && /^\d+$/.test(jsonp)) {
      res
        .writeHead(200, { 'content-type': 'application/javascript', ...cors })
        .end(`io.j[${jsonp}](${JSON.stringify(body)});`);
    } else res.writeHead(200, { 'content-type': 'text/plain', ...cors }).end(body);
  }

  /** The WebSocket transport (`<resource>/1/websocket/<sid>`). */
  upgrade(version: ApiVersion, req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0];
    const prefix = `${this.resource(version)}websocket/`;
    const sid = path.startsWith(prefix) ? path.slice(prefix.length) : '';
    const hs = this.waiting.get(sid);
    if (!this.originAllowed(req))
      return refuseUpgrade(socket, 403, originRefusal(req, 'the classic qimessaging.js API', 'origins'));
    if (hs === undefined || hs.version !== version)
      return refuseUpgrade(socket, 400, 'socket.io 0.9: unknown or expired session id; handshake first');
    this.forget(sid);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(version, req, ws));
  }

  /** Handshakes waiting for their WebSocket (for tests and monitoring). */
  get pending(): number {
    return this.waiting.size;
  }

  private forget(sid: string): void {
    const hs = this.waiting.get(sid);
    if (hs === undefined) return;
    this.waiting.delete(sid);
    clearTimeout(hs.timer);
    const left = (this.perAddress.get(hs.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(hs.address, left);
    else this.perAddress.delete(hs.address);
  }

  private serve(version: ApiVersion, req: http.IncomingMessage, ws: WebSocket): void {
    this.open.add(ws);
    const send = (packet: string) => {
      if (ws.readyState === ws.OPEN) ws.send(packet);
    };
    const peer: ClassicPeer = {
      emit: (event, data) => send(`5:::${JSON.stringify({ name: event, args: [data] })}`),
      // The WebSocket only: a 0.9 client takes a `0::` packet as "booted" and never reconnects.
      close: () => ws.close(),
    };
    send('1::');
    const conn = this.attach(version, req, peer);
    if (conn === undefined) {
      send(
        `5:::${JSON.stringify({ name: 'error', args: [{ result: 'Too many browser connections; try again later' }] })}`,
      );
      send('0::'); // refused for good: no reconnection storm against a full table
      ws.close();
      this.open.delete(ws);
      return;
    }
    const heartbeat = setInterval(() => send('2::'), SEND_HEARTBEAT_MS);
    heartbeat.unref();
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      for (const p of decodeFrame(data.toString())) {
        if (p.type === '0') ws.close();
        else if (p.type === '5' && p.endpoint === '') {
          let event: { name?: unknown; args?: unknown };
          try {
            event = JSON.parse(p.data) as typeof event;
          } catch {
            continue;
          }
          if (event.name === 'call' && Array.isArray(event.args)) void conn.call(event.args[0]);
        }
      }
    });
    ws.on('error', () => ws.close());
    ws.on('close', () => {
      clearInterval(heartbeat);
      this.open.delete(ws);
      void this.detach(conn);
    });
  }

  /** Closes every 0.9 connection and forgets waiting handshakes. */
  close(): void {
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.perAddress.clear();
    for (const ws of this.open) ws.close();
    this.open.clear();
    this.wss.close();
  }
}
