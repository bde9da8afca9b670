/**
 * The served `qimessaging.js`: socket.io's browser client (v4, kept private to the script so that it
 * cannot clash with an `io` of the page) followed by our classic `QiSession` (client/qimessaging.js),
 * told which API version and socket.io path to use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireOptional } from '../../errors/optional.js';
import type { ApiVersion } from './bridge.js';

const CLIENT = 'client/qimessaging.js';

/** The feature that needs socket.io and socket.io-client (optional dependencies), for their missing-package error. */
export const CLASSIC_FEATURE = 'The classic qimessaging.js API';

/** client/qimessaging.js next to this module (copied there by the build) or in the source tree. */
function clientSource(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, CLIENT), path.resolve(here, '../../../../src/web/classic', CLIENT)];
  for (const c of candidates) if (fs.existsSync(c)) return fs.readFileSync(c, 'utf8');
  throw new Error(`classic qimessaging.js: ${CLIENT} not found (looked in ${candidates.join(', ')})`);
}

function socketIoClient(): string {
  const pkg = requireOptional(CLASSIC_FEATURE, 'socket.io-client', (require) =>
    require.resolve('socket.io-client/package.json'),
  );
  return fs
    .readFileSync(path.join(path.dirname(pkg), 'dist', 'socket.io.min.js'), 'utf8')
    .replace(/\n\/\/# sourceMappingURL=.*$/m, '');
}

const cache = new Map<string, string>();

/** The script served at `<base>/<version>/qimessaging.js`. */
export function clientScript(version: ApiVersion, base: string): string {
  const key = `${version} ${base}`;
  let s = cache.get(key);
  if (s === undefined) {
    const config = JSON.stringify({ version, path: `${base}/${version}/socket.io` });
    s =
      `/* qimessaging.js: the classic QiSession API (${version}), served by the qimessaging gateway. See docs/web-classic.md. */\n` +
      `(function () {\nvar module = { exports: {} }, exports = module.exports, define = undefined;\n${socketIoClient()}\n` +
      `var QI_CLASSIC = ${config};\nQI_CLASSIC.io = module.exports;\n${clientSource()}\n})();\n`;
    cache.set(key, s);
  }
  return s;
}
