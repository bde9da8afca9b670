/**
 * Pages written against the classic QiSession API, in a real browser (Debian's chromium through
 * playwright-core), loading /libs/qimessaging/2/qimessaging.js (and /1.0/) from the gateway exactly as
 * a tablet app does: a call, a signal, a property, an error. Screenshot: classic-qisession.png (see screenshotPath).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Gateway, LocalObject, Session, defineObject, method, property, signal, t } from '../../src/index.js';
import { classicQiSession, type ClassicHandler } from '../../src/web/classic/index.js';
import { browserSkip, launchBrowser, pageLog, screenshotPath } from '../helpers/browser.js';
import { classicBus, httpOrigin } from './fixtures.js';

const Demo = defineObject({
  methods: {
    ping: method([t.string], t.void),
    point: method([], t.struct('Point', { x: t.int32, y: t.int32 })),
    secret: method([], t.string),
  },
  signals: { pinged: signal([t.string, t.int32]) },
  properties: { level: property(t.int32, { initial: 1 }) },
});

let pings = 0;
const demo: LocalObject<typeof Demo> = new LocalObject(Demo, {
  ping: (text: string) => demo.emit('pinged', text, ++pings),
  point: () => ({ x: 3, y: 4 }),
  secret: () => 'nope',
});

/** A tablet app as the robot serves it: same origin as the API, script loaded by its absolute path. */
const APP = `<!doctype html>
<html><head><meta charset="utf-8"><title>Classic QiSession app</title>
<script src="/libs/qimessaging/2/qimessaging.js"></script>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; margin: 24px; background: #f4f6f8; color: #1d2733; }
  h1 { font-size: 20px; margin: 0 0 4px; } p { margin: 0 0 16px; color: #5a6877; }
  table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 3px #0002; min-width: 640px; }
  th, td { text-align: left; padding: 8px 14px; border-bottom: 1px solid #e3e8ee; }
  th { font-weight: 600; width: 260px; } td { font-family: ui-monospace, monospace; }
  .ok { color: #17803d; } .err { color: #b42318; }
</style></head>
<body>
<h1>A tablet app using the classic <code>QiSession</code> API</h1>
<p>Loads <code>/libs/qimessaging/2/qimessaging.js</code> from the qimessaging gateway, unchanged since NAOqi 2.</p>
<table>
  <tr><th>connection</th><td id="status">connecting…</td></tr>
  <tr><th>Calculator.add(2, 3)</th><td id="add"></td></tr>
  <tr><th>Demo.point()</th><td id="point"></td></tr>
  <tr><th>Demo.pinged (signal)</th><td id="signals"></td></tr>
  <tr><th>Demo.level (property)</th><td id="level"></td></tr>
  <tr><th>Demo.level changes</th><td id="levels"></td></tr>
  <tr><th>Demo.secret() (denied)</th><td id="denied" class="err"></td></tr>
  <tr><th>service('Nope')</th><td id="missing" class="err"></td></tr>
</table>
<script>
  function show(id, v) { document.getElementById(id).textContent = typeof v === 'string' ? v : JSON.stringify(v); }
  function append(id, v) { var e = document.getElementById(id); e.textContent += (e.textContent ? ' ' : '') + JSON.stringify(v); }
  var received = [];
  new QiSession(function (session) {
    show('status', 'connected');
    document.getElementById('status').className = 'ok';
    session.service('Calculator').then(function (calc) {
      return calc.add(2, 3);
    }).then(function (sum) { show('add', sum); });
    session.service('Demo').then(function (demo) {
      window.demo = demo;
      demo.point().then(function (p) { show('point', p); });
      demo.pinged.connect(function (text, n) {
        received.push([text, n]);
        append('signals', [text, n]);
      }).then(function (link) {
        window.pingLink = link;
        return demo.ping('hello');
      });
      demo.level.connect(function (v) { append('levels', v); }).then(function () {
        return demo.level.setValue(7);
      }).then(function () {
        return demo.level.value();
      }).then(function (v) { show('level', v); });
      demo.secret().then(function () { show('denied', 'allowed?!'); }, function (err) { show('denied', err); });
    });
    session.service('Nope').fail(function (err) { show('missing', err); });
  }, function () {
    show('status', 'disconnected');
    document.getElementById('status').className = 'err';
  });
</script>
</body></html>`;

/** An old app from elsewhere (another origin), API 1.0: Deferreds, session.socket(), registerEvent. */
function oldApp(gateway: string): string {
  return `<!doctype html><html><head><meta charset="utf-8">
<script src="http://${gateway}/libs/qimessaging/1.0/qimessaging.js"></script></head><body>
<div id="sum"></div><div id="signal"></div><div id="connected"></div>
<script>
  var session = new QiSession('${gateway}');
  session.socket().on('connect', function () {
    document.getElementById('connected').textContent = 'yes';
    session.service('Calculator').done(function (calc) {
      calc.add(40, 2).done(function (r) { document.getElementById('sum').textContent = r; });
    });
    session.service('Demo').done(function (demo) {
      demo.pinged.connect(function (text, n) { document.getElementById('signal').textContent = text + ' ' + n; })
        .done(function () { demo.ping('from 1.0'); });
    });
  });
</script></body></html>`;
}

