/**
 * Another revision's build, for `gateway.bench.ts --against[=<git-ref>]` (default 313372f, the code before
 * issue 16's quotas and checks) and `rpc.bench.ts --against=<git-ref>` (its `rpc-server.js`): checks the revision out in a temporary git worktree under the system's temp
 * directory (`git worktree add --detach`), links this checkout's node_modules into it, compiles its `src` and
 * `bench` with its own tsconfig (tsc only: no web bundle, no declarations), and gives the path of its
 * `dist/bench/gateway-server.js`, which the benchmark spawns as a second gateway next to this build's one.
 * The worktree is removed when the benchmark ends, unless `--keep-ref` (a kept build is reused by later runs
 * and left in place by them).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The ref compared against when `--against` has no value. */
export const DEFAULT_REF = '313372f';

/** `--against=<ref>`, `--against <ref>` or a bare `--against` (then `dflt`); undefined without the flag. */
export function againstRef(dflt = DEFAULT_REF): string | undefined {
  const i = process.argv.findIndex((x) => x === '--against' || x.startsWith('--against='));
  if (i < 0) return undefined;
  if (process.argv[i].includes('=')) return process.argv[i].slice('--against='.length) || dflt;
  const next = process.argv[i + 1];
  return next !== undefined && !next.startsWith('--') ? next : dflt;
}

/** A revision checked out and built for comparison. */
export interface RefBuild {
  /** What the user asked for (`main`, `313372f`, …) and the commit it resolved to. */
  label: string;
  commit: string;
  /** The revision's compiled `bench/gateway-server.js`. */
  gatewayServer: string;
  /** The revision's compiled `bench/` directory (its `rpc-server.js` is there too). */
  benchDir: string;
  /** Removes the worktree (nothing when kept). */
  remove(): void;
}

const git = (root: string, args: string[]) =>
  execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();

/** Checks out and builds `ref` of the repository at `root` (the checkout running the benchmark). */
export function buildRef(root: string, ref: string, keep: boolean): RefBuild {
  const commit = git(root, ['rev-parse', '--verify', `${ref}^{commit}`]);
  const dir = join(tmpdir(), `qi-bench-ref-${commit.slice(0, 12)}`);
  const benchDir = join(dir, 'dist', 'bench');
  const gatewayServer = join(benchDir, 'gateway-server.js');
  let created = false;
  const remove = () => {
    if (keep || !created) return;
    try {
      git(root, ['worktree', 'remove', '--force', dir]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      git(root, ['worktree', 'prune']);
    }
  };
  if (existsSync(gatewayServer)) {
    console.log(`ref ${ref} (${commit.slice(0, 12)}): reusing the build in ${dir}`);
    return { label: ref, commit, gatewayServer, benchDir, remove };
  }
  if (existsSync(dir)) {
    rmSync(dir, { recursive: true, force: true });
    git(root, ['worktree', 'prune']);
  }
  const t0 = Date.now();
  git(root, ['worktree', 'add', '--detach', '--quiet', dir, commit]);
  created = true;
  try {
    symlinkSync(realpathSync(join(root, 'node_modules')), join(dir, 'node_modules'));
    writeFileSync(
      join(dir, 'tsconfig.bench-ref.json'),
      JSON.stringify({
        extends: './tsconfig.json',
        compilerOptions: { declaration: false, sourceMap: false },
        include: ['src', 'bench'],
      }),
    );
    execFileSync(
      process.execPath,
      [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.bench-ref.json'],
      { cwd: dir, stdio: 'inherit' },
    );
    if (!existsSync(gatewayServer))
      throw new Error(`${ref} has no bench/gateway-server.ts: nothing to compare against`);
  } catch (e) {
    remove();
    throw e;
  }
  console.log(`ref ${ref} (${commit.slice(0, 12)}): built in ${dir} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { label: ref, commit, gatewayServer, benchDir, remove };
}
