/**
 * A dialer per URL scheme: `connect` opens every endpoint with the dialer of its scheme. The built-in
 * schemes' dialer is registered by connect.ts; the browser build registers its own for `ws`/`wss`, and
 * transports that live in higher layers (XMPP) plug in here too, so that `connect('xmpp://robot@example.org')`
 * works without this layer knowing anything of XMPP (their URLs are described in schemes.ts).
 */
import type { ConnectOptions } from './connect.js';
import type { MessageStream } from './message-stream.js';
import type { Endpoint } from './url.js';

/**
 * Options a dialer receives: the connect options with the time allowed, and each plugged-in transport's
 * own section (`ConnectOptions.transports`) spread in.
 */
export interface DialOptions extends ConnectOptions {
  timeoutMs: number;
  /** Options of the transport itself, e.g. the XMPP account to dial from. */
  [transport: string]: unknown;
}

/** Opens a message stream to an endpoint of one scheme. */
export type Dialer = (endpoint: Endpoint, options: DialOptions) => Promise<MessageStream>;

const dialers = new Map<string, Dialer>();

/** Makes `connect` able to reach `scheme` endpoints. */
export function registerDialer(scheme: string, dialer: Dialer): void {
  dialers.set(scheme, dialer);
}

/** The dialer of `scheme`, if one is registered. */
export function dialerOf(scheme: string): Dialer | undefined {
  return dialers.get(scheme);
}
