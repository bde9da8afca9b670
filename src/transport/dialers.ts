/**
 * Transports that live in higher layers (XMPP, later others) plug in here: a dialer per URL scheme, so
 * that `connect('xmpp://robot@example.org')` works without this layer knowing anything of XMPP.
 */
import type { MessageStream } from './message-stream.js';
import type { Endpoint } from './url.js';

/** Options a plugged-in transport receives: the connect options, with its own section. */
export interface DialOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  maxPayload?: number;
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
