/** `qi gateway --yarp`: refused without the flag, else its ports register with the name server and leave it on Ctrl-C. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalObject, defineObject, listenStandalone, signal, t, type Session } from '../../src/index.js';
import net from 'node:net';
import { runQi } from '../helpers/demo-robot.js';
import { freePort } from '../helpers/net.js';
import { FakeNameServer } from '../helpers/yarp-captures.js';
import { qiJson, within } from './fixtures.js';

const Talker = defineObject({ signals: { said: signal([t.string]) } });

describe('qi gateway --yarp', () => {
  let sd: Session;
  let ns: FakeNameServer;
  let url = '';
  before(async () => {
    ns = await FakeNameServer.start();
    sd = await listenStandalone('tcp://127.0.0.1:0');
    url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    await sd.registerService('Talker', new LocalObject(Talker, {}));
  });
  after(async () => {
    await sd.close();
    await ns.close();
  });

  it('is refused without --insecure-unauthenticated; with it, registers what --yarp-allow names until SIGINT', async () => {
    const gateway = ['gateway', '--sd', url, '--listen', 'tcp://127.0.0.1:0', '--allow', '*', '--yarp', ns.address];
    const refused = await runQi(gateway);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to start the YARP bridge\. The YARP bridge has no authentication/);
    assert.equal(ns.table.size, 0);
    const run = qiJson('the gateway', ...gateway, '--yarp-allow', 'signal:Talker.*', '--insecure-unauthenticated');
    try {
      const info = JSON.parse(await run.line()) as { yarp: { nameServer: string; ports: string[] } };
      assert.deepEqual(info.yarp, { nameServer: ns.address, ports: ['/qi/Talker/said:o'] });
      assert.equal(ns.table.get('/qi/Talker/said:o')?.host, '127.0.0.1');
    } finally {
      run.child.kill('SIGINT');
      assert.equal(await within(run.exited, 'the gateway to exit on SIGINT'), 0);
    }
    assert.equal(ns.table.size, 0);
    assert.ok(ns.commands.includes('unregister /qi/Talker/said:o'));
  });

  it('a bridge that fails to start closes what started before it (the gateway, the ROS bridge) and exits non-zero', async () => {
    const [gatewayPort, rosPort, nobody] = [await freePort(), await freePort(), await freePort()];
    const started = await runQi([
      'gateway',
      '--sd',
      url,
      '--listen',
      `tcp://127.0.0.1:${gatewayPort}`,
      '--allow',
      '*',
      '--ros-bridge',
      `ws://127.0.0.1:${rosPort}`,
      '--yarp',
      `127.0.0.1:${nobody}`,
      '--insecure-unauthenticated',
    ]);
    assert.equal(started.code, 3);
    assert.match(
      started.stderr,
      /cannot reach the YARP name server at 127\.0\.0\.1:\d+ .*is yarpserver running there\?/,
    );
    // Both ports are free again: nothing was left listening (the process exited; it did not hang either).
    for (const port of [gatewayPort, rosPort]) {
      const probe = net.createServer();
      await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => probe.close(resolve));
    }
  });
});
