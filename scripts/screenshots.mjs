/**
 * `npm run screenshots`: regenerates the pictures of the docs (docs/img/*.png) on purpose, by running the
 * browser tests that take them with QI_SCREENSHOTS_DIR=docs/img (a plain test run saves them in a
 * temporary folder instead). Needs a build (npm run build) and chromium.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tests = ['dist/test/web/dashboard.test.js', 'dist/test/web/classic-browser.test.js'];
const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...tests], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, QI_SCREENSHOTS_DIR: fileURLToPath(new URL('../docs/img/', import.meta.url)) },
});
if (run.status === 0)
  console.log('docs/img updated: review the pictures (git diff --stat docs/img) before committing them');
process.exit(run.status ?? 1);
