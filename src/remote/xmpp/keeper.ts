/**
 * Keeps one XMPP connection alive: notices a connection that went silent (the network vanished without
 * a FIN: no socket ever closes by itself) by pinging the server (XEP-0199) whenever nothing came from it
 * for a while, and logs in again by itself after any loss, paced by a {@link Backoff} with jitter, until
 * it is back or closed. `@xmpp/client`'s own reconnection (a fixed 1 s delay, no liveness) is switched off.
 *
 * Everything is set up once per connection object: listeners and timers do not grow with reconnections.
 */
import { Backoff } from '../../session/index.js';
import { destroySocket, xml, type XmppSocket } from './lib.js';
import type { Client } from './xmpp-types.js';
import { envNumber } from '../../config/env.js';

/** How a link finds out its connection is dead, and how it comes back. */
export interface XmppKeepOptions {
  /**
   * Ping the server after this long without hearing from it, in ms (default `QI_XMPP_PING_MS` or
   * 10,000). `0` turns liveness checks off.
   */
  pingMs?: number;
  /**
   * The connection is dead once nothing came for `pingMs` + this long, in ms (default
   * `QI_XMPP_PING_TIMEOUT_MS` or 10,000): a silent network is noticed within 20 s by default.
   */
  pingTimeoutMs?: number;
  /**
   * Logging in again after a loss: first wait, longest wait (ms) and the random share of each wait
   * (default `{ minMs: 500, maxMs: 30_000, jitter: 0.5 }`), or `false` to stay offline.
   */
  reconnect?: { minMs?: number; maxMs?: number; jitter?: number } | false;
}

/** Reconnection pace defaults (see {@link XmppKeepOptions.reconnect}). */
export const XMPP_RECONNECT = { minMs: 500, maxMs: 30_000, jitter: 0.5 } as const;

/** The pace `reconnect` asks for, {@link XMPP_RECONNECT} where it says nothing; undefined for `false`. */
export function reconnectPace(
  reconnect: XmppKeepOptions['reconnect'],
): { minMs: number; maxMs: number; jitter: number } | undefined {
  return reconnect === false ? undefined : { ...XMPP_RECONNECT, ...reconnect };
}

/** What the keeper reports to its link. */
export interface KeeperEvents {
  /** The connection was lost (why, in words). */
  lost(reason: string): void;
}

/** See the module comment; one per `Client`. */
export class XmppKeeper {
  /** Connections lost, and logins again that succeeded. */
  readonly counts = { lost: 0, reconnected: 0, attempts: 0 };
  /** When the current outage began (undefined while online). */
  downSince: number | undefined;
  private readonly pingMs: number;
  private readonly pingTimeoutMs: number;
  private readonly pace: { minMs: number; maxMs: number; jitter: number } | undefined;
  private backoff: Backoff | undefined;
  private lastHeard = Date.now();
  private pinger: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private why: string | undefined;
  private started = false;
  private closed = false;
  /** Why the server refused the account, once it did: no more logins. */
  private refused: string | undefined;

  /** Which of `services` the connection uses now. */
  private turn: number;

  /**
   * @param services the addresses of the service (a cluster's nodes): each login again goes to the next
   * one after the one in use (the one that was lost first goes last)
   */
  constructor(
    private readonly xmpp: Client,
    options: XmppKeepOptions,
    private readonly attemptMs: number,
    private readonly services: readonly string[],
    private readonly events: KeeperEvents,
  ) {
    this.turn = Math.max(0, services.indexOf(xmpp.options.service));
    this.pingMs = options.pingMs ?? envNumber('QI_XMPP_PING_MS', 10_000, { zero: true });
    this.pingTimeoutMs = Math.max(
      1,
      options.pingTimeoutMs ?? envNumber('QI_XMPP_PING_TIMEOUT_MS', 10_000, { zero: true }),
    );
    this.pace = reconnectPace(options.reconnect);
    xmpp.reconnect.stop();
    xmpp.on('element', () => (this.lastHeard = Date.now()));
    xmpp.on('online', () => this.online());
    xmpp.on('disconnect', () => this.disconnected());
  }

  /** Whether {@link start} was called (the first login succeeded). */
  get isStarted(): boolean {
    return this.started;
  }

