/**
 * A fresh app that depends on qimessaging, as a user has it after `npm install`, built offline: the
 * package packed with `npm pack` and unpacked into the app's node_modules/qimessaging, and beside it
 * the packages npm would install with it (the non-dev entries of package-lock.json, the repository's
 * own copies, symlinked, hoisted as npm hoists them) and the optional peer dependencies. `tsc` compiles
 * the app with the repository's TypeScript.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository (the folder with package.json above dist/test/helpers). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

export interface App {
  dir: string;
  /** Writes `files` (path relative to the app: content) into the app. */
  write(files: Record<string, string>): void;
  /** Runs tsc with this tsconfig (written as tsconfig.json); the errors it printed, one per line. */
  tsc(tsconfig: object, timeoutMs?: number): Promise<string[]>;
  remove(): void;
}

/**
 * The top-level packages (`node_modules/<name>`) a user's `npm install qimessaging` brings, and its optional
 * peer dependencies, which an app that uses every feature (XMPP, ICE, the classic web API) installs too.
 */
function productionPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    peerDependencies?: Record<string, string>;
  };
  const production = Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && !p.dev && path.split('node_modules/').length === 2)
    .map(([path]) => path.slice('node_modules/'.length));
  return [...new Set([...production, ...Object.keys(pkg.peerDependencies ?? {})])];
}

function link(app: string, name: string, target: string): void {
  const at = join(app, 'node_modules', name);
  mkdirSync(dirname(at), { recursive: true });
  symlinkSync(realpathSync(target), at);
}

function makeApp(dir: string): App {
  return {
    dir,
    write(files) {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
    },
    async tsc(tsconfig, timeoutMs = 60_000) {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
      try {
        await run(process.execPath, [TSC, '-p', dir, '--pretty', 'false'], {
          cwd: dir,
          timeout: timeoutMs,
          maxBuffer: 64 << 20,
        });
        return [];
      } catch (e) {
        const out = (e as { stdout?: string }).stdout ?? '';
        if (!/error TS/.test(out)) throw e;
        return out.split('\n').filter((l) => /error TS\d+/.test(l));
      }
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An app with the packed package (npm pack of the built repository) and its production dependencies. */
export async function packedApp(): Promise<App> {
  const dir = mkdtempSync(join(tmpdir(), 'qi-app-'));
  const packDir = join(dir, '.pack');
  mkdirSync(packDir);
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], {
    cwd: REPO,
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  const pkg = join(dir, 'node_modules', 'qimessaging');
  mkdirSync(pkg, { recursive: true });
  await run('tar', ['xzf', join(packDir, filename), '-C', pkg, '--strip-components=1'], { timeout: 30_000 });
  for (const name of productionPackages()) link(dir, name, join(REPO, 'node_modules', name));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'app',
      private: true,
      type: 'module',
      dependencies: { qimessaging: `file:.pack/${filename}` },
    }),
  );
  return makeApp(dir);
}

/**
 * An app whose node_modules/qimessaging is the repository itself (its build in dist, its node_modules):
 * quick, for compiling code that uses the package. Also @types/node, which an app for Node has.
 */
export function linkedApp(): App {
  const dir = mkdtempSync(join(tmpdir(), 'qi-app-'));
  link(dir, 'qimessaging', REPO);
  if (!existsSync(join(dir, 'node_modules', '@types', 'node')))
    link(dir, '@types/node', join(REPO, 'node_modules', '@types', 'node'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return makeApp(dir);
}
