/**
 * Open tablet pages across a robot restart, in Chromium: pages using our classic qimessaging.js (API 2
 * and API 1.0) stay open, without reload, while the gateway serving them (a child process, SIGTERM'd
 * or SIGKILL'd and started again on the same port) or the ServiceDirectory behind it (or behind a
 * classic API that goes to it directly with `url`) restarts. Each page must see `disconnected`, then
 * `connected` again by itself (its callback run again) and a call answered again.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { AddressInfo } from 'node:net';
import { Gateway, listenStandalone } from '../../src/index.js';
import { classicQiSession } from '../../src/web/classic/index.js';
import { calculator } from '../object/fixtures.js';
import { browserSkip, launchBrowser, pageLog } from '../helpers/browser.js';
import { freePort } from '../helpers/net.js';
import { startFixture, type Child } from '../helpers/processes.js';
import { until } from '../helpers/until.js';
import { withPages } from './fixtures/restart-pages.js';

const PAGES = ['2', '1.0'] as const;
const open: { close(): unknown }[] = [];
after(async () => {
  for (const o of open.reverse()) await o.close();
});

// One browser for the file (launched at the top of the file, so closed after it), a context per test.
const browserOnce = browserSkip ? Promise.reject(new Error(browserSkip)) : launchBrowser();
browserOnce.catch(() => {});

const opened: Page[] = [];
afterEach(async () => {
  for (const p of opened.splice(0)) await p.close();
});

const events = (page: Page) => page.evaluate(() => (window as unknown as { events: string[] }).events);

/** Opens both pages at `origin` and waits for their first answer. */
async function openPages(origin: string): Promise<{ page: Page; log: string[]; version: string }[]> {
  const browser = await browserOnce;
  const pages = [];
  for (const version of PAGES) {
    const page = await browser.newPage();
    opened.push(page);
    const log = pageLog(page);
    await page.goto(`${origin}/app/${version}/`);
    pages.push({ page, log, version });
  }
  for (const p of pages) await answered(p, 0);
  return pages;
}

/** Waits until the page's events after the first `from` ones end with `connected`, `answer 5`. */
async function answered(
  p: { page: Page; log: string[]; version: string },
  from: number,
  ms = 10_000,
): Promise<string[]> {
  let seen: string[] = [];
  await until(
    async () => {
      seen = (await events(p.page)).slice(from);
      return seen.includes('answer 5');
    },
    `API ${p.version} page answered again`,
    ms,
  ).catch((e: Error) => assert.fail(`${e.message}; events ${JSON.stringify(seen)}; page log:\n${p.log.join('\n')}`));
  return seen;
}

/** After a restart: each page saw `disconnected`, then `connected` and an answer, without reload. */
async function cameBack(pages: { page: Page; log: string[]; version: string }[], before: number[]): Promise<void> {
  for (const [i, p] of pages.entries()) {
    const seen = await answered(p, before[i]);
    assert.equal(seen[0], 'disconnected', `API ${p.version}: ${JSON.stringify(seen)}`);
    assert.deepEqual(seen.slice(-2), ['connected', 'answer 5'], `API ${p.version}: ${JSON.stringify(seen)}`);
  }
}

const counts = (pages: { page: Page }[]) => Promise.all(pages.map(async (p) => (await events(p.page)).length));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A ServiceDirectory serving Calculator, in a child process on `url`. */
async function sdProcess(url: string): Promise<Child<{ url: string }>> {
  return startFixture<{ url: string }>('web/fixtures/sd-calculator', [url]);
}

describe('classic pages across a gateway restart', { skip: browserSkip }, () => {
  let sdUrl: string;
  before(async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    open.push(sd);
    await sd.registerService('Calculator', calculator());
    sdUrl = sd.endpoints[0];
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`the gateway is stopped (${signal}) and started again: open pages come back by themselves`, async () => {
      const port = await freePort();
      const start = () => startFixture<{ origin: string }>('web/fixtures/classic-gateway', [sdUrl, String(port)]);
      let gateway = await start();
      try {
        const pages = await openPages(gateway.ready.origin);
        const before = await counts(pages);
        await gateway.kill(signal);
        await sleep(300);
        gateway = await start();
        await cameBack(pages, before);
      } finally {
        await gateway.kill('SIGKILL');
      }
    });
  }
});

describe('classic pages across a ServiceDirectory restart', { skip: browserSkip }, () => {
  for (const via of ['gateway', 'url'] as const) {
    it(`only the SD restarts (pages ${via === 'gateway' ? 'through the gateway' : 'go to the SD with url'}): open pages come back by themselves`, async () => {
      const url = `tcp://127.0.0.1:${await freePort()}`;
      let sd = await sdProcess(url);
      let gw: Gateway | undefined;
      const classic = via === 'gateway' ? classicQiSession({ gateway: () => gw }) : classicQiSession({ url });
      let origin: string;
      let server: http.Server | undefined;
      if (via === 'gateway') {
        gw = await Gateway.start({
          sd: url,
          listen: 'ws://127.0.0.1:0/qi',
          http: withPages(classic),
          access: { anonymous: { allow: ['*'] } },
        });
        origin = gw.endpoints[0].replace(/^ws/, 'http').replace(/\/qi$/, '');
      } else {
        const h = withPages(classic);
        server = http.createServer((req, res) => h.request(req, res) || res.writeHead(404).end());
        server.on('upgrade', (req, socket, head) => h.upgrade(req, socket, head) || socket.destroy());
        await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
        origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      }
      try {
        const pages = await openPages(origin);
        const before = await counts(pages);
        await sd.kill('SIGKILL');
        await sleep(300);
        sd = await sdProcess(url);
        await cameBack(pages, before);
      } finally {
        await classic.close();
        await gw?.close();
        server?.close();
        await sd.kill('SIGKILL');
      }
    });
  }
});
