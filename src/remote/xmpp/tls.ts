/**
 * TLS of a link's connection to its XMPP server: STARTTLS on `xmpp://`, direct TLS on `xmpps://`. The
 * server's certificate is checked as for `tcps` (transport/tls.ts): Node's CAs plus `tls.ca`, or exactly a
 * pinned fingerprint, and against the account's domain, the name RFC 6120 (13.7.2.1) verifies, not the
 * host the link connects to. A certificate that fails ends the login at once, with a {@link QiTlsError} that
 * says how to trust the server, instead of after the login's timeout.
 *
 * `@xmpp/client` takes no TLS options: the `connect` of its TLS socket is wrapped once, and does this for
 * the connections of links only (found by their plain socket for STARTTLS, by a mark in their
 * parameters for `xmpps`); other users of the package keep its own behaviour.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import { QiError } from '../../errors/index.js';
import { QiTlsError, checkServer, type TlsClientOptions, type TrustAdvice } from '../../transport/index.js';
import type { Client } from './xmpp-types.js';

/** How a link checks its XMPP server's certificate (an {@link XmppAccount}'s `tls`). */
export interface XmppTlsOptions {
  /**
   * More CA certificates to trust (PEM), besides Node's. Default: the files named in `QI_XMPP_CA`
   * (comma-separated), else none (`NODE_EXTRA_CA_CERTS` also adds CAs, for the whole process).
   */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Trust exactly the certificate with this SHA-256 fingerprint (`AB:CD:…`; case and colons free), whatever
   * signed it; several may be given. Default: `QI_XMPP_FINGERPRINT` (comma-separated), else none.
   */
  fingerprint?: string | string[];
  /** The name the certificate must be valid for (default: the account's domain). */
  servername?: string;
  /**
   * Accept any certificate (default false). SASL SCRAM still keeps the password from the server's
   * impostor, but everything else (presence, qi calls) can then be read and changed on the path.
   */
  insecure?: boolean;
}

const XMPP_TRUST: TrustAdvice = {
  peer: 'XMPP server',
  intro: "XMPP servers often have a self-signed certificate (Debian's ejabberd has): if this is your server, ",
  pin: (fp) => `{ tls: { fingerprint: '${fp}' } } on the XMPP account (or QI_XMPP_FINGERPRINT)`,
  ca: '{ tls: { ca } } on the XMPP account (or QI_XMPP_CA, a PEM file)',
  hint: 'pin-xmpp',
};

/** A connection of a link: where it goes (for messages) and how to check the certificate. */
interface Wanted {
  url: string;
  options: TlsClientOptions;
}

const MARK = Symbol('qi-xmpp-tls');
const byPlainSocket = new WeakMap<object, Wanted>();

type Params = Record<PropertyKey, unknown> & { socket?: object; [MARK]?: Wanted };
interface TlsWrapper {
  connect(params: Params): void;
  _attachSocket(socket: tls.TLSSocket): void;
}

let hooked: Promise<string | undefined> | undefined;

/**
 * Wraps the `connect` of `@xmpp/tls`'s socket (once; {@link loadXmpp} does it). Resolves to why it could
 * not, when the package is laid out otherwise.
 */
