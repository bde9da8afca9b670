/**
 * Endpoint URLs: `tcp://host:port`, `tcps://…` (TLS), `tcpsm://…` (mutual TLS), `ws://host:port/path`
 * and `wss://…` (qi messages over WebSocket, for browsers and HTTP proxies), `unix:/path` (IPC on the
 * same machine) and the relative `qi:ServiceName` that libqi's ServiceDirectory may return.
 *
 * Parsing follows libqi where libqi is defined (a missing scheme is `tcp`, a missing port is 9559) and
 * RFC 3986 for IPv6 literals, which libqi's own parser never handled: `tcp://[::1]:9559`, with a zone
 * (scope id) written `[fe80::1%eth0]` or, as RFC 6874 spells it, `[fe80::1%25eth0]`.
 */
import { isIP } from 'node:net';
import { QiError } from '../errors/index.js';
import { knownSchemes, registerScheme, schemeOf } from './schemes.js';

/** The default ServiceDirectory port of NAOqi. */
export const DEFAULT_PORT = 9559;

/**
 * Endpoints of schemes that higher layers plug in (see schemes.ts), by scheme: such a layer adds its own
 * with a module augmentation (`declare module '…/transport/url.js' { interface PluggedEndpoints { … } }`).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by module augmentation
export interface PluggedEndpoints {}

/** Network schemes that are dialled; `unix` is local IPC, `qi` is relative and never dialled; plus plugged ones. */
export type Scheme = 'tcp' | 'tcps' | 'tcpsm' | 'ws' | 'wss' | 'unix' | 'qi' | keyof PluggedEndpoints;

/** A parsed endpoint. */
export type Endpoint =
  | NetworkEndpoint
  | { readonly scheme: 'unix'; readonly path: string }
  | { readonly scheme: 'qi'; readonly service: string }
  | PluggedEndpoints[keyof PluggedEndpoints];

/** A host and port reached over TCP, with an IPv6 zone for link-local addresses. */
export interface NetworkEndpoint {
  readonly scheme: 'tcp' | 'tcps' | 'tcpsm' | 'ws' | 'wss';
  readonly host: string;
  readonly port: number;
  readonly zone?: string;
  /** The HTTP path of a `ws`/`wss` endpoint (default `/`). */
  readonly path?: string;
}

/** True for the WebSocket schemes. */
export function isWebSocket(e: Endpoint): e is NetworkEndpoint & { scheme: 'ws' | 'wss' } {
  return e.scheme === 'ws' || e.scheme === 'wss';
}

/** A URL that is not a valid qi endpoint. */
export class QiUrlError extends QiError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(
      'ERR_QI_URL',
      `Invalid endpoint URL ${JSON.stringify(url)}: ${reason}. Examples: tcp://127.0.0.1:9559, tcps://pepper.local:9503, tcp://[::1]:0, unix:/run/qi/sd.sock`,
    );
  }
}

registerScheme('tcp', { reach: 'host' });
registerScheme('tcps', { reach: 'host' });
registerScheme('tcpsm', { reach: 'host' });
registerScheme('ws', { reach: 'host', defaultPort: 80, path: true });
registerScheme('wss', { reach: 'host', defaultPort: 443, path: true });
registerScheme('unix', {
  reach: 'ipc',
  parse: (rest, url) => {
    const path = rest.startsWith('//') ? rest.slice(2) : rest;
    if (path.length === 0) throw new QiUrlError(url, 'a unix endpoint needs a socket path');
    return { scheme: 'unix', path: decodeURIComponent(path) };
  },
  format: (e) => `unix:${(e as { path: string }).path}`,
});
registerScheme('qi', {
  reach: 'relative',
  parse: (rest, url) => {
    if (rest.startsWith('//') || rest.length === 0) throw new QiUrlError(url, 'a relative endpoint is qi:ServiceName');
    return { scheme: 'qi', service: rest };
  },
  format: (e) => `qi:${(e as { service: string }).service}`,
  dialRefusal: 'a relative qi: endpoint is reached through an existing connection, never dialled',
  listenRefusal: 'cannot listen on a relative qi: endpoint',
});

