/**
 * What `import … from 'qimessaging'` costs: the root entry loads no package that only some features need
 * (XMPP, WebRTC, socket.io, ROS) and none of the remote, bridge, web or CLI modules, yet `xmpp://` URLs
 * still work from it (their dialer is loaded on first use). Each check runs a fresh Node process with a
 * module resolution hook that reports every module it loads and can make packages look uninstalled.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { QiError } from '../../src/index.js';
import { importFirst, requireOptional } from '../../src/errors/optional.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../src/index.js', import.meta.url));

/**
 * Imports the entry (argv[2]) with the packages named in argv[3] (comma-separated) unresolvable, runs
 * the scenario argv[4] (`none` or `use`), and prints what got loaded: packages under node_modules and the
 * folders of dist/src, with the scenario's results.
 */
const PROBE = String.raw`
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
const [entry, blocked = '', scenario = 'none'] = process.argv.slice(2);
const { port1, port2 } = new MessageChannel();
const hook = ${'`'}
let port, blocked;
export function initialize(data) { port = data.port; blocked = data.blocked; }
export async function resolve(specifier, context, next) {
  if (specifier === 'qi-probe:done') { port.postMessage(null); return { url: 'data:text/javascript,', shortCircuit: true }; }
  if (blocked.includes(specifier)) {
    const e = new Error("Cannot find package '" + specifier + "' imported from " + context.parentURL);
    e.code = 'ERR_MODULE_NOT_FOUND';
    throw e;
  }
  const r = await next(specifier, context);
  port.postMessage(r.url);
  return r;
}${'`'};
register('data:text/javascript,' + encodeURIComponent(hook), {
  data: { port: port2, blocked: blocked ? blocked.split(',') : [] },
  transferList: [port2],
});
const urls = new Set();
const done = new Promise((resolve) => port1.on('message', (u) => (u === null ? resolve() : urls.add(u))));
const qi = await import(pathToFileURL(entry).href);
const results = {};
if (scenario === 'use') {
  const sd = await qi.listenStandalone('tcp://127.0.0.1:0');
  const session = await qi.Session.connect(sd.endpoints[0]);
  results.tcp = (await session.services()).map((s) => s.name);
  await session.close();
  await sd.close();
  const xmpp = { service: 'xmpp://127.0.0.1:1', jid: 'me@example.org', password: 'x' };
  try {
    await qi.Session.connect('xmpp://robot@example.org', { transports: { xmpp }, reconnect: false });
    results.xmpp = 'connected';
  } catch (e) {
    results.xmpp = { name: e.name, code: e.code, message: e.message };
  }
}
await import('qi-probe:done'); // the hook's messages are in order: every module before this one is in
await done;
port1.close();
for (const f of Object.keys(createRequire(import.meta.url).cache)) urls.add(pathToFileURL(f).href);
const packages = new Set();
const folders = new Set();
for (const u of urls) {
  const p = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
  if (p) packages.add(p[1]);
  const s = /\/dist\/src\/(?:([^/]+)\/)?(?:[^/]+\/)*[^/]+\.js$/.exec(u);
  if (s) folders.add(s[1] ?? '(root)');
}
console.log(JSON.stringify({ packages: [...packages].sort(), folders: [...folders].sort(), results }));
`;

interface Probe {
  packages: string[];
  folders: string[];
  results: { tcp?: string[]; xmpp?: string | { name: string; code: string; message: string } };
}

const dir = mkdtempSync(join(tmpdir(), 'qi-root-import-'));
const probeFile = join(dir, 'probe.mjs');
writeFileSync(probeFile, PROBE);

async function probe(blocked: string[] = [], scenario: 'none' | 'use' = 'none'): Promise<Probe> {
  const { stdout } = await run(process.execPath, [probeFile, ROOT, blocked.join(','), scenario], {
    timeout: 60_000,
    env: { ...process.env, QI_XMPP_SERVICE: '', QI_XMPP_JID: '', QI_XMPP_PASSWORD: '' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Probe;
}

/** Packages only some features need: none may load with the root. */
const FEATURE_PACKAGES = [
  '@xmpp/client',
  'werift',
  'node-datachannel',
  'socket.io',
  'socket.io-client',
  'roslib',
  'commander',
];
/** Folders of src/ that a root import must not load (their features are subpaths or loaded on first use). */
const FEATURE_FOLDERS = ['remote', 'bridges', 'web', 'cli'];

describe('importing the root entry', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads only the core: the ws package (ws:// and wss:// endpoints), none that a feature needs', async () => {
    const p = await probe();
    // ws: transport/websocket.ts serves and dials ws:// and wss://, which listeners and the gateway use.
    assert.deepEqual(p.packages, ['ws']);
    for (const name of FEATURE_PACKAGES) assert.ok(!p.packages.some((x) => x === name || x.startsWith('@xmpp/')), name);
    assert.ok(p.folders.includes('session') && p.folders.includes('transport'), p.folders.join(', '));
  });

  it('loads no module of src/remote, src/bridges, src/web or src/cli', async () => {
    const p = await probe();
    for (const folder of FEATURE_FOLDERS) assert.ok(!p.folders.includes(folder), `src/${folder} was loaded`);
  });

  it('without @xmpp/client installed: tcp sessions work, and xmpp:// says which package to install', async () => {
    const p = await probe(['@xmpp/client'], 'use');
    assert.deepEqual(p.results.tcp, ['ServiceDirectory']);
    assert.deepEqual(p.results.xmpp, {
      name: 'QiError',
      code: 'ERR_QI_CONFIG',
      message: 'XMPP needs the package @xmpp/client: npm install @xmpp/client',
    });
  });

  it('with @xmpp/client installed, xmpp:// loads the XMPP transport on first use', async () => {
    const p = await probe([], 'use');
    assert.deepEqual(p.results.tcp, ['ServiceDirectory']);
    assert.ok(p.folders.includes('remote') && p.packages.includes('@xmpp/client'), JSON.stringify(p));
    // No server listens at 127.0.0.1:1: the XMPP transport itself reports it.
    assert.equal(typeof p.results.xmpp, 'object');
    assert.equal((p.results.xmpp as { code: string }).code, 'ERR_QI_CONNECT');
  });
});

describe('optional packages', () => {
  it('a missing package loaded synchronously is a QiError naming it and the command', () => {
    assert.throws(
      () => requireOptional('Some feature', 'qi-no-such-package', (require) => require('qi-no-such-package')),
      (e: unknown) =>
        e instanceof QiError &&
        e.code === 'ERR_QI_CONFIG' &&
        e.message === 'Some feature needs the package qi-no-such-package: npm install qi-no-such-package',
    );
  });

  it('of packages that serve one feature, the first that loads is used; none is a QiError naming them all', async () => {
    const missing = (name: string) => () =>
      Promise.reject(Object.assign(new Error(`Cannot find package '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' }));
    const broken = () => Promise.reject(new Error('no prebuilt binary for this platform'));
    assert.equal(
      await importFirst('ICE', [
        { name: 'native', load: broken },
        { name: 'fallback', load: () => Promise.resolve('fallback loaded') },
      ]),
      'fallback loaded',
    );
    await assert.rejects(
      importFirst('ICE', [
        { name: 'native', load: broken },
        { name: 'fallback', load: missing('fallback') },
      ]),
      (e: unknown) =>
        e instanceof QiError &&
        e.code === 'ERR_QI_CONFIG' &&
        e.message ===
          'ICE needs one of the packages native, fallback, and none loads here: npm install native or fallback',
    );
  });
});