export function hookXmppTls(): Promise<string | undefined> {
  hooked ??= (async () => {
    try {
      const at = (from: string, name: string) => createRequire(from).resolve(name);
      const client = at(import.meta.url, '@xmpp/client');
      const files = new Set([
        at(at(client, '@xmpp/starttls'), '@xmpp/tls/lib/Socket.js'),
        at(client, '@xmpp/tls/lib/Socket.js'),
      ]);
      for (const file of files) {
        const Socket = ((await import(pathToFileURL(file).href)) as { default: { prototype: TlsWrapper } }).default;
        wrapConnect(Socket.prototype);
      }
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  })();
  return hooked;
}

function wrapConnect(proto: TlsWrapper): void {
  const original = proto.connect;
  proto.connect = function (this: TlsWrapper, params: Params) {
    const wanted = params?.[MARK] ?? (params?.socket ? byPlainSocket.get(params.socket) : undefined);
    if (wanted === undefined) return original.call(this, params);
    const { options, url } = wanted;
    const rest: Params = { ...params };
    delete rest[MARK];
    const socket = tls.connect({
      ...(rest as tls.ConnectionOptions),
      servername: options.servername,
      ca: options.ca,
      minVersion: 'TLSv1.2',
      // Checked by checkServer below, so that its error can say how to trust the server.
      rejectUnauthorized: false,
    });
    this._attachSocket(socket);
    // @xmpp goes on (sends the stream header) on secureConnect: only once the certificate passed.
    const theirs = socket.listeners('secureConnect') as (() => void)[];
    socket.removeAllListeners('secureConnect');
    socket.once('secureConnect', () => {
      try {
        checkServer(socket, url, options, XMPP_TRUST);
      } catch (e) {
        socket.destroy(e as Error);
        return;
      }
      for (const f of theirs) f.call(socket);
    });
  };
}

/** The options with their defaults from the environment. */
function resolve(given: XmppTlsOptions, domain: string): TlsClientOptions {
  const env = (name: string) =>
    process.env[name]
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  const ca = given.ca ?? env('QI_XMPP_CA')?.map(readCa);
  const extra = ca === undefined ? [] : Array.isArray(ca) ? ca : [ca];
  return {
    ca: extra.length > 0 ? [...tls.rootCertificates, ...extra] : undefined,
    fingerprint: given.fingerprint ?? env('QI_XMPP_FINGERPRINT') ?? [],
    insecure: given.insecure ?? false,
    servername: given.servername ?? domain,
  };
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new QiError(
      'ERR_QI_CONFIG',
      `QI_XMPP_CA names ${file}, which cannot be read (${(e as Error).message}): give the XMPP server's CA certificate, a PEM file`,
    );
  }
}

/**
 * Makes the connections of `xmpp` (the first and each login again) check the server's certificate with
 * `given` and the environment's defaults. `service` and `domain` name the server in errors.
 * @throws QiError `ERR_QI_CONFIG` when a file of `QI_XMPP_CA` cannot be read, or TLS options were given and
 * `@xmpp/client` is laid out so that they cannot be applied.
 */
export async function secureConnections(
  xmpp: Client,
  given: XmppTlsOptions = {},
  service: string,
  domain: string,
): Promise<void> {
  const options = resolve(given, domain);
  const why = await hookXmppTls();
  if (why !== undefined) {
    const asked = options.ca || (options.fingerprint as string[]).length > 0 || options.insecure || given.servername;
    if (asked) throw new QiError('ERR_QI_CONFIG', `XMPP TLS options cannot be applied with this @xmpp/client (${why})`);
    return; // @xmpp's own verification (Node's CAs) stays
  }
  const wanted: Wanted = { url: `${service} (${domain})`, options };
  const entity = xmpp as unknown as {
    socket: object | null;
    socketParameters(service: string): Params | undefined;
  };
  const own = entity.socketParameters;
  entity.socketParameters = function (this: typeof entity, to: string) {
    const params = own.call(this, to);
    if (params !== undefined && /^xmpps:/i.test(to)) return { ...params, [MARK]: wanted };
    // STARTTLS later wraps the plain socket made for these parameters.
    if (this.socket) byPlainSocket.set(this.socket, wanted);
    return params;
  };
}

/**
 * The first TLS failure of `xmpp`'s connection (a certificate not trusted, a handshake that failed), as
 * a rejected promise, so that a login ends at once; `stop` stops listening.
 */
export function tlsFailure(xmpp: Client, service: string): { failed: Promise<never>; stop(): void } {
  let on: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    on = (e: unknown) => {
      if (e instanceof QiTlsError) return reject(e);
      const code = String((e as { code?: string })?.code ?? '');
      if (!code.startsWith('ERR_SSL') && !code.startsWith('ERR_TLS')) return;
      reject(
        new QiTlsError(
          `TLS with the XMPP server ${service} failed (${(e as { reason?: string }).reason ?? (e as Error).message}). xmpps:// is for a port that speaks TLS at once (often 5223), xmpp:// for STARTTLS (5222); the server must offer TLS 1.2 or later`,
          undefined,
          e,
        ),
      );
    };
  });
  failed.catch(() => {});
  xmpp.on('error', on);
  return { failed, stop: () => xmpp.off('error', on) };
}