  /** Starts watching (the connection is online). */
  start(): void {
    this.started = true;
    this.online();
  }

  /** Stops every timer and reconnection for good. */
  close(): void {
    this.closed = true;
    clearTimeout(this.pinger);
    clearTimeout(this.retry);
    clearTimeout(this.deadline);
  }

  /**
   * The server refused the account (removed, password changed, disabled): stops logging in for good
   * and drops the connection if it is still open (a failed authentication leaves the stream open).
   */
  refuse(why: string): void {
    if (this.refused !== undefined) return;
    this.refused = why;
    this.why ??= why;
    clearTimeout(this.retry);
    clearTimeout(this.deadline);
    this.retry = undefined;
    // A failed authentication leaves the stream open; a stream error closes by itself.
    if (this.xmpp.status !== 'online' && this.xmpp.status !== 'disconnecting') this.drop(why);
  }

  private online(): void {
    if (this.closed || !this.started) return;
    clearTimeout(this.deadline);
    if (this.downSince !== undefined) this.counts.reconnected++;
    this.downSince = undefined;
    this.why = undefined;
    this.backoff = undefined;
    this.lastHeard = Date.now();
    this.arm(this.pingMs);
  }

  private disconnected(): void {
    clearTimeout(this.pinger);
    clearTimeout(this.deadline);
    if (this.closed || !this.started) return;
    if (this.downSince === undefined) {
      this.downSince = Date.now();
      this.counts.lost++;
      this.events.lost(this.why ?? 'the server closed it or the network failed');
    }
    if (this.pace === undefined || this.retry !== undefined || this.refused !== undefined) return;
    this.backoff ??= new Backoff(this.pace.minMs, this.pace.maxMs, this.pace.jitter);
    this.retry = setTimeout(() => this.attempt(), this.backoff.next());
  }

  /** One login again; whatever stalls it past `attemptMs` ends it (and the next one is scheduled). */
  private attempt(): void {
    this.retry = undefined;
    if (this.closed || this.refused !== undefined || this.xmpp.status !== 'disconnect') return;
    this.counts.attempts++;
    if (this.services.length > 1) {
      this.turn = (this.turn + 1) % this.services.length;
      this.xmpp.options.service = this.services[this.turn];
    }
    this.deadline = setTimeout(() => this.drop(`no login within ${this.attemptMs} ms`), this.attemptMs);
    this.xmpp.reconnect.reconnect().catch(() => {
      // A refused TCP connection has already closed (and scheduled the next attempt); a stream that
      // failed to open still holds its socket.
      if (this.xmpp.status !== 'disconnect') this.drop('the server did not open the stream');
    });
  }

  /** Ends the connection now (it closes, and reconnection follows). */
  private drop(why: string): void {
    this.why ??= why;
    const socket = (this.xmpp as unknown as { socket?: XmppSocket | null }).socket;
    if (socket) destroySocket(socket, new Error(why));
    else if (this.xmpp.status !== 'online') this.disconnected();
  }

  private arm(ms: number): void {
    clearTimeout(this.pinger);
    if (this.pingMs <= 0 || this.closed) return;
    this.pinger = setTimeout(() => this.check(), Math.max(1, ms));
    this.pinger.unref();
  }

  /** Pings after `pingMs` of silence; drops the connection after `pingMs + pingTimeoutMs`. */
  private check(): void {
    if (this.xmpp.status !== 'online') return;
    const quiet = Date.now() - this.lastHeard;
    if (quiet >= this.pingMs + this.pingTimeoutMs) {
      this.drop(
        `no answer from the XMPP server for ${quiet} ms (ping after ${this.pingMs} ms, dead after ${this.pingTimeoutMs} ms more)`,
      );
      return;
    }
    if (quiet >= this.pingMs) {
      const domain = this.xmpp.jid?.domain;
      this.xmpp
        .send(
          xml('iq', { type: 'get', id: `qi-ping-${Date.now()}`, to: domain }, xml('ping', { xmlns: 'urn:xmpp:ping' })),
        )
        .catch(() => {});
      this.arm(this.lastHeard + this.pingMs + this.pingTimeoutMs - Date.now());
    } else {
      this.arm(this.lastHeard + this.pingMs - Date.now());
    }
  }
}
