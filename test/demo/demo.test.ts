/**
 * The demo robot as a user meets it: `npm start` and `node dist/examples/robot.js` in child processes,
 * its banner's commands run one by one, its battery and camera watched through a real Session.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Session, certificateFingerprint, listenStandalone, userTokenAuthenticator } from '../../src/index.js';
import { testCerts } from '../helpers/certs.js';
import { browserSkip } from '../helpers/browser.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const QI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ROBOT = fileURLToPath(new URL('../../examples/robot.js', import.meta.url));
const quiet = { QI_LISTEN: 'tcp://127.0.0.1:0', QI_GATEWAY: 'off', QI_WEB: 'off' };

interface Started {
  child: ChildProcess;
  out: () => string;
  /** Resolves with all output once `pattern` appears; rejects after `ms` with what was printed. */
  waitFor(pattern: RegExp, ms: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}
const started: ChildProcess[] = [];
after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) process.kill(-c.pid!, 'SIGKILL');
});

/** Starts a command in its own process group (as a terminal does), so that a Ctrl-C reaches all of it. */
function run(command: string, args: string[], env: Record<string, string>): Started {
  const child = spawn(command, args, {
    cwd: root,
    detached: true,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  const listeners = new Set<() => void>();
  const add = (d: Buffer) => ((out += d), listeners.forEach((l) => l()));
  child.stdout.on('data', add);
  child.stderr.on('data', add);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    out: () => out,
    exited,
    waitFor: (pattern, ms) =>
      new Promise((resolve, reject) => {
        const check = () => pattern.test(out) && (listeners.delete(check), clearTimeout(timer), resolve(out));
        const timer = setTimeout(
          () => (listeners.delete(check), reject(new Error(`no ${pattern} after ${ms} ms; printed:\n${out}`))),
          ms,
        );
        listeners.add(check);
        void exited.then(() =>
          setTimeout(
            () =>
              listeners.has(check) &&
              (listeners.delete(check),
              clearTimeout(timer),
              reject(new Error(`exited without ${pattern}; printed:\n${out}`))),
            50,
          ),
        );
        check();
      }),
  };
}

/** Ctrl-C in a terminal: SIGINT to the whole process group. */
function ctrlC(s: Started) {
  process.kill(-s.child.pid!, 'SIGINT');
  return s.exited;
}

describe('the demo robot', () => {
  it('keeps its battery alive: charge cycles between 20 and 100 (charging flips both ways), lowBattery each cycle', async () => {
    // 10 ms a step: a whole cycle (120 steps) in about 1.2 s.
    const robot = run(process.execPath, [ROBOT], { ...quiet, QI_DEMO_BATTERY_TICK_MS: '10' });
    const url = /client\.js (\S+)/.exec(await robot.waitFor(/stop it/, 15_000))![1];
    const session = await Session.connect(url);
    try {
      const battery = await session.service('Battery');
      const charges: number[] = [];
      const flips: boolean[] = [];
      let lows = 0;
      await battery.charge.watch((v) => charges.push(v as number));
      await battery.charging.watch((v) => flips.push(v as boolean));
      await battery.lowBattery.connect(() => lows++);
      const deadline = Date.now() + 8_000;
      const cycled = () => flips.includes(true) && flips.lastIndexOf(false) > flips.indexOf(true) && lows > 0;
      while (!cycled() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const seen = `charges seen: ${charges.slice(0, 40).join(' ')}${charges.length > 40 ? ' ...' : ''}; charging: ${flips.join(' ')}; lowBattery: ${lows}`;
      assert.ok(cycled(), `the battery went low, charged and stopped charging within 8 s (${seen})`);
      assert.ok(
        charges.every((c) => Number.isInteger(c) && c >= 0 && c <= 100),
        seen,
      );
      assert.ok(Math.min(...charges) <= 20 && Math.min(...charges) >= 18, seen);
      assert.equal(Math.max(...charges.slice(charges.indexOf(Math.min(...charges)))), 100, seen);
    } finally {
      await session.close();
      await ctrlC(robot);
    }
  });

  it('shows a visible, moving test pattern on its camera', async () => {
    const robot = run(process.execPath, [ROBOT], quiet);
    const url = /client\.js (\S+)/.exec(await robot.waitFor(/stop it/, 15_000))![1];
    const session = await Session.connect(url);
    try {
      const camera = await session.service('Camera');
      const first = (await camera.getImage()) as { width: number; height: number; format: string; data: Buffer };
      assert.deepEqual([first.width, first.height, first.format, first.data.length], [320, 240, 'grey8', 320 * 240]);
      const mean = first.data.reduce((a, b) => a + b, 0) / first.data.length;
      const sd = Math.sqrt(first.data.reduce((a, b) => a + (b - mean) ** 2, 0) / first.data.length);
      assert.ok(
        sd > 50,
        `the frame has contrast: standard deviation ${sd.toFixed(1)} of 255 (mean ${mean.toFixed(1)})`,
      );
      assert.ok(new Set(first.data).size >= 8, `the frame has ${new Set(first.data).size} grey levels`);
      await new Promise((r) => setTimeout(r, 300));
      const second = (await camera.getImage()) as { data: Buffer };
      assert.ok(!second.data.equals(first.data), 'something moves: two frames 300 ms apart differ');
    } finally {
      await session.close();
      await ctrlC(robot);
    }
  });

  it('its banner gives one command per line, and each one works as pasted', async () => {
    const robot = run(process.execPath, [ROBOT], quiet);
    try {
      const banner = await robot.waitFor(/stop it/, 15_000);
      const tryIt = banner
        .slice(banner.indexOf('try it'), banner.indexOf('stop it'))
        .split('\n')
        .slice(1)
        .map((l) => l.trim())
        .filter(Boolean);
      assert.ok(tryIt.length >= 4, banner);
      for (const line of tryIt) assert.doesNotMatch(line, /[|;&]/, `one command per line: ${line}`);
      const qiLines = tryIt.filter((l) => l.startsWith('npx qi '));
      assert.deepEqual(
        qiLines.map((l) => l.split(' ')[4]),
        ['services', 'info', 'call', 'watch'],
        banner,
      );
      for (const line of qiLines) {
        const args = line.split(' ').slice(2); // `npx qi` is this package's bin, dist/src/cli/main.js
        if (args[2] === 'watch') {
          const watch = run(process.execPath, [QI, ...args], {});
          await watch.waitFor(/\d/, 10_000);
          await ctrlC(watch);
          continue;
        }
        const r = await new Promise<{ code: number; out: string }>((resolve) =>
          execFile(process.execPath, [QI, ...args], { timeout: 15_000 }, (e, stdout, stderr) =>
            resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
          ),
        );
        assert.equal(r.code, 0, `${line}\n${r.out}`);
      }
    } finally {
      await ctrlC(robot);
    }
  });
});

describe('npm start', () => {
  it('skips the build when dist is up to date and exits 0 on Ctrl-C', async () => {
    const start = run('npm', ['start'], { ...quiet, QI_GATEWAY: 'tcp://127.0.0.1:0' });
    const t0 = Date.now();
    const out = await start.waitFor(/stop it/, 60_000);
    const ms = Date.now() - t0;
    assert.match(out, /not rebuilding/, `the build is skipped (started in ${ms} ms)`);
    assert.equal(ms < 15_000, true, `started in ${ms} ms`);
    assert.deepEqual(await ctrlC(start), { code: 0, signal: null }, start.out());
  });

  it('says in one line that the port is taken, without a stack trace, and exits non-zero', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    after(() => busy.close());
    const at = `tcp://127.0.0.1:${(busy.address() as AddressInfo).port}`;
    const start = run('npm', ['start'], { ...quiet, QI_LISTEN: at });
    const timer = setTimeout(() => process.kill(-start.child.pid!, 'SIGKILL'), 60_000);
    const { code, signal } = await start.exited;
    clearTimeout(timer);
    assert.equal(signal, null, `still running after 60 s: ${start.out()}`);
    // What npm itself prints (`> qimessaging start`, `npm error ...`) is not the robot's.
    const lines = start
      .out()
      .split('\n')
      .filter((l) => l.trim() !== '' && !/^> |^npm (error|ERR!)|not rebuilding/.test(l));
    assert.notEqual(code, 0);
    assert.equal(lines.length, 1, start.out());
    assert.match(lines[0], new RegExp(`${at.replace(/\./g, '\\.')}.*already in use.*QI_LISTEN`), start.out());
    assert.doesNotMatch(start.out(), /^\s+at /m);
  });
});

describe('screenshots', () => {
  it(
    'a test run leaves the tracked docs/img pictures alone and saves its screenshots in a temporary folder',
    { skip: browserSkip },
    async () => {
      const img = join(root, 'docs/img');
      const before = readdirSync(img).map((f) => `${f} ${statSync(join(img, f)).mtimeMs}`);
      const tmp = mkdtempSync(join(tmpdir(), 'qi-demo-test-'));
      after(() => rmSync(tmp, { recursive: true, force: true }));
      const env: Record<string, string | undefined> = { ...process.env, TMPDIR: tmp };
      delete env.QI_SCREENSHOTS_DIR;
      delete env.NODE_TEST_CONTEXT; // else the child runner reports to this one instead of running
      const dashboard = fileURLToPath(new URL('../web/dashboard.test.js', import.meta.url));
      const r = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, ['--test', dashboard], { env, timeout: 100_000 }, (e, stdout, stderr) =>
          resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
        ),
      );
      assert.equal(r.code, 0, r.out);
      assert.deepEqual(
        readdirSync(img).map((f) => `${f} ${statSync(join(img, f)).mtimeMs}`),
        before,
        'docs/img is untouched',
      );
      const saved = readdirSync(tmp)
        .filter((d) => d.startsWith('qi-screenshots-'))
        .flatMap((d) => readdirSync(join(tmp, d)));
      assert.deepEqual(saved.sort(), ['dashboard-forms.png', 'dashboard.png']);
    },
  );
});

