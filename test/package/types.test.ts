/**
 * The package's types compile in a fresh strict app, without skipLibCheck: the tarball of `npm pack`
 * unpacked in the app's node_modules beside its production dependencies (test/helpers/app.ts), and
 * tsc run over code importing 'qimessaging' and each of its subpaths ('qimessaging/wire', 'qimessaging/remote',
 * 'qimessaging/web', 'qimessaging/bridges').
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { packedApp, type App } from '../helpers/app.js';

/** Uses each entry point, so that every public declaration file is loaded and checked. */
const APP_SOURCE = `
import { Gateway, LocalObject, Session, defineObject, listenStandalone, method, t } from 'qimessaging';
import { HEADER_SIZE, FrameReader, type Channel } from 'qimessaging/wire';
import { DataChannelDuplex, DirectLink, XmppLink } from 'qimessaging/remote';
import { classicQiSession, webHandler } from 'qimessaging/web';
import { RosBridge } from 'qimessaging/bridges';

const Echo = defineObject({ methods: { echo: method([t.string], t.string) } });
const sd = await listenStandalone('tcp://127.0.0.1:0');
const url = sd.endpoints[0] ?? 'tcp://127.0.0.1:9559';
await sd.registerService('Echo', new LocalObject(Echo, { echo: (s) => s }));
const session: Session = await Session.connect(url);
const echo = await session.service<typeof Echo>('Echo');
const said: string = await echo.echo('hi');
const gw = await Gateway.start({ sd: url, listen: [], http: webHandler({ extra: [classicQiSession({ gateway: () => undefined })] }) });
const kinds: unknown[] = [DataChannelDuplex, DirectLink, XmppLink, RosBridge, FrameReader, HEADER_SIZE];
const channel: Channel | undefined = undefined;
console.log(said, kinds.length, channel);
await gw.close();
await session.close();
await sd.close();
`;

/** A Node app's settings: strict, ES2022 and Node's types, nothing relaxed. */
const node = {
  compilerOptions: {
    strict: true,
    module: 'nodenext',
    target: 'es2022',
    lib: ['es2022'],
    types: ['node'],
    noEmit: true,
  },
};
/** What `tsc --init` (TypeScript 5.9) writes, less skipLibCheck, for Node. */
const init = {
  compilerOptions: {
    module: 'nodenext',
    target: 'esnext',
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    noUncheckedSideEffectImports: true,
    moduleDetection: 'force',
    noEmit: true,
  },
};
/** Defaults: no lib (so the DOM's is in), no types (so every node_modules/@types package is in). */
const defaults = { compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', noEmit: true } };
const dom = { compilerOptions: { ...defaults.compilerOptions, lib: ['dom', 'es2022'] } };

/*
 * werift depends on mediabunny, which pins @types/dom-webcodecs 0.1.13; that version clashes with
 * TypeScript 5.9's lib.dom (DefinitelyTyped#74157, fixed in 0.1.19), and tsc loads every
 * node_modules/@types package by default. Our package.json depends on 0.1.19 exactly so that npm hoists
 * that one to the app's node_modules/@types (mediabunny's copy stays nested, unseen): the two tests
 * with default settings check it.
 */

let app: App;
before(async () => {
  app = await packedApp();
  app.write({ 'index.ts': APP_SOURCE });
});
after(() => app?.remove());

/** One tsc run per settings, shared by the tests that look at its errors. */
const runs = new Map<object, Promise<string[]>>();
const errorsWith = (settings: object) =>
  runs.get(settings) ?? (runs.set(settings, app.tsc(settings)), runs.get(settings)!);

describe('the packed package in a strict app (no skipLibCheck)', () => {
  it('a Node app (lib es2022, types node) compiles with zero errors', async () => {
    assert.deepEqual(await errorsWith(node), []);
  });

  it("tsc --init's settings (noUncheckedIndexedAccess, exactOptionalPropertyTypes) without skipLibCheck: zero errors", async () => {
    assert.deepEqual(await errorsWith(init), []);
  });

  it('default settings (no lib, every @types package): zero errors', async () => {
    assert.deepEqual(await errorsWith(defaults), []);
  });

  it('lib dom + es2022: zero errors', async () => {
    assert.deepEqual(await errorsWith(dom), []);
  });
});
