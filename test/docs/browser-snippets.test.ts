/**
 * The code blocks of README.md and docs/*.md marked `<!-- in a browser: … -->` run in Chromium, in a page
 * of the demo robot's web gateway (its dashboard's origin, so '/qimessaging.mjs' and same-origin URLs
 * resolve as on a robot): a `js` block as a module script, an `html` block as the page's body. Each must
 * finish within seconds with no uncaught error and nothing logged to console.error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { browserSkip, launchBrowser, pageLog } from '../helpers/browser.js';
import { REPO } from '../helpers/app.js';
import { allBlocks, where, type Block } from './blocks.js';

const RUNS_MS = 10_000;
const blocks = allBlocks(REPO).filter((b) => b.browser !== undefined);

/** The block as page code, setting `window.snippetDone` once its last statement has run. */
function asPage(b: Block): string {
  const done = 'window.snippetDone = true;';
  if (b.lang === 'html') {
    const last = b.code.lastIndexOf('</script>');
    assert.ok(last >= 0, `${where(b)}: an html block in a browser needs a script`);
    return b.code.slice(0, last) + `${done}\n` + b.code.slice(last);
  }
  return `<script type="module">\n${b.code}\n${done}\n</script>\n`;
}

let robot: ReturnType<typeof spawn>;
let dashboard = '';
before(async () => {
  robot = spawn(process.execPath, [join(REPO, 'dist/examples/robot.js')], {
    env: { ...process.env, QI_LISTEN: 'tcp://127.0.0.1:0', QI_GATEWAY: 'off', QI_WEB: 'ws://127.0.0.1:0/qi' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  dashboard = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the demo robot did not start: ${out}`)), 10_000);
    robot.stdout!.on('data', (d) => {
      out += d;
      const m = /dashboard (http:\S+)/.exec(out);
      if (m) resolve((clearTimeout(timer), m[1]));
    });
  });
});
after(() => {
  robot?.kill('SIGINT');
});

describe('code blocks of README.md and docs/*.md that run in a browser', () => {
  it('there are some', () => assert.ok(blocks.length >= 2, `found ${blocks.length}`));

  for (const b of blocks) {
    it(`${where(b)} runs in a page of the demo robot's gateway`, { skip: browserSkip, timeout: 60_000 }, async () => {
      const browser = await launchBrowser();
      // The dashboard's Content-Security-Policy forbids inline scripts; an app's own page sets its own.
      const page = await (await browser.newContext({ bypassCSP: true })).newPage();
      const log = pageLog(page);
      await page.goto(dashboard);
      await page.setContent(asPage(b));
      await page.waitForFunction(() => (window as unknown as { snippetDone?: boolean }).snippetDone === true, undefined, { timeout: RUNS_MS }).catch(() => {
        throw new Error(`${where(b)} did not finish within ${RUNS_MS} ms:\n${log.join('\n')}`);
      });
      assert.deepEqual(log.filter((l) => /^(pageerror|console\.error|requestfailed)/.test(l)), [], log.join('\n'));
    });
  }
});