describe('the package', () => {
  it('ships the Apache-2.0 LICENSE its package.json names, and says where its repository is', async () => {
    const r = await new Promise<{ code: number; out: string; err: string }>((resolve) =>
      execFile(
        'npm',
        ['pack', '--dry-run', '--json', '--ignore-scripts'],
        { cwd: root, timeout: 60_000, maxBuffer: 16 << 20 },
        (e, stdout, stderr) => resolve({ code: e ? 1 : 0, out: stdout, err: stderr }),
      ),
    );
    assert.equal(r.code, 0, r.err);
    const [pack] = JSON.parse(r.out) as { files: { path: string }[] }[];
    assert.ok(
      pack.files.some((f) => f.path === 'LICENSE'),
      `LICENSE in the package (files: ${pack.files
        .filter((f) => !f.path.startsWith('dist/'))
        .map((f) => f.path)
        .join(', ')})`,
    );
    const { readFileSync } = await import('node:fs');
    assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004/);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      license: string;
      repository?: { type: string; url: string };
    };
    assert.equal(pkg.license, 'Apache-2.0');
    assert.equal(pkg.repository?.type, 'git');
    assert.match(pkg.repository?.url ?? '', /^git\+https:\/\/.+\.git$/);
  });
});

describe('the docs a new user reads', () => {
  const read = (file: string) => import('node:fs').then((fs) => fs.readFileSync(join(root, file), 'utf8'));
  const qi = (...args: string[]) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) =>
      execFile(process.execPath, [QI, ...args], { timeout: 15_000 }, (e, stdout, stderr) =>
        resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
      ),
    );

  it('docs/cli.md lists every global option of qi --help', async () => {
    const help = (await qi('--help')).out;
    const options = [...help.slice(0, help.indexOf('Commands:')).matchAll(/^\s+(?:-\w, )?(--[\w-]+)/gm)]
      .map((m) => m[1])
      .filter((o) => o !== '--help');
    assert.ok(options.length >= 8, help);
    const table = (await read('docs/cli.md')).split('\n| verb |')[0];
    assert.deepEqual(
      options.filter((o) => !new RegExp(`^\\|.*${o}(?![\\w-])`, 'm').test(table)),
      [],
      'options missing from the table of docs/cli.md',
    );
  });

  it('docs/web.md does not say webHandler is not exported: it is, from qimessaging/web', async () => {
    const web = (await import('qimessaging/web')) as { webHandler?: unknown };
    assert.equal(typeof web.webHandler, 'function');
    assert.doesNotMatch(await read('docs/web.md'), /not (yet )?an export/);
  });

  it('docs/sessions.md speaks of qi sd as it is, not as it will be', async () => {
    assert.doesNotMatch(await read('docs/sessions.md'), /qi sd` will/);
  });

  it("an unknown host name says how to find the robot's address (its chest button), not to say hello", async () => {
    const r = await qi('--url', 'tcp://no-such-robot.invalid:9559', '--timeout', '5000', 'services');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /chest button/, r.err);
    assert.doesNotMatch(r.err, /say "hello"/, r.err);
  });
});

describe('docs/robot.md, against a robot-like ServiceDirectory (tcps, self-signed, user nao)', () => {
  const read = () => import('node:fs').then((fs) => fs.readFileSync(join(root, 'docs/robot.md'), 'utf8'));
  // A shell without a robot configured.
  const userEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !['QI_URL', 'QI_USER', 'QI_TOKEN', 'QI_TLS_FINGERPRINT', 'QI_TLS_INSECURE'].includes(k),
    ),
  );
  const qi = (...args: string[]) =>
    new Promise<{ code: number; err: string; out: string }>((resolve) =>
      execFile(
        process.execPath,
        [QI, '--timeout', '5000', ...args],
        { timeout: 15_000, env: userEnv },
        (e, stdout, stderr) =>
          resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
      ),
    );

  it('walks a user through what a Pepper 2.9 answers: untrusted certificate, its fingerprint, authentication', async () => {
    const doc = await read();
    assert.match(doc, /tcp:\/\/<address>:9559/);
    assert.match(doc, /tcps:\/\/<address>:9503/);
    assert.match(doc, /chest button/);
    const certs = testCerts();
    const pepper = await listenStandalone('tcps://127.0.0.1:0', {
      listenTls: certs.robot,
      authenticator: userTokenAuthenticator({ nao: 'robot-password' }),
      ipc: false,
    });
    after(() => pepper.close());
    const url = pepper.endpoints[0];
    const fingerprint = certificateFingerprint(certs.robot.cert);
    const untrusted = await qi('--url', url, 'services');
    assert.notEqual(untrusted.code, 0);
    assert.ok(untrusted.err.includes(fingerprint), untrusted.err);
    // The command robot.md gives to read the fingerprint on the robot (here: the test robot's port).
    const command = /^openssl s_client .*$/m.exec(doc)![0].replace(':9503', `:${new URL(url).port}`);
    const printed = await new Promise<string>((resolve) =>
      execFile('sh', ['-c', command], { timeout: 15_000 }, (_e, stdout) => resolve(stdout)),
    );
    assert.ok(printed.includes(fingerprint), `${command} printed: ${printed}`);
    const noUser = await qi('--url', url, '--fingerprint', fingerprint, 'services');
    const wrong = await qi('--url', url, '--fingerprint', fingerprint, '--user', 'nao', '--token', 'guess', 'services');
    const right = await qi(
      '--url',
      url,
      '--fingerprint',
      fingerprint,
      '--user',
      'nao',
      '--token',
      'robot-password',
      'services',
    );
    assert.equal(right.code, 0, right.err);
    assert.match(right.out, /ServiceDirectory/);
    for (const [r, phrase] of [
      [untrusted, 'is not trusted'],
      [noUser, 'requires authentication'],
      [wrong, 'refused the connection'],
    ] as const) {
      assert.notEqual(r.code, 0);
      assert.ok(r.err.includes(phrase), `qi says "${phrase}": ${r.err}`);
      assert.ok(doc.includes(phrase), `docs/robot.md explains "${phrase}"`);
    }
  });

  it('explains the connection errors as qi words them', async () => {
    const doc = await read();
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    for (const [url, phrase] of [
      ['tcp://no-such-robot.invalid:9559', 'that host name does not resolve'],
      [`tcp://127.0.0.1:${port}`, 'nothing listens there'],
    ]) {
      const r = await qi('--url', url, 'services');
      assert.ok(r.err.includes(phrase), `qi says "${phrase}": ${r.err}`);
      assert.ok(doc.includes(phrase), `docs/robot.md explains "${phrase}"`);
    }
    assert.match(
      await import('node:fs').then((fs) => fs.readFileSync(join(root, 'README.md'), 'utf8')),
      /\(docs\/robot\.md\)/,
    );
  });
});
