/** The examples run as written: the demo robot in one process, the client in another. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FakeNameServer } from './helpers/yarp-captures.js';

const example = (name: string) => fileURLToPath(new URL(`../examples/${name}.js`, import.meta.url));
const robot = spawn(process.execPath, [example('robot')], {
  env: { ...process.env, QI_LISTEN: 'tcp://127.0.0.1:0', QI_GATEWAY: 'tcp://127.0.0.1:0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
after(() => {
  robot.kill('SIGINT');
});

let robotOut = '';
const robotReady = new Promise<string>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`robot did not start: ${robotOut}`)), 10_000);
  robot.stdout.on('data', (d) => {
    robotOut += d;
    if (/stop it/.test(robotOut)) {
      clearTimeout(timer);
      resolve(robotOut);
    }
  });
});
const robotUrl = async () => /node dist\/examples\/client\.js (\S+)/.exec(await robotReady)![1];
const gatewayUrl = async () => /gateway +(tcp:\S+)/.exec(await robotReady)![1];

describe('examples', () => {
  it('the client talks to the demo robot: speech, signal, battery, camera, timeout, cancel', async () => {
    const url = await robotUrl();
    const { stdout } = await promisify(execFile)(process.execPath, [example('client'), url], { timeout: 20_000 });
    assert.match(stdout, /service #2 TextToSpeech/);
    assert.match(stdout, /said: Hello, I am a TypeScript robot {2}\(language English/);
    assert.match(stdout, /battery: \d+%/);
    assert.match(stdout, /image: 320x240 grey8, 76800 bytes/);
    assert.match(stdout, /long speech stopped: QiTimeoutError/);
    assert.match(stdout, /interrupted: true/);
  });

  it('the same client works through the gateway of the demo robot', async () => {
    const url = await gatewayUrl();
    assert.notEqual(url, await robotUrl());
    const { stdout } = await promisify(execFile)(process.execPath, [example('client'), url], { timeout: 20_000 });
    assert.match(stdout, /said: Hello, I am a TypeScript robot {2}\(language English/);
    assert.match(stdout, /image: 320x240 grey8, 76800 bytes/);
    assert.match(stdout, /interrupted: true/);
  });

  it('the codec tour runs', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example('codec-tour')], { timeout: 10_000 });
    assert.match(stdout, /framed +Call \{1\.1\.100, id:2\} \(18 bytes\)/);
  });

  it('the ROS bridge example runs: roslib calls a qi service and hears its signal', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example('ros-bridge')], { timeout: 15_000 });
    assert.match(stdout, /ROS called TextToSpeech\.say; the done topic said: hello from ROS/);
  });

  it('the YARP bridge example runs: a YARP client calls a qi method over tcp and text carriers', async () => {
    const ns = await FakeNameServer.start();
    try {
      const args = [example('yarp-bridge'), ns.address];
      const { stdout } = await promisify(execFile)(process.execPath, args, { timeout: 15_000 });
      assert.match(stdout, /the robot says: hello from YARP/);
      assert.match(stdout, /yarp rpc got: \[\{"t":"int32","v":15\}\], then ack 0/);
      assert.match(stdout, /telnet got: "Welcome \/telnet\\r\\n15\\r\\n<ACK>\\r\\n<ACK>\\r\\n"/);
      assert.equal(ns.table.size, 0);
    } finally {
      await ns.close();
    }
  });
});

describe('npm start (the demo robot)', () => {
  it('stops cleanly on Ctrl-C: exit code 0 and its IPC socket file removed', async () => {
    const { existsSync } = await import('node:fs');
    const child = spawn(process.execPath, [example('robot')], {
      env: { ...process.env, QI_LISTEN: 'tcp://127.0.0.1:0', QI_GATEWAY: 'tcp://127.0.0.1:0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => ((out += d), /stop it/.test(out) && resolve())),
    );
    const socket = /unix:(\S+)/.exec(out)![1];
    assert.ok(existsSync(socket));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.ok(!existsSync(socket), 'the socket file is removed');
    assert.match(out, /npx qi --url tcp:\/\/127\.0\.0\.1:\d+ services/);
  });
});
