/**
 * The `ws` package in the browser: src/transport/websocket.ts is built on it, for Node. In the browser
 * bundle the entry registers its own `ws`/`wss` dialer (../websocket.ts, the browser's WebSocket) in
 * place of that module's, so only listening would reach these, and listening is Node-only.
 */
import { unavailable } from './unavailable.js';

export class WebSocket {
  constructor() {
    unavailable('The ws package (Node WebSocket client)');
  }
}

export class WebSocketServer {
  constructor() {
    unavailable('Listening (ws:// server)');
  }
}

export const createWebSocketStream = (): never => unavailable('The ws package (Node WebSocket streams)');
export default { WebSocket, WebSocketServer, createWebSocketStream };
