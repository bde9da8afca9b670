/// <reference path="./xmpp-client.d.ts" />
/**
 * `@xmpp/client`, an optional dependency: loaded when the first XMPP link opens ({@link loadXmpp}), so
 * that programs that never use XMPP need not install it. Every XMPP element is built after a link is
 * open, with {@link xml}.
 */
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
  return (lib ??= await importOptional('XMPP', '@xmpp/client', () => import('@xmpp/client')));
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
