/** `qi xmpp-gateway` and `qi xmpp-robots`, spawned for real, with a real Prosody and the demo robot. */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DOMAIN, Prosody } from '../helpers/prosody.js';

const QI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ROBOT = fileURLToPath(new URL('../../examples/robot.js', import.meta.url));
const kids: ChildProcess[] = [];
after(() => kids.forEach((k) => k.kill('SIGKILL')));
let server: Prosody | string;

function line(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), 15_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve((clearTimeout(timer), m[1]));
    });
  });
}

function qi(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [QI, ...args], { timeout: 20_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

before(async () => {
  server = await Prosody.start();
  if (typeof server === 'string') return;
  server.register('pepper', 'pepper-pw');
  server.register('bob', 'bob-pw');
  const robot = spawn(process.execPath, [ROBOT], {
    env: { ...process.env, QI_LISTEN: 'tcp://127.0.0.1:0', QI_GATEWAY: 'off' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  kids.push(robot);
  const sd = await line(robot, /client\.js (\S+)/, 'robot');
  const gw = spawn(
    process.execPath,
    [
      QI,
      'xmpp-gateway',
      '--sd',
      sd,
      '--xmpp-service',
      server.service,
      '--xmpp-jid',
      `pepper@${DOMAIN}`,
      '--xmpp-password',
      'pepper-pw',
      '--allow',
      `bob@${DOMAIN}`,
      '--open',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  kids.push(gw);
  await line(gw, /Robot online as (\S+)/, 'xmpp-gateway');
});

describe('qi over XMPP', () => {
  it('calls the robot through the XMPP server, and lists it as online', async (t) => {
    if (typeof server === 'string') {
      console.error(`SKIPPED: ${server}`);
      return t.skip(server);
    }
    const as = ['--xmpp-service', server.service, '--xmpp-jid', `bob@${DOMAIN}`, '--xmpp-password', 'bob-pw'];
    const r = await qi('--url', `xmpp://pepper@${DOMAIN}`, ...as, 'call', 'TextToSpeech.say', 'hi');
    assert.equal(r.code, 0, r.stderr);
    const list = await qi(...as, 'xmpp-robots', '--follow', `pepper@${DOMAIN}`, '--time', '1.5');
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(
        `^online  pepper@${DOMAIN.replace('.', '\\.')}  4 services  xmpp://pepper@${DOMAIN.replace('.', '\\.')}/qi$`,
        'm',
      ),
    );
    const noAccount = await qi('--url', `xmpp://pepper@${DOMAIN}`, 'services');
    assert.equal(noAccount.code, 2);
    assert.match(noAccount.stderr, /needs your own XMPP account/);
  });
});
