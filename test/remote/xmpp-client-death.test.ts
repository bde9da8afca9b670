/**
 * `qi xmpp-gateway` (a real child process, with a real Prosody) outlives a client that dies in the middle
 * of a large answer, over In-Band Bytestreams and through the server's SOCKS5 proxy: killed, or frozen then
 * killed. Before the fix, it exited 1 within 0.3 s (`StanzaError: service-unavailable` unhandled) and the
 * robot disappeared for every client (issue 22).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import {
  dieMidAnswer,
  servesNextClient,
  startDeathRobot,
  type ClientArgs,
  type RobotProcess,
} from '../helpers/client-death.js';
import { QI, firstMatch } from '../helpers/demo-robot.js';
import { DOMAIN, Prosody } from '../helpers/prosody.js';
import { until } from '../helpers/until.js';

let server: Prosody | string;
let robot: RobotProcess;
let gateway: ChildProcess;
let stderr = '';

before(async () => {
  server = await Prosody.start();
  if (typeof server === 'string') return;
  for (const n of ['robot', 'alice']) server.register(n, `${n}-pw`);
  robot = await startDeathRobot();
  gateway = spawn(
    process.execPath,
    [
      QI,
      'xmpp-gateway',
      '--sd',
      robot.ready.sd,
      '--xmpp-service',
      server.service,
      '--xmpp-jid',
      `robot@${DOMAIN}`,
      '--xmpp-password',
      'robot-pw',
      '--allow',
      `alice@${DOMAIN}`,
      '--open',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  gateway.stderr!.on('data', (d) => (stderr += d));
  await firstMatch(gateway, /Robot online as (\S+)/, 'qi xmpp-gateway', 15_000);
});

after(async () => {
  gateway?.kill('SIGKILL');
  await robot?.kill();
});

describe('qi xmpp-gateway: a client dying mid-answer ends its session only', () => {
  for (const bytestreams of ['ibb', 'socks5'] as const)
    for (const how of ['kill', 'freeze'] as const)
      it(`${bytestreams === 'ibb' ? 'In-Band Bytestreams' : 'SOCKS5 proxy'}: a client ${how === 'kill' ? 'killed' : 'frozen, then killed'} mid-answer; the next client is answered`, async (t) => {
        if (typeof server === 'string') {
          console.error(`SKIPPED: ${server}`);
          return t.skip(server);
        }
        const args: ClientArgs = [
          'qi',
          `xmpp://robot@${DOMAIN}`,
          server.service,
          `alice@${DOMAIN}`,
          'alice-pw',
          bytestreams,
        ];
        try {
          await dieMidAnswer(robot, args, how, 4 * 1024 * 1024);
          if (bytestreams === 'ibb' && how === 'kill') {
            // The server answers the blocks sent to the dead client with errors: the session ends, logged once.
            const ended = /gateway: the session of an anonymous client at xmpp:\/\/alice@example\.test\/\S+ ended: /;
            await until(() => ended.test(stderr), 'the end of the session in the log', 30_000);
          }
          await servesNextClient(args, gateway);
        } catch (e) {
          throw new Error(`${(e as Error).message}\nqi xmpp-gateway said: ${stderr}`, { cause: e });
        }
      });
});
