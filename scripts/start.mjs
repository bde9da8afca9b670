/**
 * `npm start`: builds only when a source is newer than the build (a full build takes ~15-30 s), then
 * runs the demo robot (examples/robot.ts) in this very process, so that Ctrl-C is the robot's own
 * clean stop (exit code 0). `npm run build` forces a build.
 *
 * package.json runs it as `exec node scripts/start.mjs || node scripts/start.mjs`: npm runs scripts
 * through `sh -c`, and a Ctrl-C kills that shell (and so makes npm exit 130) before the robot has
 * stopped; `exec` puts node in the shell's place. Windows' cmd has no `exec`: it says so and runs
 * the second command.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** What the robot's build is made of, and files every build rewrites (their oldest is the build's time). */
const inputs = ['src', 'examples', 'tsconfig.json', 'scripts/build-web.mjs'];
const outputs = ['dist/src/index.js', 'dist/examples/robot.js', 'dist/web/dashboard.js', 'dist/web/qimessaging.mjs'];

/** The latest modification time under `path` (a file or a folder), 0 if it does not exist. */
function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const built = Math.min(...outputs.map((p) => newest(join(root, p)) || -1));
const changed = Math.max(...inputs.map((p) => newest(join(root, p))));
if (built < 0 || changed > built) {
  console.log(built < 0 ? 'building (no build yet)...' : 'building (sources changed since the last build)...');
  // npm sets npm_execpath when it runs this script; otherwise the npm of the PATH.
  const npm = process.env.npm_execpath;
  const run = npm
    ? spawnSync(process.execPath, [npm, 'run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
    : spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
} else {
  console.log('build up to date: not rebuilding (npm run build forces it)');
}
await import(pathToFileURL(join(root, 'dist/examples/robot.js')).href);
