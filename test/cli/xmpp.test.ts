/** `qi xmpp-gateway` and `qi xmpp-robots`, spawned for real, with a real Prosody and the demo robot. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { QI, firstMatch, runQi, startDemoRobot } from '../helpers/demo-robot.js';
import { DOMAIN, Prosody } from '../helpers/prosody.js';

const kids: ChildProcess[] = [];
after(() => kids.forEach((k) => k.kill('SIGKILL')));
let server: Prosody | string;
let sdUrl = '';
const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

const qi = (...args: string[]) => runQi(args, 20_000);

/** `qi xmpp-gateway` for `name@DOMAIN` (password `name-pw`) serving `sd`, open to bob; killed after the file. */
function xmppGateway(sd: string, service: string, name: string, stderr: 'inherit' | 'pipe'): ChildProcess {
  const args = ['xmpp-gateway', '--sd', sd, '--xmpp-service', service, '--xmpp-jid', `${name}@${DOMAIN}`];
  const gw = spawn(
    process.execPath,
    [QI, ...args, '--xmpp-password', `${name}-pw`, '--allow', `bob@${DOMAIN}`, '--open'],
    {
      stdio: ['ignore', 'pipe', stderr],
    },
  );
  kids.push(gw);
  return gw;
}

before(async () => {
  server = await Prosody.start();
  if (typeof server === 'string') return;
  server.register('pepper', 'pepper-pw');
  server.register('bob', 'bob-pw');
  const robot = startDemoRobot();
  kids.push(robot.child);
  const sd = (sdUrl = await robot.url);
  const gw = xmppGateway(sd, server.service, 'pepper', 'inherit');
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

describe('qi xmpp-gateway started before its XMPP server', () => {
  it('says it will try again, and comes online once the server answers', { timeout: 30_000 }, async (t) => {
    if (typeof server === 'string') return t.skip(server);
    server.register('nao', 'nao-pw');
    // A port nothing listens on yet: the server "starts" there later (a forwarder to Prosody).
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const gw = xmppGateway(sdUrl, `xmpp://127.0.0.1:${port}`, 'nao', 'pipe');
    let stderr = '';
    gw.stderr!.on('data', (d) => (stderr += d));
    for (let i = 0; i < 100 && !/Trying again in/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(
      stderr,
      new RegExp(
        `Cannot connect to xmpp://127\\.0\\.0\\.1:${port}: .* Trying again in [\\d.]+ s \\(Ctrl-C to stop\\)\\.`,
      ),
    );
    assert.equal(gw.exitCode, null, 'still running');
    const prosodyPort = (server as Prosody).port;
    const forwarder = createServer((c) => {
      const s = connect(prosodyPort, '127.0.0.1');
      for (const x of [c, s]) x.on('error', () => {});
      c.pipe(s).pipe(c);
    });
    servers.push(forwarder);
    await new Promise<void>((r) => forwarder.listen(port, '127.0.0.1', r));
    assert.match(await firstMatch(gw, /Robot online as (\S+)/, 'xmpp-gateway', 20_000), /^nao@/);
  });
});
