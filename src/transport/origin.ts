/**
 * Which web pages may use an HTTP endpoint of this library: the one rule for the qi WebSocket path of a
 * `ws`/`wss` listener and for the classic qimessaging.js endpoints (socket.io handshakes and CORS).
 *
 * A browser sends the page's origin in the `Origin` header of every WebSocket handshake and cross-site
 * request; other programs (this library in Node, libqi, curl) send none. Allowed:
 * - requests without an `Origin` header (not a browser page);
 * - pages of the endpoint's own origin: `Origin` is `http://<Host>` on a plain listener, `https://<Host>`
 *   on a TLS one (`<Host>` being the Host header the request was made to), default ports omitted;
 * - origins in the list (`https://app.example.com`), or every origin when the list holds `'*'`.
 * Anything else, including the `null` origin of sandboxed frames and local files, is refused.
 */
import type http from 'node:http';
import type tls from 'node:tls';

/** Decides whether the page that made a request may use the endpoint. */
export type OriginRule = (req: http.IncomingMessage) => boolean;

/** `scheme://host[:port]` of an http(s) origin, normalized (lower case, no default port), or undefined. */
function normalize(origin: string): string | undefined {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return undefined;
  }
  const bare = u.username === '' && u.password === '' && u.pathname === '/' && u.search === '' && u.hash === '';
  return (u.protocol === 'http:' || u.protocol === 'https:') && bare ? u.origin : undefined;
}

/**
 * The rule for an endpoint whose extra allowed origins are `allowed` (option `option` of the caller, named
 * in the error).
 * @throws Error when an entry is neither `'*'` nor an origin (`scheme://host[:port]`).
 */
export function originRule(allowed: readonly string[] = [], option = 'allowedOrigins'): OriginRule {
  const any = allowed.includes('*');
  const listed = new Set<string>();
  for (const entry of allowed) {
    if (entry === '*') continue;
    const n = normalize(entry);
    if (n === undefined) {
      throw new Error(
        `${option}: "${entry}" is not a web origin; write scheme://host[:port] as browsers send it (e.g. https://app.example.com or http://192.168.1.10:8080), or '*' for every origin`,
      );
    }
    listed.add(n);
  }
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined || any) return true;
    const n = normalize(origin);
    if (n === undefined) return false;
    if (listed.has(n)) return true;
    const host = req.headers.host;
    if (host === undefined || host === '') return false;
    const secure = (req.socket as tls.TLSSocket).encrypted === true;
    return n === normalize(`${secure ? 'https' : 'http'}://${host}`);
  };
}

/** The sentence of a refusal: who was refused and which option opens the endpoint to them. */
export function originRefusal(req: http.IncomingMessage, what: string, option = 'allowedOrigins'): string {
  return `Web pages from ${String(req.headers.origin)} may not use ${what} (only pages of its own origin may); its operator can allow that origin with the ${option} option, or every origin with '*'.`;
}
