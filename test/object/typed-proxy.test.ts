/**
 * Typed proxies: a proxy typed by a definition exposes only its members with their argument types
 * (checked by compiling fixtures/typed-proxy-usage.ts with the project's compiler options), and a call
 * with the wrong number of arguments is a QiError with a code, over a socket and in-process alike.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { QiError, Session, listenStandalone } from '../../src/index.js';
import { battery, textToSpeech } from '../../examples/demo-services.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = `${root}test/object/fixtures/typed-proxy-usage.ts`;

describe('typed proxies', () => {
  it('expose only the members of their definition, with their argument types; untyped proxies stay open', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      `${root}tsconfig.json`,
      {},
      { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) },
    )!;
    const program = ts.createProgram([fixture], { ...config.options, noEmit: true });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => {
      const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return `${d.file?.fileName.slice(root.length) ?? ''}:${at ? at.line + 1 : '?'} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    assert.deepEqual(problems, [], 'each @ts-expect-error line is an error, every other line compiles');
  });
});

describe('wrong argument counts', () => {
  const sd = listenStandalone(['tcp://127.0.0.1:0']);
  after(async () => (await sd).close());

  async function expectCountError(call: Promise<unknown>, given: number) {
    const e = await call.then(
      () => assert.fail('the call succeeded'),
      (e: unknown) => e,
    );
    assert.ok(e instanceof QiError, `a QiError, not ${(e as Error).constructor.name}: ${(e as Error).message}`);
    assert.equal(e.code, 'ERR_QI_VALUE');
    assert.match(e.message, new RegExp(`TextToSpeech\\.say takes 1 argument\\(s\\), got ${given} \\(say\\(s\\)\\)`));
  }

  it('reject with a QiError naming the method, its signature and what was given, over a socket', async () => {
    const server = await sd;
    await server.registerService('TextToSpeech', textToSpeech());
    const session = await Session.connect(server.endpoints.find((e) => e.startsWith('tcp:')));
    try {
      const tts = await session.service('TextToSpeech');
      await expectCountError(tts.say(), 0);
      await expectCountError(tts.say('a', 'b', 'c'), 3);
    } finally {
      await session.close();
    }
  });

  it('reject the same way in-process', async () => {
    const session = await Session.connect((await sd).endpoints.find((e) => e.startsWith('tcp:')));
    try {
      await session.registerService('Speaker', textToSpeech());
      await session.registerService('Cell', battery(60_000));
      const speaker = await session.service('Speaker');
      const e = await speaker.say().then(
        () => assert.fail('the call succeeded'),
        (e: unknown) => e,
      );
      assert.ok(e instanceof QiError && e.code === 'ERR_QI_VALUE', String(e));
      assert.match(e.message, /Speaker\.say takes 1 argument\(s\), got 0 \(say\(s\)\)/);
      assert.equal(speaker.shout, undefined, 'a missing member of an untyped proxy is undefined, as in JS');
    } finally {
      await session.close();
    }
  });
});
