/// <reference path="./xmpp-client.d.ts" />
/**
 * `@xmpp/client`, an optional dependency: loaded when the first XMPP link opens ({@link loadXmpp}), so
 * that programs that never use XMPP need not install it. Every XMPP element is built after a link is
 * open, with {@link xml}.
 */
import { pbkdf2 } from 'node:crypto';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { importOptional } from '../../errors/optional.js';
import type { Client, ClientOptions, Element } from './xmpp-types.js';

interface XmppLib {
  client(options: ClientOptions): Client;
  xml(name: string, attrs?: Record<string, string | number | undefined>, ...children: (Element | string)[]): Element;
}

let lib: XmppLib | undefined;

/**
 * Loads `@xmpp/client` (once).
 * @throws QiError `ERR_QI_CONFIG` naming the package when it is not installed.
 */
export async function loadXmpp(): Promise<XmppLib> {
  if (lib === undefined) {
    lib = await importOptional('XMPP', '@xmpp/client', () => import('@xmpp/client'));
    fastScram();
  }
  return lib;
}

const derive = promisify(pbkdf2);

/**
 * SCRAM-SHA-1's salted password (`Hi`, which is PBKDF2-HMAC-SHA1) computed by Node's crypto in one call:
 * the `sasl-scram-sha-1` package does its 4096 HMACs one WebCrypto call at a time, ~1.2 s of every
 * login (and every login again after a lost connection) on this machine, ~3 ms this way. Same bytes;
 * left as it is when the package is laid out otherwise.
 */
function fastScram(): void {
  try {
    const at = (from: string, name: string) => createRequire(from).resolve(name);
    const scram = at(
      at(at(import.meta.url, '@xmpp/client'), '@xmpp/sasl-scram-sha-1'),
      'sasl-scram-sha-1/lib/bitops.js',
    );
    const bitops = createRequire(scram)(scram) as { Hi?: unknown };
    if (typeof bitops.Hi !== 'function') return;
    bitops.Hi = async (text: string, salt: Uint8Array, iterations: number) =>
      new Uint8Array(await derive(new TextEncoder().encode(text), salt, iterations, 20, 'sha1'));
  } catch {
    // another layout: the package's own Hi stays
  }
}

/** An XML element (`@xmpp/client`'s `xml`); only called once a link is open, which loaded the package. */
export function xml(
  name: string,
  attrs?: Record<string, string | number | undefined>,
  ...children: (Element | string)[]
): Element {
  if (lib === undefined) throw new Error('@xmpp/client is not loaded yet: open an XmppLink first');
  return lib.xml(name, attrs, ...children);
}

/** A connection's socket as @xmpp/client holds it: a net.Socket, or @xmpp/tls's wrapper of a TLSSocket. */
export interface XmppSocket {
  on(event: 'error', f: () => void): unknown;
  destroy?(error?: Error): void;
  /** The wrapper's TLSSocket (null once it closed). */
  socket?: { destroy(error?: Error): void } | null;
}

/**
 * Destroys a connection's socket, whichever it is: @xmpp/tls's wrapper (STARTTLS, xmpps) has no
 * `destroy` of its own (calling it ended processes whose XMPP server speaks TLS), its TLSSocket has.
 */
export function destroySocket(socket: XmppSocket | null | undefined, error?: Error): void {
  if (socket === null || socket === undefined) return;
  if (typeof socket.destroy === 'function') socket.destroy(error);
  else socket.socket?.destroy(error);
}
