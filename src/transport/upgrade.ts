/**
 * Sockets of HTTP upgrades. Node's HTTP server stops listening to a socket's errors when it hands it to
 * an `upgrade` handler: from then on an error on it (the peer resetting the connection while we answer)
 * is an uncaught exception that ends the process, unless its new owner listens. Every `upgrade` handler
 * starts with {@link ownUpgrade}, and every refusal goes through {@link refuseUpgrade}.
 */
import type { Duplex } from 'node:stream';

const owned = new WeakSet<Duplex>();

/** Listens to the errors of an upgrade's socket (they destroy it); the WebSocket taking it may add its own. */
export function ownUpgrade(socket: Duplex): void {
  if (owned.has(socket)) return;
  owned.add(socket);
  socket.on('error', () => socket.destroy());
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 503: 'Service Unavailable' };

/** Answers an upgrade with an HTTP error (`text` as a plain-text body) and closes its socket. */
export function refuseUpgrade(socket: Duplex, status: 400 | 403 | 503, text: string): void {
  ownUpgrade(socket);
  socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nconnection: close\r\ncontent-type: text/plain\r\n\r\n${text}\n`);
}
