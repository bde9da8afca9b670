/** The part of `@xmpp/client` (which ships no types) that qimessaging uses; the types are in xmpp-types.ts. */
declare module '@xmpp/client' {
  export type Element = import('./xmpp-types.js').Element;
  export type JID = import('./xmpp-types.js').JID;
  export type Client = import('./xmpp-types.js').Client;

  export function client(options: import('./xmpp-types.js').ClientOptions): Client;
  export function xml(
    name: string,
    attrs?: Record<string, string | number | undefined>,
    ...children: (Element | string)[]
  ): Element;
  export function jid(text: string): JID;
}
