/// <reference lib="dom" />
/**
 * qi over the browser's own WebSocket: a WebSocket (binary messages as ArrayBuffers) wrapped as the
 * byte stream MessageStream reads and writes, as src/transport/websocket.ts does in Node with `ws`. A
 * WebSocket message holds one or more qi messages or pieces of one; text messages are refused.
 */
import type { Duplex } from 'node:stream';
import { MessageStream } from '../../transport/message-stream.js';
import type { Dialer } from '../../transport/dialers.js';
import { QiConnectError } from '../../transport/errors.js';
import { formatEndpoint, type Endpoint } from '../../transport/url.js';
import { unavailable } from './shims/unavailable.js';

type Listener = (...args: unknown[]) => void;

/** The part of a Node Duplex that MessageStream uses, over a browser WebSocket. */
export class WebSocketByteStream {
  private readonly listeners = new Map<string, Listener[]>();
  private paused = true;
  private pending: Uint8Array[] = [];
  private done = false;
  writableEnded = false;
  /** Like a socket's: above this many bytes unsent, MessageStream reports backpressure. */
  readonly writableHighWaterMark = 1024 * 1024;

  constructor(
    private readonly ws: WebSocket,
    private readonly remote: string,
  ) {
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (e: MessageEvent) => {
      if (typeof e.data === 'string')
        return this.destroy(
          new Error(`${remote} sent a WebSocket text message; qi messages travel in binary messages only`),
        );
      const chunk = Buffer.from(e.data as ArrayBuffer);
      if (this.paused) this.pending.push(chunk);
      else this.emit('data', chunk);
    };
    ws.onerror = () => {}; // a close event follows, with its code
    ws.onclose = (e: CloseEvent) => {
      if (e.wasClean || e.code === 1000 || e.code === 1001) this.emit('end');
      else
        this.emit(
          'error',
          new Error(`the WebSocket to ${remote} closed abnormally (code ${e.code}${e.reason ? `: ${e.reason}` : ''})`),
        );
      this.finish();
    };
  }

  /** Bytes handed to the WebSocket and not yet sent. */
  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  once(event: string, listener: Listener): this {
    const once: Listener = (...args) => {
      this.removeListener(event, once);
      listener(...args);
    };
    return this.on(event, once);
  }

  removeListener(event: string, listener: Listener): this {
    this.listeners.set(
      event,
      (this.listeners.get(event) ?? []).filter((l) => l !== listener),
    );
    return this;
  }

  private emit(event: string, ...args: unknown[]): void {
    for (const l of this.listeners.get(event) ?? []) l(...args);
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    this.paused = false;
    queueMicrotask(() => {
      while (!this.paused && this.pending.length > 0) this.emit('data', this.pending.shift());
    });
    return this;
  }

  write(chunk: Uint8Array): boolean {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(chunk);
    return this.ws.bufferedAmount < this.writableHighWaterMark;
  }

  cork(): void {}
  uncork(): void {}

  end(): this {
    this.writableEnded = true;
    this.ws.close(1000);
    return this;
  }

  destroy(error?: Error): this {
    if (this.done) return this;
    if (error) this.emit('error', error);
    this.writableEnded = true;
    this.ws.close(1000);
    this.finish();
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.emit('close');
  }
}

/** The `ws`/`wss` dialer of the browser build (registered by its entry). */
export const dialWebSocket: Dialer = (ep: Endpoint, options) =>
  new Promise<MessageStream>((resolve, reject) => {
    const text = formatEndpoint(ep);
    if (ep.scheme !== 'ws' && ep.scheme !== 'wss')
      return reject(
        new QiConnectError(text, 'connect to', new Error('a browser reaches ws:// and wss:// endpoints only')),
      );
    if (options.proxy !== undefined) unavailable('an HTTP proxy');
    const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${ep.scheme}://${host}:${ep.port}${ep.path ?? '/'}`);
    } catch (e) {
      return reject(new QiConnectError(text, 'connect to', e));
    }
    ws.binaryType = 'arraybuffer';
    const fail = (cause: Error & { code?: string }) => {
      cleanup();
      ws.onclose = null;
      ws.close();
      reject(new QiConnectError(text, 'connect to', cause));
    };
    const timer = setTimeout(
      () => fail(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
      options.timeoutMs,
    );
    const onAbort = () => fail(options.signal?.reason ?? new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    function cleanup() {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
    ws.onerror = () => {};
    ws.onclose = (e) =>
      fail(
        new Error(
          `the WebSocket could not be opened (code ${e.code}): is a gateway listening there, with its qi endpoint at ${ep.path ?? '/'}?`,
        ),
      );
    ws.onopen = () => {
      cleanup();
      const local = formatEndpoint({ scheme: ep.scheme, host: 'browser', port: 0 });
      const bytes = new WebSocketByteStream(ws, text);
      resolve(new MessageStream(bytes as unknown as Duplex, text, local, { maxPayload: options.maxPayload }));
    };
  });
