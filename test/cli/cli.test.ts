/** The real `qi` binary, spawned against a real bus (the demo robot) in another process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { QI, runQi, startDemoRobot, type QiResult } from '../helpers/demo-robot.js';
import { until } from '../helpers/until.js';

/** `qi --json watch` started and live: `--json` says on stderr when it is (no fixed wait on a slow machine). */
async function liveWatch(url: string, ...targets: string[]) {
  const child = spawn(process.execPath, [QI, '--url', url, '--json', 'watch', ...targets, '--time', '60']);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  await until(() => stderr.includes('\n') || child.exitCode !== null, 'qi watch to say it is live', 30_000);
  return { child, exited, status: stderr.split('\n')[0], stdout: () => stdout, stderr: () => stderr };
}

let url = '';
const robot = startDemoRobot();
after(() => {
  robot.stop();
});
before(async () => {
  url = await robot.url;
});

type Result = QiResult;
const qi = (...args: string[]): Promise<Result> => runQi(args, 15000);

describe('qi', () => {
  it('lists services, as text and as JSON', async () => {
    const text = await qi('--url', url, 'services');
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^ {2}2 TextToSpeech/m);
    const json = await qi('--url', url, '--json', 'services');
    assert.deepEqual(
      (JSON.parse(json.stdout) as { name: string }[]).map((s) => s.name),
      ['ServiceDirectory', 'TextToSpeech', 'Battery', 'Camera', 'LogManager'],
    );
  });

  it('shows members with signatures and descriptions; --hidden adds the built-ins', async () => {
    const r = await qi('--url', url, 'info', 'TextToSpeech');
    assert.match(r.stdout, /method +100 say\(s\) -> v {2}\(text\) {2}Says the text/);
    assert.match(r.stdout, /signal +101 done\(s\)/);
    assert.match(r.stdout, /property 103 volume f/);
    assert.doesNotMatch(r.stdout, /registerEvent/);
    assert.match(
      (await qi('--url', url, 'info', '--hidden', 'TextToSpeech')).stdout,
      /method +0 registerEvent\(IIL\) -> L/,
    );
    const [battery] = JSON.parse((await qi('--url', url, '--json', 'info', 'Battery')).stdout) as {
      name: string;
      properties: { name: string; signature: string }[];
      signals: { name: string }[];
    }[];
    assert.deepEqual(
      battery.properties.map((p) => `${p.name}:${p.signature}`),
      ['charge:i', 'charging:b'],
    );
    assert.deepEqual(
      battery.signals.map((x) => x.name),
      ['lowBattery'],
    );
  });

  it("takes patterns in info and shows each service's machine", async () => {
    const r = await qi('--url', url, '--json', 'info', 'T*', 'Cam?ra');
    assert.deepEqual(
      (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name),
      ['TextToSpeech', 'Camera'],
    );
    assert.equal((await qi('--url', url, 'info', 'Nothing*')).code, 2);
    assert.match((await qi('--url', url, 'services')).stdout, /TextToSpeech +machine [0-9a-f]{8} pid \d+/);
  });

  it('waits for a service that is not there yet with --wait', async () => {
    const { Session, LocalObject } = await import('../../src/index.js');
    const { TextToSpeech } = await import('../../examples/demo-services.js');
    const calling = qi('--url', url, '--wait', '10', 'call', 'LateSpeaker.say', 'finally');
    await new Promise((r) => setTimeout(r, 800));
    const said: string[] = [];
    const provider = await Session.connect(url);
    await provider.registerService(
      'LateSpeaker',
      new LocalObject(TextToSpeech, { say: (text) => void said.push(text) }),
    );
    try {
      assert.equal((await calling).code, 0);
      assert.deepEqual(said, ['finally']);
      const late = await qi('--url', url, '--wait', '0.3', 'call', 'NeverThere.say', 'x');
      assert.equal(late.code, 1);
      assert.match(late.stderr, /Service "NeverThere" did not appear within 300 ms/);
    } finally {
      await provider.close();
    }
  });

  it('calls methods with JSON-like arguments and prints results', async () => {
    assert.deepEqual(await qi('--url', url, 'call', 'TextToSpeech.say', 'hello'), { code: 0, stdout: '', stderr: '' });
    const image = JSON.parse((await qi('--url', url, '--json', 'call', 'Camera.getImage')).stdout) as {
      width: number;
      data: { base64: string };
    };
    assert.equal(image.width, 320);
    assert.equal(Buffer.from(image.data.base64, 'base64').length, 320 * 240);
  });

  it('posts to a signal', async () => {
    assert.equal((await qi('--url', url, 'post', 'TextToSpeech.done', '"from the command line"')).code, 0);
  });

  it('exits 2 on bad usage or arguments that do not fit, with a message that says why', async () => {
    const wrong = await qi('--url', url, 'call', 'TextToSpeech.say', '42');
    assert.equal(wrong.code, 2);
    assert.match(
      wrong.stderr,
      /^qi: TextToSpeech\.say argument 1 \(text\) is a string \(signature s\): expected a string/,
    );
    const nope = await qi('--url', url, 'call', 'TextToSpeech.shout', 'x');
    assert.equal(nope.code, 2);
    assert.match(nope.stderr, /TextToSpeech has no method "shout"/);
    assert.equal((await qi('--url', url, 'call', 'NoDot')).code, 2);
    assert.equal((await qi('frobnicate')).code, 2);
  });

  it('exits 2 for an unknown service, as for any unknown name (more in output.test.ts)', async () => {
    const r = await qi('--url', url, '--json', 'call', 'Nope.x');
    assert.equal(r.code, 2);
    assert.deepEqual(JSON.parse(r.stderr), {
      error: 'no service "Nope" (qi services lists them)',
      code: 'ERR_QI_USAGE',
    });
  });

  it('exits 3 when it cannot connect, and says what to try', async () => {
    const r = await qi('--url', 'tcp://127.0.0.1:1', 'services');
    assert.equal(r.code, 3);
    assert.match(r.stderr, /nothing listens there/);
  });

  it('gets and sets properties', async () => {
    assert.equal((await qi('--url', url, 'set', 'TextToSpeech.language', 'French')).code, 0);
    assert.equal((await qi('--url', url, 'get', 'TextToSpeech.language')).stdout.trim(), 'French');
    const charge = await qi('--url', url, '--json', 'get', 'Battery.charge');
    assert.ok(Number.isInteger(JSON.parse(charge.stdout)) && JSON.parse(charge.stdout) <= 100, charge.stdout);
    const bad = await qi('--url', url, 'set', 'TextToSpeech.volume', '"loud"');
    assert.equal(bad.code, 2, 'a value that does not fit the property type is a bad argument, caught before sending');
    assert.match(bad.stderr, /expected a number \(float\)/);
  });

  it('watches signals and property changes, one JSON line each, until Ctrl-C', async () => {
    const w = await liveWatch(url, 'TextToSpeech.done', 'TextToSpeech.volume');
    assert.deepEqual(JSON.parse(w.status), {
      status: 'watching',
      message: 'watching TextToSpeech.done, TextToSpeech.volume',
    });
    await qi('--url', url, 'call', 'TextToSpeech.say', 'watched');
    await qi('--url', url, 'set', 'TextToSpeech.volume', '0.5');
    await until(() => w.stdout().split('\n').length > 2, 'both emissions printed');
    w.child.kill('SIGINT');
    assert.equal(await w.exited, 0);
    const lines = w
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { signal: string; args: unknown[] });
    assert.deepEqual(lines, [
      { service: 'TextToSpeech', signal: 'done', args: ['watched'] },
      { service: 'TextToSpeech', signal: 'volume', args: [0.5] },
    ]);
  });

  it('ends a watch with exit code 1 when the watched service disappears', async () => {
    const sd = spawn(process.execPath, [QI, '--json', 'sd', '--listen', 'tcp://127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve) => sd.stdout.once('data', (d) => resolve(String(d))));
    const endpoint = (JSON.parse(line) as { endpoints: string[] }).endpoints.find((e) => e.startsWith('tcp:'))!;
    const { Session, LocalObject } = await import('../../src/index.js');
    const { TextToSpeech } = await import('../../examples/demo-services.js');
    const provider = await Session.connect(endpoint);
    await provider.registerService('Speaker', new LocalObject(TextToSpeech, { say: () => {} }));
    try {
      const w = await liveWatch(endpoint, 'Speaker.done');
      await provider.close();
      assert.equal(await w.exited, 1);
      assert.match(w.stderr(), /service Speaker went away while it was watched/);
    } finally {
      sd.kill('SIGINT');
    }
  });

  it('runs a standalone ServiceDirectory', async () => {
    const sd = spawn(process.execPath, [QI, '--json', 'sd', '--listen', 'tcp://127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve) => sd.stdout.once('data', (d) => resolve(String(d))));
      const endpoint = (JSON.parse(line) as { endpoints: string[] }).endpoints.find((e) => e.startsWith('tcp:'))!;
      const r = await qi('--url', endpoint, '--json', 'services');
      assert.deepEqual(
        (JSON.parse(r.stdout) as { name: string }[]).map((s) => s.name),
        ['ServiceDirectory', 'LogManager'],
      );
    } finally {
      sd.kill('SIGINT');
    }
  });
});
