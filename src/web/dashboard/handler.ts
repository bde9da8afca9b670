/**
 * Serves the dashboard's static files (index.html, dashboard.js, dashboard.css) and the browser client
 * bundle (qimessaging.mjs) from the folder scripts/build-web.mjs writes (dist/web), as an
 * {@link HttpHandler} of a gateway's ws/wss listener: the page then connects to the qi WebSocket path
 * of the same origin, under the gateway's access rules.
 */
import { readFile } from 'node:fs/promises';
import type http from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpHandler } from '../../transport/index.js';

/** Options of {@link dashboardHandler}. */
export interface DashboardOptions {
  /** Folder of the built files (default: dist/web, found from this module). */
  root?: string;
  /** The qi WebSocket path of the gateway's listener, which the page connects to (default `/qi`). */
  qiPath?: string;
}

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

const FILES = new Map<string, string>([
  ['/', 'index.html'],
  ['/index.html', 'index.html'],
  ...['dashboard.js', 'dashboard.css', 'qimessaging.mjs', 'dashboard.js.map', 'qimessaging.mjs.map'].map(
    (f): [string, string] => [`/${f}`, f],
  ),
]);

/** The built files' folder: dist/web beside dist/src (this module is dist/src/web/dashboard/handler.js). */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../../web/', import.meta.url));
}

/** Serves the dashboard at `/` and the client bundle at `/qimessaging.mjs`; leaves every other path. */
export function dashboardHandler(options: DashboardOptions = {}): HttpHandler {
  const root = options.root ?? defaultWebRoot();
  const qiPath = options.qiPath ?? '/qi';
  return {
    request(req, res) {
      const path = (req.url ?? '/').split('?')[0];
      const file = FILES.get(path);
      if (file === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      void send(req, res, join(root, file), file, qiPath);
      return true;
    },
  };
}

async function send(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  file: string,
  qiPath: string,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(path);
  } catch {
    res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`The dashboard is not built (${path} is missing): run \`npm run build\`.\n`);
    return;
  }
  if (file === 'index.html') body = Buffer.from(body.toString('utf8').replaceAll('%QI_PATH%', escapeHtml(qiPath)));
  res.writeHead(200, {
    'content-type': TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream',
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    // 'unsafe-eval': the codec generates struct readers (it falls back to slower ones without it).
    ...(file === 'index.html'
      ? {
          'content-security-policy':
            "default-src 'self'; script-src 'self' 'unsafe-eval'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; frame-ancestors 'self'",
        }
      : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
