/**
 * The web side of a gateway: what its `ws`/`wss` listeners serve besides qi WebSocket connections. The
 * dashboard and the browser client bundle (./dashboard), plus any other {@link HttpHandler}s (e.g. the
 * classic qimessaging.js API), combined into one handler for `Gateway.start({ http })`.
 *
 * @packageDocumentation
 */
import type { HttpHandler } from '../transport/index.js';
import { dashboardHandler } from './dashboard/handler.js';

export { dashboardHandler, defaultWebRoot, type DashboardOptions } from './dashboard/handler.js';
export { classicQiSession, type ClassicOptions, type ClassicClient } from './classic/index.js';

/** Options of {@link webHandler}. */
export interface WebOptions {
  /** Serve the dashboard at `/` and the client bundle at `/qimessaging.mjs` (default true). */
  dashboard?: boolean;
  /** The qi WebSocket path of the listener, which pages connect to (default `/qi`). */
  qiPath?: string;
  /** Folder of the built web files (default dist/web). */
  root?: string;
  /** More handlers, asked in order after the dashboard (e.g. the classic qimessaging.js API). */
  extra?: HttpHandler[];
}

/** One handler asking each of `handlers` in order; the first to take a request or upgrade has it. */
export function combineHandlers(handlers: HttpHandler[]): HttpHandler {
  return {
    request: (req, res) => handlers.some((h) => h.request?.(req, res) ?? false),
    upgrade: (req, socket, head) => handlers.some((h) => h.upgrade?.(req, socket, head) ?? false),
  };
}

/** The web pages of a gateway: `Gateway.start({ sd, listen: 'ws://0.0.0.0:9580/qi', http: webHandler() })`. */
export function webHandler(options: WebOptions = {}): HttpHandler {
  const handlers: HttpHandler[] = [];
  if (options.dashboard ?? true) handlers.push(dashboardHandler({ root: options.root, qiPath: options.qiPath }));
  handlers.push(...(options.extra ?? []));
  return combineHandlers(handlers);
}
