/**
 * `qi log` and `qi log-send` as a user runs them: child processes against the demo robot in another
 * process, whose LogManager also carries the robot's own records.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LocalObject, defineObject, listenStandalone, method, property, signal, t } from '../../src/index.js';
import { QI, runQi, startDemoRobot, type QiResult } from '../helpers/demo-robot.js';

let url = '';
const robot = startDemoRobot();
after(() => {
  robot.stop();
});
before(async () => {
  url = await robot.url;
});

type Result = QiResult;
const qi = (...args: string[]): Promise<Result> => runQi(args, 20000);

/** Runs `qi log …` while sending records with `qi log-send` (again and again, until the viewer has seen them). */
async function viewWhileSending(view: string[], sends: string[][]): Promise<Result> {
  const viewing = qi('--url', url, ...view);
  let done = false;
  void viewing.then(() => (done = true));
  for (let round = 0; round < 40 && !done; round++) {
    for (const s of sends) if (!done) assert.equal((await qi('--url', url, 'log-send', ...s)).code, 0);
    await new Promise((r) => setTimeout(r, 100));
  }
  return viewing;
}

const lines = (r: Result) =>
  r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('qi log', () => {
  it('keeps showing records after garbage collections (it holds its listener; a dropped one is released)', async () => {
    const GC = fileURLToPath(new URL('../log/gc-often.js', import.meta.url));
    const viewing = new Promise<Result>((resolve) => {
      execFile(
        process.execPath,
        ['--import', GC, QI, '--url', url, '--json', 'log', '--category', 'gc.*', '--count', '3', '--time', '12'],
        { timeout: 20_000 },
        (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    let done = false;
    void viewing.then(() => (done = true));
    for (let i = 0; i < 30 && !done; i++) {
      assert.equal((await qi('--url', url, 'log-send', '--category', 'gc.test', `record ${i}`)).code, 0);
      await new Promise((r) => setTimeout(r, 150));
    }
    const r = await viewing;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(r).length, 3, `records shown: ${r.stdout}`);
  });

  it('shows a record sent by qi log-send, with its level, category, location and time (--json, --count)', async () => {
    const before = Date.now();
    const r = await viewWhileSending(
      ['--json', 'log', '--category', 'test.*', '--count', '1', '--time', '15'],
      [['--level', 'warning', '--category', 'test.cli', 'hello from the test']],
    );
    assert.equal(r.code, 0, r.stderr);
    const [rec, ...more] = lines(r);
    assert.equal(more.length, 0);
    assert.equal(rec.level, 'warning');
    assert.equal(rec.levelNumber, 3);
    assert.equal(rec.category, 'test.cli');
    assert.equal(rec.message, 'hello from the test');
    assert.equal(rec.source, 'qi log-send');
    assert.match(String(rec.location), /^[0-9a-f-]+:\d+$/);
    assert.ok(
      Date.parse(String(rec.time)) >= before - 1000 && Date.parse(String(rec.time)) <= Date.now() + 1000,
      String(rec.time),
    );
  });

  it('filters by level: --level error shows errors, not warnings', async () => {
    const r = await viewWhileSending(
      ['--json', 'log', '--level', 'error', '--category', 'lvl.*', '--count', '2', '--time', '15'],
      [
        ['--level', 'warning', '--category', 'lvl.a', 'a warning'],
        ['--level', 'error', '--category', 'lvl.a', 'an error'],
      ],
    );
    assert.equal(r.code, 0, r.stderr);
    const recs = lines(r);
    assert.equal(recs.length, 2);
    for (const rec of recs) assert.deepEqual([rec.level, rec.message], ['error', 'an error']);
  });

  it('filters by category pattern: other categories are not shown', async () => {
    const r = await viewWhileSending(
      ['--json', 'log', '--category', 'cat.keep.*', '--count', '2', '--time', '15'],
      [
        ['--category', 'cat.other', 'not this'],
        ['--category', 'cat.keep.x', 'this one'],
      ],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      lines(r).map((x) => `${x.category} ${x.message}`),
      ['cat.keep.x this one', 'cat.keep.x this one'],
    );
  });

  it("shows the robot's own services' records (the logger API, in the SD's process)", async () => {
    const r = await qi('--url', url, '--json', 'log', '--category', 'demo.*', '--count', '1', '--time', '15');
    assert.equal(r.code, 0, r.stderr);
    const [rec] = lines(r);
    assert.equal(rec.category, 'demo.battery');
    assert.match(String(rec.message), /charge \d+%/);
  });

  it('prints text lines without colors or raw control characters when not on a terminal', async () => {
    const r = await viewWhileSending(
      ['log', '--category', 'txt', '--count', '1', '--time', '15'],
      [['--level', 'error', '--category', 'txt', 'red \x1b[31malert']],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} E txt: red \\x1b\[31malert \[qi log-send\]\n$/);
    assert.doesNotMatch(r.stdout, /\x1b/);
  });

  it('stops after --time with nothing to show, exit code 0', async () => {
    const r = await qi('--url', url, 'log', '--category', 'nothing.here', '--time', '0.5');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
  });

  it('rejects an unknown level with exit code 2, naming the levels', async () => {
    for (const verb of [
      ['log', '--level', 'loud'],
      ['log-send', '--level', 'loud', 'x'],
    ]) {
      const r = await qi('--url', url, ...verb);
      assert.equal(r.code, 2);
      assert.match(
        r.stderr,
        /unknown log level "loud": use one of silent, fatal, error, warning, info, verbose, debug/,
      );
    }
  });

  it('ends with exit code 1, saying what was lost, when the robot stops (qi sd and its LogManager)', async () => {
    const sd = spawn(process.execPath, [QI, '--json', 'sd', '--listen', 'tcp://127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let viewer: ChildProcess | undefined;
    try {
      const sdUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('qi sd did not start')), 10_000);
        sd.stdout.once('data', (d) =>
          resolve((clearTimeout(timer), (JSON.parse(String(d)) as { endpoints: string[] }).endpoints[0])),
        );
      });
      const started = Date.now();
      viewer = spawn(process.execPath, [QI, '--url', sdUrl, 'log', '--time', '15'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const v = viewer;
      let out = '';
      let err = '';
      v.stdout!.on('data', (d) => (out += d));
      v.stderr!.on('data', (d) => (err += d));
      const viewing = new Promise<Result>((resolve) =>
        v.once('exit', (code) => resolve({ code: code ?? 1, stdout: out, stderr: err })),
      );
      // Stop the robot once qi log is reading: it has shown a record.
      for (let i = 0; i < 40 && out === ''; i++) {
        await qi('--url', sdUrl, 'log-send', 'are you there');
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(out, /are you there/);
      sd.kill('SIGKILL');
      const r = await viewing;
      assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, /lost the connection to the ServiceDirectory/);
      assert.ok(Date.now() - started < 14_000, 'ended when the robot stopped, not at --time');
    } finally {
      sd.kill('SIGKILL');
      viewer?.kill('SIGKILL');
    }
  });

  it('says so, exit code 1, when the bus has no LogManager', async () => {
    const bare = await listenStandalone('tcp://127.0.0.1:0');
    try {
      const r = await qi('--url', bare.endpoints[0], 'log', '--time', '1');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /this bus has no LogManager service/);
      assert.doesNotMatch(r.stderr, /127\.0\.0\.1:\d+/);
    } finally {
      await bare.close();
    }
  });
});

/**
 * LogMessage of libqicore before its dates (2014-2015: `qi::os::timeval timestamp` after the level,
 * qicore/logmessage.hpp at 76f581c), as older NAOqi serve it; the interface is the same.
 */
const OldMessage = t.sig<{
  source: string;
  level: number;
  timestamp: { tv_sec: bigint; tv_usec: bigint };
  category: string;
  location: string;
  message: string;
  id: number;
}>('(si(ll)<timeval,tv_sec,tv_usec>sssI)<LogMessage,source,level,timestamp,category,location,message,id>');
const OldListener = defineObject({
  methods: { setLevel: method([t.int32]), addFilter: method([t.string, t.int32]), clearFilters: method([]) },
  signals: {
    onLogMessage: signal([OldMessage]),
    onLogMessages: signal([t.list(OldMessage)]),
    onLogMessagesWithBacklog: signal([t.list(OldMessage)]),
  },
  properties: { logLevel: property(t.int32, { initial: 4 }) },
});
const OldManager = defineObject({
  methods: {
    log: method([t.list(OldMessage)]),
    createListener: method([], t.object),
    getListener: method([], t.object),
    addProvider: method([t.object], t.int32),
    removeProvider: method([t.int32]),
  },
});

describe('qi log against an older NAOqi LogManager (records with a timeval timestamp)', () => {
  it('qi log-send sends a record it accepts, and qi log prints its records with their time', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0');
    const received: { message: string; timestamp: { tv_sec: bigint } }[] = [];
    const listener = new LocalObject(OldListener, { setLevel: () => {}, addFilter: () => {}, clearFilters: () => {} });
    await sd.registerService(
      'LogManager',
      new LocalObject(OldManager, {
        log: (records) => void received.push(...records),
        createListener: () => listener,
        getListener: () => listener,
        addProvider: () => 1,
        removeProvider: () => {},
      }),
    );
    try {
      const sent = await qi('--url', sd.endpoints[0], 'log-send', '--category', 'old.robot', 'to an old robot');
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal(received[0]?.message, 'to an old robot');
      assert.ok(
        Math.abs(Number(received[0].timestamp.tv_sec) - Date.now() / 1000) < 60,
        String(received[0].timestamp.tv_sec),
      );
      const viewing = qi('--url', sd.endpoints[0], '--json', 'log', '--count', '1', '--time', '15');
      const old = {
        source: 'ALMotion',
        level: 3,
        timestamp: { tv_sec: 1_700_000_000n, tv_usec: 250_000n },
        category: 'ALMotion.x',
        location: 'nao:1',
        message: 'stiffness off',
        id: 9,
      };
      for (let i = 0; i < 100; i++) {
        listener.emit('onLogMessage', old);
        if (await Promise.race([viewing.then(() => true), new Promise((r) => setTimeout(() => r(false), 100))])) break;
      }
      const r = await viewing;
      assert.equal(r.code, 0, r.stderr);
      const [rec] = lines(r);
      assert.deepEqual(
        [rec.time, rec.level, rec.category, rec.message, rec.source],
        ['2023-11-14T22:13:20.250Z', 'warning', 'ALMotion.x', 'stiffness off', 'ALMotion'],
      );
    } finally {
      await sd.close();
    }
  });
});
