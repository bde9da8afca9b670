/**
 * `qi top` and `qi trace` as a user runs them: the real `qi` binary as a child process, against the
 * demo robot in another process, while this process calls the robot's services.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AnyProxy, Session as SessionType } from '../../src/index.js';
import { runQi, startDemoRobot, type QiResult } from '../helpers/demo-robot.js';

let url = '';
let session: SessionType;
const robot = startDemoRobot();
after(async () => {
  await session?.close();
  robot.stop();
});
before(async () => {
  url = await robot.url;
  const { Session } = await import('../../src/index.js');
  session = await Session.connect(url);
});

type Result = QiResult;
const qi = (...args: string[]): Promise<Result> => runQi(['--url', url, ...args], 20000);

/** Waits until `check` is true for every service (the CLI has turned its built-in on), at most 10 s. */
async function until(names: string[], check: (p: AnyProxy) => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (const name of names) {
    const p = await session.service(name);
    while (!(await check(p))) {
      if (Date.now() > deadline)
        throw new Error(`${name}: the qi child did not turn its statistics or trace on within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

interface TopRow {
  service: string;
  member: string;
  id: number;
  calls: number;
  wallMs: { min: number; mean: number; max: number; total: number };
}

describe('qi top', () => {
  it('--json: one snapshot of the calls per method with their times, and statistics off again after', async () => {
    const running = qi('--json', 'top', '--interval', '3', 'TextToSpeech', 'Cam*');
    await until(['TextToSpeech', 'Camera'], (p) => p.isStatsEnabled());
    const tts = await session.service('TextToSpeech');
    const cam = await session.service('Camera');
    await tts.say('hi');
    await tts.say('hello');
    for (let i = 0; i < 3; i++) await cam.getImage();
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    const snapshot = JSON.parse(r.stdout) as { interval: number; services: string[]; members: TopRow[] };
    assert.deepEqual(snapshot.services, ['TextToSpeech', 'Camera']);
    const say = snapshot.members.find((m) => m.service === 'TextToSpeech' && m.member === 'say')!;
    const get = snapshot.members.find((m) => m.service === 'Camera' && m.member === 'getImage')!;
    assert.deepEqual([say.calls, say.id, get.calls], [2, 100, 3]);
    // say takes 20 ms per character: 40 and 100 ms (wide margins only).
    assert.ok(say.wallMs.min >= 35 && say.wallMs.max >= 90 && say.wallMs.max < 5000, JSON.stringify(say.wallMs));
    assert.ok(Math.abs(say.wallMs.mean * 2 - say.wallMs.total) < 0.01);
    assert.equal(snapshot.members[0].member, 'say', 'sorted by time');
    assert.equal(await tts.isStatsEnabled(), false, 'qi top turned them on, so it turns them off');
  });

  it('prints a table per interval until --count', async () => {
    const running = qi('top', '--interval', '0.5', '--count', '2', '--sort', 'calls', 'Camera');
    await until(['Camera'], (p) => p.isStatsEnabled());
    await (await session.service('Camera')).getImage();
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.match(/^SERVICE +MEMBER +CALLS +CALLS\/S +MIN ms +MEAN ms +MAX ms +TOTAL ms +CPU ms$/gm)?.length,
      2,
      r.stdout,
    );
    assert.match(r.stdout, /^Camera +getImage +1 /m);
    assert.equal((await qi('top', '--sort', 'size', 'Camera')).code, 2);
  });
});

interface TraceLine {
  service: string;
  member: string;
  kind: string;
  id: number;
  args: unknown;
  durationMs?: number;
}

describe('qi trace', () => {
  it('--json: every call, signal, reply and error of a service, with durations, and trace off again after', async () => {
    const running = qi('--json', 'trace', '--count', '5', 'TextToSpeech');
    await until(['TextToSpeech'], (p) => p.isTraceEnabled());
    const tts = await session.service('TextToSpeech');
    await tts.say('hello');
    const abort = new AbortController();
    const interrupted = tts.say('a long sentence that is interrupted', abort.signal);
    setTimeout(() => abort.abort(), 100);
    await assert.rejects(interrupted);
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TraceLine);
    assert.deepEqual(
      lines.map((l) => `${l.kind} ${l.member}`),
      ['call say', 'signal done', 'reply say', 'call say', 'error say'],
    );
    assert.deepEqual(lines[0].args, ['hello']);
    assert.deepEqual(lines[1].args, ['hello']);
    assert.equal(lines[2].id, lines[0].id);
    assert.ok(lines[2].durationMs! >= 90 && lines[2].durationMs! < 5000, `say("hello") took ${lines[2].durationMs} ms`);
    assert.equal(lines[4].args, 'speech interrupted');
    assert.equal(await tts.isTraceEnabled(), false, 'qi trace turned it on, so it turns it off');
  });

  it('prints one abbreviated line per event, and stops after --time', async () => {
    const running = qi('trace', '--time', '2', 'Camera', 'TextToSpeech');
    await until(['Camera', 'TextToSpeech'], (p) => p.isTraceEnabled());
    await (await session.service('Camera')).getImage();
    await (await session.service('TextToSpeech')).say('x'.repeat(60));
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d\d:\d\d:\d\d\.\d{3} Camera\.getImage +call +#\d+ \(\)$/m);
    assert.match(
      r.stdout,
      /^\d\d:\d\d:\d\d\.\d{3} Camera\.getImage +reply +#\d+ \d+\.\d ms "\*\*UNSERIALIZABLE\*\*"$/m,
      'raw images are not copied into traces',
    );
    assert.match(r.stdout, /TextToSpeech\.say +call +#\d+ \("x{38}…\)$/m, 'a long argument is cut');
  });
});
