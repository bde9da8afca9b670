/**
 * The browser build of the client (dist/web/qimessaging.mjs) in a real chromium: a page imports it from
 * the gateway that serves it and talks qi over the gateway's WebSocket endpoint: calls, errors,
 * signals, properties both ways with a Node client, objects by reference.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { Gateway, Session, type HttpHandler } from '../../src/index.js';
import { webHandler } from '../../src/web/index.js';
import { demoBus } from './fixtures.js';
import { browserSkip, launchBrowser, pageLog } from '../helpers/browser.js';

/** A bare page that loads the bundle as an application would, and hands it to the test. */
const testPage: HttpHandler = {
  request(req, res) {
    if (req.url !== '/client-test.html') return false;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>client test</title>
<script type="module">import * as qi from '/qimessaging.mjs'; window.qi = qi; document.title = 'ready';</script>`);
    return true;
  },
};

type Qi = typeof import('../../src/web/browser/index.js');
/** Runs `fn` in the page with the bundle's exports (as `qi`) and the gateway's qi URL. */
function inPage<T, A = undefined>(
  page: Page,
  url: string,
  fn: (qi: Qi, url: string, arg: A) => Promise<T>,
  arg?: A,
): Promise<T> {
  return page.evaluate(
    async ({ source, url, arg }) => {
      const qi = (globalThis as unknown as { qi: Qi }).qi;

      return (new Function(`return (${source})`)() as typeof fn)(qi, url, arg as A);
    },
    { source: fn.toString(), url, arg },
  );
}

// Launched at the top level: the helper closes it in an `after` hook of the file.
const browserReady = browserSkip ? undefined : launchBrowser();

describe('browser client bundle', { skip: browserSkip, timeout: 60_000 }, () => {
  let sd: Session;
  let gw: Gateway;
  let base: string;
  let qiUrl: string;
  let page: Page;
  let log: string[];

  before(async () => {
    sd = await demoBus();
    gw = await Gateway.start({
      sd: sd.endpoints[0],
      listen: 'ws://127.0.0.1:0/qi',
      http: webHandler({ extra: [testPage] }),
      access: { anonymous: { allow: ['*'] } },
    });
    qiUrl = gw.endpoints[0];
    base = qiUrl.replace(/^ws/, 'http').replace(/\/qi$/, '');
    const browser = (await browserReady)!;
    page = await browser.newPage();
    log = pageLog(page);
    await page.goto(`${base}/client-test.html`, { timeout: 10_000 });
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 10_000 });
  });
  after(async () => {
    await page?.close();
    await gw?.close();
    await sd?.close();
  });

  it('connects through the gateway, lists services and calls methods (struct, raw bytes, overloads)', async () => {
    const got = await inPage(page, qiUrl, async (qi, url) => {
      const s = await qi.Session.connect(url);
      const names = (await s.services()).map((i) => i.name);
      const calc = await s.service('Calculator');
      const image = (await (await s.service('Camera')).getImage()) as { width: number; data: Uint8Array };
      const out = {
        names,
        sum: await calc.add(2, 40),
        concat: [await calc.concat('a', 'b'), await calc.concat('a', 7)],
        norm: await calc.norm1({ x: -3, y: 4 }),
        raw: Array.from((await calc.echoRaw(new Uint8Array([1, 2, 255]))) as Uint8Array),
        image: [image.width, image.data.length, image.data instanceof Uint8Array],
        sameOrigin: qi.sameOriginUrl(),
      };
      await s.close();
      return out;
    });
    assert.deepEqual(
      got.names.filter((n) => n !== 'ServiceDirectory').sort(),
      ['Battery', 'Calculator', 'Camera', 'TextToSpeech'],
      log.join('\n'),
    );
    assert.equal(got.sum, 42);
    assert.deepEqual(got.concat, ['ab', 'a7']);
    assert.equal(got.norm, 7);
    assert.deepEqual(got.raw, [1, 2, 255]);
    assert.deepEqual(got.image, [320, 76800, true]);
    assert.equal(got.sameOrigin, qiUrl);
  });

  it('reports errors: a failing method, a bad argument, an unknown method', async () => {
    const got = await inPage(page, qiUrl, async (qi, url) => {
      const s = await qi.Session.connect(url);
      const calc = await s.service('Calculator');
      const errorOf = (p: Promise<unknown>) =>
        p.then(
          () => 'no error',
          (e: Error) => `${e.name}: ${e.message}`,
        );
      const out = [
        await errorOf(calc.fail('why not')),
        await errorOf(calc.add('two', 1)),
        await errorOf(Promise.resolve().then(() => (calc as never as { nope(): Promise<void> }).nope())),
      ];
      await s.close();
      return out;
    });
    assert.match(got[0], /^QiCallError: .*failed on purpose: why not/);
    assert.match(got[1], /^QiValueError: .*/);
    assert.match(got[2], /nope/);
  });

  it('receives signals, and property changes both ways with a Node client', async () => {
    const node = await Session.connect(qiUrl.replace(/^ws/, 'ws'));
    try {
      const nodeBattery = await node.service('Battery');
      await nodeBattery.charge.set(50);
      const seen = inPage(page, qiUrl, async (qi, url) => {
        const s = await qi.Session.connect(url);
        const tts = await s.service('TextToSpeech');
        const bat = await s.service('Battery');
        const said = new Promise<unknown[]>((resolve) => void tts.done.connect((...a: unknown[]) => resolve(a)));
        const changes: unknown[] = [];
        let gotNode: () => void = () => {};
        const fromNode = new Promise<void>((r) => (gotNode = r));
        await bat.charge.watch((v: unknown) => (changes.push(v), v === 77 && gotNode()));
        const before = await bat.charge.get();
        (globalThis as unknown as { watching: boolean }).watching = true;
        await tts.say('hi');
        await fromNode;
        await bat.charging.set(true);
        const out = { said: await said, before, changes };
        await s.close();
        return out;
      });
      await page.waitForFunction(() => (globalThis as unknown as { watching?: boolean }).watching === true, undefined, {
        timeout: 10_000,
      });
      const charging = nodeBattery.charging.watch(() => {});
      await nodeBattery.charge.set(77);
      const got = await seen;
      await (
        await charging
      )();
      assert.deepEqual(got.said, ['hi']);
      assert.equal(got.before, 50);
      assert.ok(got.changes.includes(77), JSON.stringify(got.changes));
      assert.equal(await nodeBattery.charging.get(), true, 'the Node client sees what the page set');
      await nodeBattery.charging.set(false);
    } finally {
      await node.close();
    }
  });

  it('passes objects by reference: gets one back, and gives one of its own to a service', async () => {
    const got = await inPage(page, qiUrl, async (qi, url) => {
      const s = await qi.Session.connect(url);
      const calc = await s.service('Calculator');
      const c = (await calc.makeCounter(10)) as { increment(): Promise<number> };
      const remote = [await c.increment(), await c.increment()];
      let n = 100;
      const mine = new qi.LocalObject(
        qi.defineObject({ methods: { increment: qi.method([], qi.t.int32), value: qi.method([], qi.t.int32) } }),
        { increment: () => ++n, value: () => n },
      );
      const used = await calc.useCounter(mine);
      await s.close();
      return { remote, used, n };
    });
    assert.deepEqual(got.remote, [11, 12]);
    assert.equal(got.used, 102);
    assert.equal(got.n, 102);
  });

  it('fails to connect with a QiConnectError naming the URL', async () => {
    const got = await inPage(page, qiUrl, async (qi, url) => {
      const wrong = url.replace(/\/qi$/, '/nothing-here');
      return qi.Session.connect(wrong, { reconnect: false, connectTimeoutMs: 5000 }).then(
        () => 'connected?',
        (e: Error & { code?: string }) => `${e.name} ${e.code}: ${e.message}`,
      );
    });
    assert.match(got, /^QiConnectError ERR_QI_CONNECT: Cannot connect to ws:\/\/127\.0\.0\.1:\d+\/nothing-here/);
  });
});
