/**
 * Real-browser tests: launches Debian's chromium (never a downloaded browser) through playwright-core.
 *
 *   import { launchBrowser, browserSkip } from '../helpers/browser.js';
 *   test('page', { skip: browserSkip }, async () => {
 *     const browser = await launchBrowser();          // closed when this test ends
 *     const page = await browser.newPage();
 *     ...
 *   });
 *
 * Each browser gets a fresh temporary profile (playwright creates and removes it; passing
 * `--user-data-dir` to `launch` is refused by playwright, so `launchBrowser` leaves that to it).
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The chromium binary (override with CHROMIUM_PATH). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** `false` when chromium is installed, else the reason to skip browser tests (for `test(..., { skip })`). */
export const browserSkip: string | false = existsSync(chromiumPath)
  ? false
  : `chromium not found at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;

/** Flags for a quiet, sandbox-less, offline-by-default headless chromium. */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/**
 * Launches headless chromium, closed by an `after` hook registered where it is called: called in a test,
 * the browser is closed when that test ends; in a `before` hook or at the top of a file, after the file.
 */
export async function launchBrowser(options: { timeoutMs?: number; args?: string[] } = {}): Promise<Browser> {
  if (browserSkip) throw new Error(browserSkip);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, ...(options.args ?? [])],
    timeout: options.timeoutMs ?? 30_000,
  });
  after(() => browser.close().catch(() => {}));
  return browser;
}

/**
 * Collects a page's console errors and uncaught exceptions, to put into assertion messages
 * (`assert.ok(x, logs.join('\n'))`).
 */
export function pageLog(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (m) => lines.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => lines.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  return lines;
}

let screenshots: string | undefined;
/**
 * Where a test saves the screenshot `name` (e.g. `dashboard.png`): QI_SCREENSHOTS_DIR when set (what
 * `npm run screenshots` does, to regenerate docs/img on purpose), else a temporary folder, so that a test
 * run never rewrites the tracked pictures.
 */
export function screenshotPath(name: string): string {
  screenshots ??= process.env.QI_SCREENSHOTS_DIR ?? mkdtempSync(join(tmpdir(), 'qi-screenshots-'));
  mkdirSync(screenshots, { recursive: true });
  return join(screenshots, name);
}
