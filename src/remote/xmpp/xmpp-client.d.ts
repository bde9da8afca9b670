/** The part of `@xmpp/client` (which ships no types) that qimessaging uses. */
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';

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

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }

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
    reconnect: EventEmitter & { delay: number; stop(): void };
  }

  export function client(options: {
    service: string;
    domain?: string;
    resource?: string;
    username?: string;
    password?: string;
    timeout?: number;
  }): Client;
  export function xml(name: string, attrs?: Record<string, string | number | undefined>, ...children: (Element | string)[]): Element;
  export function jid(text: string): JID;
}
