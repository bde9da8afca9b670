/**
 * Every code block of README.md and docs/*.md runs and exits, or says in the markdown why not
 * (`<!-- not run: why -->` just before it); blocks marked `<!-- in a browser: … -->` run in Chromium
 * (browser-snippets.test.ts). ts/js blocks are compiled together in one tsc run with the
 * package's types (an app whose node_modules/qimessaging is this repository), then each runs with node
 * against the demo robot (examples/robot.js) and must exit 0 within seconds. sh blocks run their `qi`
 * commands against the demo robot. json blocks parse; gateway access configurations pass checkAccessConfig.
 *
 * Substitutions, so that the blocks run here as written (they name the robot's usual addresses):
 * - `tcp://127.0.0.1:9559` and `tcp://10.0.0.2:9559` (the robot's ServiceDirectory) become the demo
 *   robot's URL; in a block that listens there itself (listenStandalone), a free port instead;
 * - other fixed listening ports, `0.0.0.0:<port>` or `127.0.0.1:<port>`, become `127.0.0.1:0` (any free
 *   port), so that blocks run in parallel, beside other programs;
 * - in sh blocks, `npx qi` and `qi` are `node dist/src/cli/main.js` with QI_URL set to the demo robot;
 *   only qi commands run: any other shell block must be marked not run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { checkAccessConfig } from '../../src/index.js';
import { linkedApp, REPO, type App } from '../helpers/app.js';
import { allBlocks, where, type Block } from './blocks.js';
import { startDemoRobot } from '../helpers/demo-robot.js';

const run = promisify(execFile);
const CODE = new Set(['ts', 'typescript', 'js', 'javascript']);
const RUNS_MS = 10_000;

const blocks = allBlocks(REPO);
const code = blocks.filter((b) => CODE.has(b.lang) && !b.notRun && !b.browser);
const shell = blocks.filter((b) => ['sh', 'bash', 'shell'].includes(b.lang) && !b.notRun);
const json = blocks.filter((b) => b.lang === 'json' && !b.notRun);
const transcripts = blocks.filter((b) => b.lang === 'console' && !b.notRun);

/** A `qi` command line (`qi …` or `npx qi …`, no shell syntax), without its trailing comment; or undefined. */
function qiCommand(line: string): string[] | undefined {
  const text = line.replace(/\s+#.*$/, '').trim();
  if (!/^(npx )?qi\s[^;&|`$()<>]*$/.test(text)) return undefined;
  return [...text.replace(/^(npx )?qi\s+/, '').matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** Runs `qi args` against the demo robot (in a temporary folder); exit code and everything it printed. */
async function qi(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(REPO, 'dist/src/cli/main.js'), ...args], { cwd: app.dir, timeout: RUNS_MS, env: { ...process.env, QI_URL: demoUrl } });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : -1, out: (err.stdout ?? '') + (err.stderr ?? '') };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** The block as run here (see the module comment). */
function substitute(text: string, demo: string, own: string): string {
  const sd = /listenStandalone\(/.test(text) ? own : demo;
  return text
    .replace(/tcp:\/\/(127\.0\.0\.1|10\.0\.0\.2):9559/g, sd)
    .replace(/:\/\/0\.0\.0\.0:\d+/g, '://127.0.0.1:0')
    .replace(/:\/\/127\.0\.0\.1:(\d+)/g, (m, port: string) => ([demo, own].some((u) => u.endsWith(`:${port}`)) ? m : '://127.0.0.1:0'));
}

/** The demo robot, as `npm start` runs it, on free ports. */
const robot = startDemoRobot();
let demoUrl = '';
let app: App;
before(async () => {
  demoUrl = await robot.url;
  app = linkedApp();
});
after(() => {
  robot.stop();
  app?.remove();
});

describe('code blocks of README.md and docs/*.md', () => {
  it('every block is run, or marked <!-- not run: why --> in the markdown', (t) => {
    const runnable = new Set(['ts', 'typescript', 'js', 'javascript', 'sh', 'bash', 'shell', 'json', 'console']);
    const unmarked = blocks.filter((b) => !b.notRun && !b.browser && !runnable.has(b.lang)).map((b) => `${where(b)} (${b.lang || 'no language'})`);
    assert.deepEqual(unmarked, [], 'blocks that nothing runs: give them a language that runs, or a <!-- not run: why --> line before them');
    for (const b of blocks.filter((x) => x.notRun)) t.diagnostic(`not run: ${where(b)} (${b.lang || 'no language'}): ${b.notRun}`);
    assert.ok(code.length >= 5, `found only ${code.length} runnable ts/js blocks`);
  });

  it('json blocks parse, and gateway access configurations pass checkAccessConfig', () => {
    for (const b of json) {
      const value: unknown = JSON.parse(b.code);
      if (typeof value === 'object' && value !== null && ('users' in value || 'anonymous' in value)) checkAccessConfig(value, where(b));
    }
  });

  it('ts/js blocks compile with the package types (strict, one tsc run), then run against the demo robot and exit 0', async (t) => {
    const files = new Map<Block, string>();
    for (const b of code) {
      const name = `${b.file.replace(/\W/g, '_')}_${b.line}.${b.lang.startsWith('t') ? 'ts' : 'js'}`;
      // A block that hosts its own ServiceDirectory gets a free port of its own.
      const text = substitute(b.code, demoUrl, `tcp://127.0.0.1:${await freePort()}`);
      app.write({ [`src/${name}`]: `${text}\nexport {};\n` });
      files.set(b, name.replace(/\.ts$/, '.js'));
    }
    const errors = await app.tsc({
      compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', lib: ['es2022'], types: ['node'], allowJs: true, checkJs: true, outDir: 'out', rootDir: 'src' },
      include: ['src'],
    });
    assert.deepEqual(errors, [], 'the blocks do not compile (file names: <markdown>_<line>)');
    const results = await Promise.all(
      [...files].map(async ([b, js]) => {
        const started = Date.now();
        try {
          await run(process.execPath, [join(app.dir, 'out', js)], { cwd: app.dir, timeout: RUNS_MS, killSignal: 'SIGKILL' });
          t.diagnostic(`${where(b)} exited 0 in ${Date.now() - started} ms`);
          return undefined;
        } catch (e) {
          const err = e as { killed?: boolean; code?: number; stdout?: string; stderr?: string };
          return `${where(b)}: ${err.killed ? `still running after ${RUNS_MS} ms (killed)` : `exit code ${err.code}`}\n${err.stdout ?? ''}${err.stderr ?? ''}`;
        }
      }),
    );
    assert.deepEqual(results.filter((r) => r !== undefined), []);
  });

  it('sh blocks are qi commands, and run against the demo robot and exit 0', { timeout: 60_000 }, async () => {
    // Only `qi` commands are ever run (in a temporary folder): any other shell block (npm, servers…)
    // must be marked not run. A test running `npm ci` once emptied the node_modules it links to.
    const others = shell.filter((b) => !b.code.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#') || qiCommand(l)));
    assert.deepEqual(others.map(where), [], 'shell blocks with commands other than qi: mark them <!-- not run: why -->');
    for (const b of shell) {
      for (const line of substitute(b.code, demoUrl, demoUrl).split('\n')) {
        const args = qiCommand(line);
        if (!args) continue;
        const { code, out } = await qi(args);
        assert.equal(code, 0, `${where(b)}: qi ${args.join(' ')} exited ${code}: ${out}`);
      }
    }
  });

  it('console transcripts: each `$ qi …` run against the demo robot prints the lines shown after it', { timeout: 60_000 }, async () => {
    const squash = (text: string) => text.replace(/\s+/g, ' ').trim();
    for (const b of transcripts) {
      const lines = substitute(b.code, demoUrl, demoUrl).split('\n');
      for (let i = 0; i < lines.length; i++) {
        if (!lines[i].startsWith('$ ')) continue;
        const args = qiCommand(lines[i].slice(2));
        assert.ok(args, `${where(b)}: only qi commands run in a transcript (${lines[i]}); or mark it <!-- not run: why -->`);
        const { out } = await qi(args);
        for (let j = i + 1; j < lines.length && !lines[j].startsWith('$ '); j++) {
          if (lines[j].trim() === '') continue;
          assert.ok(squash(out).includes(squash(lines[j])), `${where(b)}: qi ${args.join(' ')} did not print\n  ${lines[j]}\nbut\n${out}`);
        }
      }
    }
  });
});
