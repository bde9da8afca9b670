/**
 * The web dashboard in a real chromium, served by a gateway in front of the demo robot's services (and
 * a calculator with richer signatures): the service list, a method called through its generated form,
 * errors in red, a signal stream, properties set from the page and changed by a Node client, and the
 * connection badge through a gateway restart. Screenshots: see screenshotPath (`npm run screenshots`
 * puts them in docs/img for the README).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { Gateway, Session } from '../../src/index.js';
import { webHandler } from '../../src/web/index.js';
import { demoBus } from './fixtures.js';
import { browserSkip, launchBrowser, pageLog, screenshotPath } from '../helpers/browser.js';

const browserReady = browserSkip ? undefined : launchBrowser();
const WAIT = { timeout: 10_000 };

describe('web dashboard', { skip: browserSkip, timeout: 90_000 }, () => {
  let sd: Session;
  let gw: Gateway;
  let base: string;
  let page: Page;
  let log: string[];
  let node: Session;
  const startGateway = (listen: string) =>
    Gateway.start({
      sd: sd.endpoints[0],
      listen,
      http: webHandler(),
      access: { anonymous: { allow: ['TextToSpeech', 'Battery', 'Camera', 'Calculator'] } },
    });

  before(async () => {
    sd = await demoBus();
    gw = await startGateway('ws://127.0.0.1:0/qi');
    base = gw.endpoints[0].replace(/^ws/, 'http').replace(/\/qi$/, '');
    node = await Session.connect(gw.endpoints[0]);
    page = await (await browserReady)!.newPage({ viewport: { width: 1280, height: 860 } });
    log = pageLog(page);
  });
  after(async () => {
    await page?.close();
    await node?.close();
    await gw?.close();
    await sd?.close();
  });

  const card = (kind: string, name: string) => page.locator(`[data-${kind}="${name}"]`);

  it('loads, connects and lists the services', async () => {
    await page.goto(`${base}/`, WAIT);
    await page.locator('#status[data-state="connected"]').waitFor(WAIT);
    const names = await page
      .locator('a[data-service]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-service')));
    assert.deepEqual(names, ['Battery', 'Calculator', 'Camera', 'ServiceDirectory', 'TextToSpeech']);
    assert.deepEqual(log, [], 'no error in the console');
  });

  it('calls a method through the form generated from its signature, and shows errors in red', async () => {
    await page.click('a[data-service="Calculator"]');
    const add = card('method', 'add');
    await add.waitFor(WAIT);
    await add.locator('input[name="a"]').fill('2');
    await add.locator('input[name="b"]').fill('40');
    await add.locator('button[type="submit"]').click();
    assert.equal((await add.locator('.result pre.value').textContent(WAIT))?.trim(), '42');

    // A struct as JSON, with its signature shown.
    const norm = card('method', 'norm1');
    assert.match((await norm.locator('.field .sig').textContent()) ?? '', /\(ii\)<Point,x,y>/);
    await norm.locator('textarea').fill('{"x": -3, "y": 4}');
    await norm.locator('button[type="submit"]').click();
    assert.equal((await norm.locator('.result pre.value').textContent(WAIT))?.trim(), '7');

    // Not a number: refused by the form. Out of the int32 range: refused by the codec. A failing method: its message.
    await add.locator('input[name="a"]').fill('two');
    await add.locator('button[type="submit"]').click();
    assert.match((await add.locator('.result .error').textContent(WAIT)) ?? '', /a: "two" is not a number/);
    await add.locator('input[name="a"]').fill('5000000000');
    await add.locator('button[type="submit"]').click();
    await page.waitForFunction(
      () => /QiValueError/.test(document.querySelector('[data-method="add"] .result .error')?.textContent ?? ''),
      undefined,
      WAIT,
    );
    const fail = card('method', 'fail').first();
    await fail.locator('input').fill('on purpose');
    await fail.locator('button[type="submit"]').click();
    const error = fail.locator('.result .error');
    assert.match((await error.textContent(WAIT)) ?? '', /QiCallError: .*failed on purpose: on purpose/);
    assert.equal(await error.evaluate((e) => getComputedStyle(e).color), 'rgb(217, 56, 56)');
    await add.locator('input[name="a"]').fill('2');
    await add.locator('button[type="submit"]').click();
    await add.locator('.result pre.value').waitFor(WAIT);
    await page.setViewportSize({ width: 1280, height: 1400 });
    await page.locator('main').evaluate((e) => e.scrollTo(0, 0));
    await page.screenshot({ path: screenshotPath('dashboard-forms.png') });
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('streams a signal with timestamps, and renders an image result', async () => {
    await page.click('a[data-service="TextToSpeech"]');
    const say = card('method', 'say');
    await say.waitFor(WAIT);
    for (const text of ['Hello', 'I am a TypeScript robot']) {
      await say.locator('input[name="text"]').fill(text);
      await say.locator('button[type="submit"]').click();
      await say.locator('.result pre.value').waitFor(WAIT);
    }
    const stream = card('signal', 'done').locator('.stream li:not(.empty)');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-signal="done"] .stream li:not(.empty)').length === 2,
      undefined,
      WAIT,
    );
    assert.match((await stream.first().textContent()) ?? '', /^\d\d:\d\d:\d\d\.\d{3}"I am a TypeScript robot"$/);
    assert.equal(await card('signal', 'done').locator('.badge').textContent(), '2');
    await page.screenshot({ path: screenshotPath('dashboard.png') });

    await page.click('a[data-service="Camera"]');
    await card('method', 'getImage').locator('button[type="submit"]').click();
    await card('method', 'getImage').locator('canvas.image').waitFor(WAIT);
    assert.match(
      (await card('method', 'getImage').locator('pre.value').textContent()) ?? '',
      /width: 320,\s+height: 240,\s+format: "grey8",\s+data: <76800 bytes: /,
    );
  });

  it('shows properties live and sets them; a Node client sees the change and makes its own', async () => {
    await page.click('a[data-service="Battery"]');
    const charge = card('property', 'charge');
    const charging = card('property', 'charging');
    await charging.locator('input[type="checkbox"]').waitFor(WAIT);
    await charging.locator('input[type="checkbox"]').check();
    await charging.locator('button[type="submit"]').click();
    await page.waitForFunction(
      () => document.querySelector('[data-property="charging"] output')?.textContent === 'true',
      undefined,
      WAIT,
    );
    const nodeBattery = await node.service('Battery');
    assert.equal(await nodeBattery.charging.get(), true);
    await nodeBattery.charge.set(42);
    await page.waitForFunction(
      () => document.querySelector('[data-property="charge"] output')?.textContent === '42',
      undefined,
      WAIT,
    );
    assert.match((await charge.locator('.meta').textContent()) ?? '', /^changed \d\d:/);
    // A bad value for a property: an error in its card, nothing sent.
    await charge.locator('input[name="new value"]').fill('lots');
    await charge.locator('button[type="submit"]').click();
    assert.match((await charge.locator('.error').textContent(WAIT)) ?? '', /not a number/);
    await nodeBattery.charging.set(false);
  });

  it('shows the connection lost and comes back when the gateway does', async () => {
    const listen = gw.endpoints[0];
    await gw.close();
    await page.locator('#status[data-state="disconnected"]').waitFor(WAIT);
    assert.match((await page.locator('#status').textContent()) ?? '', /Disconnected.*retrying in \d+ s/);
    gw = await startGateway(listen);
    await page.click('#status button');
    await page.locator('#status[data-state="connected"]').waitFor(WAIT);
    await card('property', 'charge').waitFor(WAIT);
    // The list is drawn again from the new session's answer, not necessarily before the cards.
    await page.locator('a[data-service]').nth(4).waitFor(WAIT);
    assert.equal(await page.locator('a[data-service]').count(), 5);
  });
});
