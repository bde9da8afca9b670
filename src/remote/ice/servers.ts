/**
 * STUN and TURN servers given by URL, as one string each so that they fit in a command line or an
 * environment variable:
 *
 * - `stun:host[:port]` (port 3478 by default)
 * - `turn:user:password@host[:port][?transport=udp|tcp]` (port 3478; UDP by default)
 * - `turns:user:password@host[:port]` (TURN over TLS, port 5349)
 *
 * The credentials are percent-encoded where they contain `:`, `@`, `/` or `%` (`p%40ss` for `p@ss`);
 * an IPv6 host is written in brackets (`stun:[2001:db8::1]:3478`). This is RFC 7064/7065 with the
 * credentials moved into the URL, which those RFCs leave to the configuration: the ICE library
 * receives them separately, and they are never printed ({@link describeIceServer} leaves them out).
 */
import { isIP } from 'node:net';
import { QiError } from '../../errors/index.js';

/** One parsed server. */
export interface IceServer {
  kind: 'stun' | 'turn' | 'turns';
  host: string;
  port: number;
  /** TURN only: how the client reaches the TURN server. */
  transport?: 'udp' | 'tcp';
  username?: string;
  credential?: string;
}

/** The form werift (and the W3C `RTCIceServer`) takes. */
export interface RtcIceServer {
  urls: string;
  username?: string;
  credential?: string;
}

/** A STUN/TURN URL that cannot be used as given. */
export class QiIceServerError extends QiError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(
      'ERR_QI_CONFIG',
      `Invalid STUN/TURN server ${JSON.stringify(redact(url))}: ${reason}. Examples: stun:203.0.113.1:3478, turn:user:password@203.0.113.1:3478?transport=udp, turns:user:password@turn.example.org:5349`,
    );
  }
}

/** The URL with its password replaced by `***`, for messages. */
function redact(url: string): string {
  return url.replace(/^(turns?:[^:@]*):[^@]*@/i, '$1:***@');
}

/**
 * Parses one server URL (see the module comment).
 * @throws {@link QiIceServerError} saying what is wrong
 */
export function parseIceServer(url: string): IceServer {
  const m = /^(stun|turns?):(.*)$/i.exec(url.trim());
  if (m === null) throw new QiIceServerError(url, 'it must start with stun:, turn: or turns:');
  const kind = m[1].toLowerCase() as IceServer['kind'];
  let rest = m[2];
  if (rest.startsWith('//')) rest = rest.slice(2); // tolerated: stun://host
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let username: string | undefined;
  let credential: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    if (kind === 'stun') throw new QiIceServerError(url, 'a STUN server takes no credentials');
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    if (colon < 0) throw new QiIceServerError(url, 'the credentials are user:password@ (the password is missing)');
    try {
      username = decodeURIComponent(userinfo.slice(0, colon));
      credential = decodeURIComponent(userinfo.slice(colon + 1));
    } catch {
      throw new QiIceServerError(url, 'the credentials are not valid percent-encoding');
    }
    if (username.length === 0) throw new QiIceServerError(url, 'the user name is empty');
  } else if (kind !== 'stun') {
    throw new QiIceServerError(url, 'a TURN server needs credentials: turn:user:password@host:port');
  }
  rest = rest.replace(/\/+$/, '');
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw new QiIceServerError(url, "an IPv6 address must be closed with ']'");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after.length > 0 && !after.startsWith(':'))
      throw new QiIceServerError(url, `unexpected "${after}" after the IPv6 address`);
    portText = after.length > 0 ? after.slice(1) : undefined;
    if (isIP(host) !== 6) throw new QiIceServerError(url, `"${host}" is not an IPv6 address`);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon >= 0 && rest.indexOf(':') !== colon)
      throw new QiIceServerError(url, 'an IPv6 address must be written in brackets');
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
    if (host.length === 0) throw new QiIceServerError(url, 'the host is missing');
    if (/[\s/?#@[\]]/.test(host)) throw new QiIceServerError(url, `"${host}" is not a host name`);
  }
  let port = kind === 'turns' ? 5349 : 3478;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) === 0 || Number(portText) > 65535)
      throw new QiIceServerError(url, `"${portText}" is not a port (1-65535)`);
    port = Number(portText);
  }
  let transport: 'udp' | 'tcp' | undefined;
  for (const [k, v] of new URLSearchParams(query)) {
    if (k !== 'transport') throw new QiIceServerError(url, `unknown parameter "${k}" (known: transport)`);
    if (kind === 'stun') throw new QiIceServerError(url, 'a STUN server has no transport parameter (it is always UDP)');
    if (v !== 'udp' && v !== 'tcp') throw new QiIceServerError(url, `transport must be udp or tcp, not "${v}"`);
    if (kind === 'turns' && v === 'udp')
      throw new QiIceServerError(url, 'turns: is TURN over TLS, which runs over TCP');
    transport = v;
  }
  if (kind === 'turn') transport ??= 'udp';
  if (kind === 'turns') transport = 'tcp';
  return {
    kind,
    host,
    port,
    ...(transport ? { transport } : {}),
    ...(username !== undefined ? { username, credential } : {}),
  };
}

/** The server as a URL without its credentials, for messages and logs. */
export function describeIceServer(s: IceServer): string {
  const host = isIP(s.host) === 6 ? `[${s.host}]` : s.host;
  const t = s.kind === 'turn' && s.transport === 'tcp' ? '?transport=tcp' : '';
  return `${s.kind}:${host}:${s.port}${t}`;
}

/** The server in the `RTCIceServer` form (credentials apart from the URL). */
export function toRtcIceServer(s: IceServer): RtcIceServer {
  const urls =
    s.kind === 'stun' ? describeIceServer(s) : `${describeIceServer(s).replace(/\?.*$/, '')}?transport=${s.transport}`;
  return s.username === undefined ? { urls } : { urls, username: s.username, credential: s.credential };
}

/**
 * Parses a list of server URLs. The ICE library uses the first STUN and the first TURN server of the
 * list; later ones are kept for messages only.
 */
export function parseIceServers(urls: readonly string[] = []): IceServer[] {
  return urls.map(parseIceServer);
}
