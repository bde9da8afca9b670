/**
 * The URL schemes this package knows, in one table: how an endpoint of each parses and prints, what a
 * route through it costs, and why `connect` or `listen` refuses it, if they do. The built-in schemes
 * (tcp, tcps, tcpsm, ws, wss, unix, qi) are described in url.ts and dialled by connect.ts; transports of
 * higher layers (XMPP) plug in the same way, with {@link registerScheme} and `registerDialer`, so that this
 * layer knows nothing of them.
 */
import type { Endpoint } from './url.js';

/**
 * How an endpoint of a scheme is reached, which ranks routes (cheapest first): `ipc` (this machine only:
 * unix), `host` (by host and port: loopback, then network), `relay` (through a server, or a direct link to
 * another machine: the most expensive route, never the first), `relative` (`qi:`: only through an existing connection).
 */
export type Reach = 'ipc' | 'host' | 'relay' | 'relative';

/** What a scheme needs besides its dialer. */
export interface SchemeEntry {
  readonly reach: Reach;
  /**
   * Parses what follows `scheme:` (a leading `//` included); `url` is for errors. Without it the URL is
   * `scheme://host[:port]`.
   */
  readonly parse?: (rest: string, url: string) => Endpoint;
  /** Prints an endpoint of this scheme as a URL (given with `parse`). */
  readonly format?: (endpoint: Endpoint) => string;
  /** The port of a `host` URL that gives none (default 9559). */
  readonly defaultPort?: number;
  /** A `host` URL of this scheme has an HTTP path (`ws://host:port/path`). */
  readonly path?: boolean;
  /** Why `connect` refuses endpoints of this scheme, when it does. */
  readonly dialRefusal?: string;
  /** Why `listen` refuses endpoints of this scheme; listeners exist for the built-in schemes only. */
  readonly listenRefusal?: string;
}

const schemes = new Map<string, SchemeEntry>();

/** Makes `scheme:` URLs known to `parseEndpoint`, `connect`, `listen` and session routing. */
export function registerScheme(scheme: string, entry: SchemeEntry): void {
  schemes.set(scheme, entry);
}

/** The entry of a known scheme. */
export function schemeOf(scheme: string): SchemeEntry | undefined {
  return schemes.get(scheme);
}

/** The known schemes, in the order they were registered. */
export function knownSchemes(): string[] {
  return [...schemes.keys()];
}

/** How `endpoint` is reached (see {@link Reach}). */
export function reachOf(endpoint: Endpoint): Reach {
  return schemes.get(endpoint.scheme)?.reach ?? 'host';
}
