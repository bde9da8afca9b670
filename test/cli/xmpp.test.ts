/** `qi xmpp-gateway` and `qi xmpp-robots`, spawned for real, with a real Prosody and the demo robot. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { QI, firstMatch, runQi, startDemoRobot } from '../helpers/demo-robot.js';
import { DOMAIN, Prosody } from '../helpers/prosody.js';

const kids: ChildProcess[] = [];
after(() => kids.forEach((k) => k.kill('SIGKILL')));
let server: Prosody | string;

const qi = (...args: string[]) => runQi(args, 20_000);

before(async () => {
  server = await Prosody.start();
  if (typeof server === 'string') return;
  server.register('pepper', 'pepper-pw');
  server.register('bob', 'bob-pw');
  const robot = startDemoRobot();
  kids.push(robot.child);
  const sd = await robot.url;
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
  await firstMatch(gw, /Robot online as (\S+)/, 'xmpp-gateway', 15_000);
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
        `^online  pepper@${DOMAIN.replace('.', '\\.')}  4 services  xmpp://pepper@${DOMAIN.replace('.', '\\.')}/qi  \\(pepper, qimessaging [\\d.]+\\)$`,
        'm',
      ),
    );
    const noAccount = await qi('--url', `xmpp://pepper@${DOMAIN}`, 'services');
    assert.equal(noAccount.code, 2);
    assert.match(noAccount.stderr, /needs your own XMPP account/);
  });
});