/**
 * Parses an endpoint URL.
 * @param url e.g. `tcp://127.0.0.1:9559`, `nao.local` (→ `tcp://nao.local:9559`), `tcps://[::1]:0`
 * @throws {@link QiUrlError} with what is wrong and examples of valid URLs
 */
export function parseEndpoint(url: string): Endpoint {
  const text = url.trim();
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(text);
  let scheme = 'tcp';
  let rest = text;
  if (m && (schemeOf(m[1].toLowerCase()) !== undefined || text.slice(m[0].length).startsWith('//'))) {
    scheme = m[1].toLowerCase();
    rest = text.slice(m[0].length);
  }
  const entry = schemeOf(scheme);
  if (entry === undefined)
    throw new QiUrlError(url, `unknown scheme "${scheme}" (known: ${knownSchemes().join(', ')})`);
  if (entry.parse) return entry.parse(rest, url);
  if (rest.startsWith('//')) rest = rest.slice(2);
  let path: string | undefined;
  if (entry.path) {
    const slash = rest.indexOf('/');
    if (slash >= 0) {
      path = rest.slice(slash);
      rest = rest.slice(0, slash);
    }
    path = path === undefined || path === '' ? '/' : path;
  }
  rest = rest.replace(/\/+$/, '');
  let host: string;
  let portText: string | undefined;
  let zone: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new QiUrlError(url, "an IPv6 address must be closed with ']'");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.length > 0 && !after.startsWith(':'))
      throw new QiUrlError(url, `unexpected "${after}" after the IPv6 address`);
    portText = after.length > 0 ? after.slice(1) : undefined;
    const pct = host.indexOf('%');
    if (pct >= 0) {
      zone = decodeURIComponent(host.slice(pct + 1).replace(/^25/, ''));
      host = host.slice(0, pct);
      if (zone.length === 0) throw new QiUrlError(url, 'an empty IPv6 zone (scope id) after %');
    }
    if (isIP(host) !== 6) throw new QiUrlError(url, `"${host}" is not an IPv6 address`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0 && rest.indexOf(':') !== colon)
      throw new QiUrlError(url, 'an IPv6 address must be written in brackets, e.g. tcp://[::1]:9559');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
    if (host.length === 0) throw new QiUrlError(url, 'the host is missing');
    if (/[\s/?#@]/.test(host)) throw new QiUrlError(url, `"${host}" is not a host name`);
  }
  let port = entry.defaultPort ?? DEFAULT_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)
      throw new QiUrlError(url, `"${portText}" is not a port (0-65535)`);
    port = Number(portText);
  }
  return {
    scheme: scheme as 'tcp',
    host,
    port,
    ...(zone === undefined ? {} : { zone }),
    ...(path === undefined ? {} : { path }),
  };
}

/** Prints an endpoint as a URL; `formatEndpoint(parseEndpoint(u))` is the canonical form of `u`. */
export function formatEndpoint(e: Endpoint): string {
  if (!('host' in e)) return schemeOf(e.scheme)!.format!(e);
  const host = isIP(e.host) === 6 ? `[${e.host}${e.zone === undefined ? '' : `%${e.zone}`}]` : e.host;
  return `${e.scheme}://${host}:${e.port}${e.path !== undefined && e.path !== '/' ? e.path : ''}`;
}

/** True for hosts that only reach this machine: `localhost`, 127.0.0.0/8 and `::1`. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::ffff:127.0.0.1';
}

/** The host as Node's `net` wants it: a zone is appended with `%` for link-local IPv6. */
export function socketHost(e: NetworkEndpoint): string {
  return e.zone === undefined ? e.host : `${e.host}%${e.zone}`;
}
