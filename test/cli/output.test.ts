/**
 * What `qi` says and prints, run as a user runs it (child processes against the demo robot): one rule
 * for unknown names (exit 2, close names, `qi services`), encoding errors that name the member and its
 * type, float32 values at float32 precision, raw bytes summarized, `--version`, unknown verbs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runQi, startDemoRobot, type QiResult } from '../helpers/demo-robot.js';

const robot = startDemoRobot();
let url = '';
after(() => {
  robot.stop();
});
before(async () => {
  url = await robot.url;
});

type Result = QiResult;
const run = (...args: string[]): Promise<Result> => runQi(args, 15000);
const qi = (...args: string[]) => run('--url', url, ...args);

describe('qi names, values and output', () => {
  it('an unknown service is a usage error (exit 2) with close names and `qi services`, for every verb and for patterns', async () => {
    for (const args of [
      ['info', 'TextToSpech'],
      ['info', 'TextToSpech*'],
      ['call', 'TextToSpech.say', 'hi'],
      ['post', 'TextToSpech.done', 'x'],
      ['get', 'TextToSpech.volume'],
      ['set', 'TextToSpech.volume', '0.5'],
      ['watch', 'TextToSpech.done', '--time', '1'],
    ]) {
      const r = await qi(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(
        r.stderr,
        /no service "?TextToSpech\*?"?.*did you mean: TextToSpeech\?.*qi services/,
        args.join(' '),
      );
      assert.doesNotMatch(r.stderr, /in index|ServiceDirectory\.service/, "not libqi's raw text");
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    const far = await qi('--json', 'call', 'Nope.x');
    assert.equal(far.code, 2);
    const e = JSON.parse(far.stderr) as { error: string; code: string };
    assert.equal(e.code, 'ERR_QI_USAGE');
    assert.match(e.error, /no service "Nope".*qi services/);
    assert.doesNotMatch(e.error, /did you mean/, 'nothing close to Nope');
    assert.doesNotMatch(e.error, /127\.0\.0\.1/);
  });

  it('an unknown member says which kinds the verb takes, with close names', async () => {
    const call = await qi('call', 'TextToSpeech.sya', 'hi');
    assert.equal(call.code, 2);
    assert.match(call.stderr, /TextToSpeech has no method "sya"; did you mean: say\?/);
    const post = await qi('post', 'TextToSpeech.don', 'x');
    assert.equal(post.code, 2);
    assert.match(post.stderr, /TextToSpeech has no method or signal "don"; did you mean: done\?/);
    const get = await qi('get', 'TextToSpeech.volum');
    assert.equal(get.code, 2);
    assert.match(get.stderr, /TextToSpeech has no property "volum"; did you mean: volume\?/);
    const watch = await qi('watch', 'Battery.lowBatery', '--time', '1');
    assert.equal(watch.code, 2);
    assert.match(watch.stderr, /Battery has no signal or property "lowBatery"; did you mean: lowBattery\?/);
  });

  it('a value that does not fit names the property or parameter and its type, not the wire tuple', async () => {
    const set = await qi('set', 'TextToSpeech.volume', 'loud');
    assert.equal(set.code, 2);
    assert.match(set.stderr, /TextToSpeech\.volume is a float/);
    assert.match(set.stderr, /expected a number \(float\), got string "loud"/);
    assert.doesNotMatch(set.stderr, /args\[1\]|\(mm\)/);
    const say = await qi('call', 'TextToSpeech.say', '42');
    assert.equal(say.code, 2);
    assert.match(say.stderr, /TextToSpeech\.say argument 1 \(text\) is a string/);
    assert.match(say.stderr, /to pass "42" as a string, quote it: '"42"'/);
    assert.equal((await qi('call', 'TextToSpeech.say', '"42"')).code, 0, 'the way the message says works');
  });

  it('prints float32 values at float32 precision, as text and as JSON', async () => {
    assert.equal((await qi('set', 'TextToSpeech.volume', '0.3')).code, 0);
    assert.equal((await qi('get', 'TextToSpeech.volume')).stdout, '0.3\n');
    assert.equal((await qi('--json', 'get', 'TextToSpeech.volume')).stdout, '0.3\n');
    assert.equal((await qi('set', 'TextToSpeech.volume', '16777216')).code, 0);
    assert.equal(
      (await qi('get', 'TextToSpeech.volume')).stdout,
      '16777216\n',
      'shortest text that is the same float32, not 7 digits',
    );
  });

  it('summarizes raw bytes in human output; --json keeps them', async () => {
    const r = await qi('call', 'Camera.getImage');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /<raw 76,800 bytes>/);
    assert.ok(r.stdout.length < 300, `short: ${r.stdout.length} characters`);
    const json = JSON.parse((await qi('--json', 'call', 'Camera.getImage')).stdout) as { data: { base64: string } };
    assert.equal(Buffer.from(json.data.base64, 'base64').length, 76_800);
  });

  it('--version and -V print the version; an unknown verb or option is told in a line or two with close names, not the whole help', async () => {
    const { version } = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8'),
    ) as { version: string };
    assert.deepEqual(await run('--version'), { code: 0, stdout: `${version}\n`, stderr: '' });
    assert.deepEqual(await run('-V'), { code: 0, stdout: `${version}\n`, stderr: '' });
    const verb = await run('servics');
    assert.equal(verb.code, 2);
    assert.equal(verb.stdout, '');
    assert.match(verb.stderr, /^qi: unknown verb "servics"; did you mean: services\? \(qi --help lists the verbs\)\n$/);
    const option = await run('--verison');
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option '--verison'\n\(Did you mean --version\?\)/);
    assert.doesNotMatch(option.stderr, /Usage:/, 'a hint, not the whole help');
    const far = await run('frobnicate');
    assert.equal(far.code, 2);
    assert.match(far.stderr, /^qi: unknown verb "frobnicate" \(qi --help lists the verbs\)\n$/);
  });
});
