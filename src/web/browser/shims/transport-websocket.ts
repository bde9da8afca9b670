/**
 * Stands in for src/transport/websocket.ts in the browser bundle (that module is built on `ws` and
 * Node's HTTP server). Connecting goes to the dialer the browser entry registers for `ws`/`wss`
 * (src/web/browser/websocket.ts); listening is Node-only.
 */
import { dialerOf } from '../../../transport/dialers.js';
import type { MessageStream, MessageStreamOptions } from '../../../transport/message-stream.js';
import type { NetworkEndpoint } from '../../../transport/url.js';
import { unavailable } from './unavailable.js';

export type HttpHandler = unknown;

export function connectWebSocket(
  ep: NetworkEndpoint,
  options: MessageStreamOptions & { timeoutMs: number; socket?: unknown },
): Promise<MessageStream> {
  const dial = dialerOf(ep.scheme);
  if (dial === undefined)
    throw new Error(`no ${ep.scheme} dialer registered (import the browser entry of qimessaging)`);
  if (options.socket !== undefined) unavailable('an HTTP proxy');
  return dial(ep, { timeoutMs: options.timeoutMs, maxPayload: options.maxPayload });
}

export function listenWebSocket(): never {
  return unavailable('Listening (ws:// server)');
}
