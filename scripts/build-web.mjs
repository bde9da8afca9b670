/**
 * Builds the browser side into <out>/web (default out: dist): the qimessaging client bundle
 * (qimessaging.mjs, from src/web/browser, the same core modules as Node with Node built-ins replaced by
 * the shims of src/web/browser/shims) and the dashboard (dashboard.js, index.html, dashboard.css).
 * Usage: node scripts/build-web.mjs [out]
 */
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(resolve(process.argv[2] ?? join(root, 'dist')), 'web');
const src = join(root, 'src/web');
const shims = join(src, 'browser/shims');

const SHIMS = {
  crypto: 'crypto',
  os: 'os',
  fs: 'fs',
  path: 'path',
  net: 'net',
  tls: 'tls',
  http: 'http',
  https: 'http',
  worker_threads: 'worker_threads',
  child_process: 'child_process',
  buffer: 'buffer',
  ws: 'ws',
};

/**
 * Node built-ins and the `ws` package to shims (the browser entry registers its own `ws`/`wss` dialer);
 * anything else Node-only fails the build.
 */
const browserShims = {
  name: 'qi-browser-shims',
  setup(b) {
    b.onResolve(
      { filter: /^node:|^(crypto|os|fs|path|net|tls|http|https|worker_threads|child_process|stream|ws)$/ },
      (args) => {
        const name = args.path.replace(/^node:/, '');
        if (name === 'buffer' && !args.path.startsWith('node:')) return undefined; // the npm package
        const shim = SHIMS[name];
        if (shim === undefined)
          return {
            errors: [
              { text: `${args.path} (imported by ${args.importer}) has no browser shim in src/web/browser/shims` },
            ],
          };
        return { path: join(shims, `${shim}.ts`) };
      },
    );
  },
};

/** The dashboard imports the client from the bundle beside it, at run time. */
const clientExternal = {
  name: 'qi-client-external',
  setup(b) {
    b.onResolve({ filter: /browser\/index\.js$/ }, () => ({ path: './qimessaging.mjs', external: true }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  keepNames: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
};

await mkdir(out, { recursive: true });
await build({
  ...common,
  entryPoints: [join(src, 'browser/index.ts')],
  outfile: join(out, 'qimessaging.mjs'),
  plugins: [browserShims],
  inject: [join(shims, 'globals.ts')],
});
const dashboard = existsSync(join(src, 'dashboard/app.ts'));
if (dashboard) {
  await build({
    ...common,
    entryPoints: [join(src, 'dashboard/app.ts')],
    outfile: join(out, 'dashboard.js'),
    plugins: [clientExternal],
  });
  for (const f of ['index.html', 'dashboard.css']) await copyFile(join(src, 'dashboard', f), join(out, f));
}

for (const f of ['qimessaging.mjs', ...(dashboard ? ['dashboard.js', 'dashboard.css'] : [])]) {
  const bytes = await readFile(join(out, f));
  console.log(
    `${join(out, f)}: ${(bytes.length / 1024).toFixed(1)} KiB, ${(gzipSync(bytes, { level: 9 }).length / 1024).toFixed(1)} KiB gzipped`,
  );
}
