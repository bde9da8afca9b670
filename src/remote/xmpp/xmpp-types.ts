/**
 * The types of the part of `@xmpp/client` (which ships no types) that qimessaging uses. A plain module,
 * so that the package's declarations import these instead of `@xmpp/client`, and an app compiled with
 * `strict` (no skipLibCheck) needs no typings of `@xmpp/client`. xmpp-client.d.ts gives them to it.
 */
import type { EventEmitter } from 'node:events';

/** An XML element (ltx). */
export interface Element {
  name: string;
  attrs: Record<string, string | undefined>;
  children: (Element | string)[];
  is(name: string, xmlns?: string): boolean;
  getChild(name: string, xmlns?: string): Element | undefined;
  getChildren(name: string, xmlns?: string): Element[];
  getChildText(name: string, xmlns?: string): string | null;
  text(): string;
  toString(): string;
}

/** A Jabber id. */
export interface JID {
  local: string;
  domain: string;
  resource: string;
  bare(): JID;
  toString(): string;
}

/** An XMPP client connection. */
export interface Client extends EventEmitter {
  jid: JID | undefined;
  status: string;
  start(): Promise<JID>;
  stop(): Promise<void>;
  send(...elements: Element[]): Promise<void>;
  iqCaller: { request(iq: Element, timeoutMs?: number): Promise<Element> };
  iqCallee: {
    set(xmlns: string, name: string, handler: (ctx: { stanza: Element; from: JID }) => unknown): void;
    get(xmlns: string, name: string, handler: (ctx: { stanza: Element; from: JID }) => unknown): void;
  };
  reconnect: EventEmitter & { delay: number; stop(): void; reconnect(): Promise<void> };
  /** What `client()` was given; `service` is where the next (re)connection goes. */
  options: ClientOptions;
}

/** The options of `client()`. */
export interface ClientOptions {
  service: string;
  domain?: string;
  resource?: string;
  username?: string;
  password?: string;
  timeout?: number;
}