let sd: Session;
let inside: Session;
let gw: Gateway;
let classic: ClassicHandler;
let origin: string;
let otherOrigin: string;
const others: http.Server[] = [];

before(async () => {
  ({ sd, inside } = await classicBus(demo));
  // The API 1.0 app below is served from another origin, which the API must be told to accept.
  const other = http.createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'text/html' }).end(oldApp(new URL(origin).host)),
  );
  others.push(other);
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  classic = classicQiSession({ gateway: () => gw, origins: [otherOrigin] });
  gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: ['tcp://127.0.0.1:0', 'ws://127.0.0.1:0/qi'],
    // The app page next to the API, as on the robot.
    http: {
      request: (req, res) => {
        if (req.url !== '/app/') return classic.request(req, res);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(APP);
        return true;
      },
      upgrade: (req, socket, head) => classic.upgrade(req, socket, head),
    },
    access: { anonymous: { allow: ['*'], deny: ['method:Demo.secret'] } },
  });
  origin = httpOrigin(gw);
});

after(async () => {
  await classic?.close();
  await gw?.close();
  await inside?.close();
  await sd?.close();
  for (const s of others) s.close();
});

const text = (page: import('playwright-core').Page, id: string) => page.locator(`#${id}`).textContent();

describe('classic QiSession in a browser', { skip: browserSkip }, () => {
  it('a tablet app calls services, receives a signal, sets and reads a property, gets errors as rejected promises', async () => {
    const browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
    const log = pageLog(page);
    await page.goto(`${origin}/app/`);
    const filled = (id: string) =>
      page.waitForFunction((i) => document.getElementById(i)!.textContent !== '', id, { timeout: 10_000 });
    for (const id of ['add', 'point', 'signals', 'level', 'levels', 'denied', 'missing'])
      await filled(id).catch(() => assert.fail(`#${id} stays empty; page log:\n${log.join('\n')}`));
    assert.equal(await text(page, 'status'), 'connected');
    assert.equal(await text(page, 'add'), '5');
    assert.equal(await text(page, 'point'), '[3,4]');
    assert.equal(await text(page, 'signals'), `["hello",${pings}]`);
    assert.equal(await text(page, 'level'), '7');
    assert.equal(demo.get('level'), 7);
    assert.match((await text(page, 'levels'))!, /^7/);
    assert.match(
      (await text(page, 'denied'))!,
      /^Demo\.secret failed: Permission denied: an anonymous client may not use method Demo\.secret/,
    );
    assert.match((await text(page, 'missing'))!, /Cannot find service 'Nope'/);

    // A signal emitted by the service on its own reaches the page.
    demo.emit('pinged', 'from the robot', 99);
    await page.waitForFunction(() => (window as unknown as { received: unknown[] }).received.length === 2, undefined, {
      timeout: 5000,
    });
    assert.deepEqual(await page.evaluate(() => (window as unknown as { received: unknown[] }).received), [
      ['hello', pings],
      ['from the robot', 99],
    ]);

    await page.screenshot({ path: screenshotPath('classic-qisession.png'), fullPage: true });

    // Disconnecting the signal from the page stops it; closing the page drops its connection.
    await page.evaluate(() => {
      const w = window as unknown as { demo: any; pingLink: number };
      return w.demo.pinged.disconnect(w.pingLink);
    });
    demo.emit('pinged', 'unheard', 100);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await page.evaluate(() => (window as unknown as { received: unknown[] }).received.length), 2);
    assert.ok(classic.connections >= 1);
    await page.close();
    for (let i = 0; i < 200 && classic.connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(classic.connections, 0);
    assert.deepEqual(
      log.filter((l) => /pageerror|requestfailed/.test(l)),
      [],
    );
  });

  it('an API 1.0 app on another origin connects with QiSession(host), Deferreds and session.socket()', async () => {
    const browser = await launchBrowser();
    const page = await browser.newPage();
    const log = pageLog(page);
    await page.goto(`${otherOrigin}/`);
    for (const id of ['connected', 'sum', 'signal']) {
      await page
        .waitForFunction((i) => document.getElementById(i)!.textContent !== '', id, { timeout: 10_000 })
        .catch(() => assert.fail(`#${id} stays empty; page log:\n${log.join('\n')}`));
    }
    assert.equal(await text(page, 'sum'), '42');
    assert.equal(await text(page, 'signal'), `from 1.0 ${pings}`);
    await page.close();
  });
});
