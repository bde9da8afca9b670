/** `qi gateway --ros-graph`: refused without the flag, else the gateway's node joins a real ROS graph and leaves it on Ctrl-C. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalObject, defineObject, listenStandalone, signal, t, type Session } from '../../src/index.js';
import { runQi } from '../helpers/demo-robot.js';
import { RosMaster, rosSkip } from '../helpers/rosmaster.js';
import { qiJson, within } from './fixtures.js';

const Talker = defineObject({ signals: { said: signal([t.string]) } });

describe('qi gateway --ros-graph', { skip: rosSkip }, () => {
  let sd: Session;
  let master: RosMaster;
  let url = '';
  let timer: NodeJS.Timeout;
  before(async () => {
    master = await RosMaster.start();
    sd = await listenStandalone('tcp://127.0.0.1:0');
    url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    const talker = new LocalObject(Talker, {});
    await sd.registerService('Talker', talker);
    let n = 0;
    timer = setInterval(() => talker.emit('said', `line ${++n}`), 100);
  });
  after(async () => {
    clearInterval(timer);
    await sd.close();
    await master.stop();
  });

  it('is refused without --insecure-unauthenticated; with it, publishes what --ros-allow names until SIGINT', async () => {
    const gateway = [
      'gateway',
      '--sd',
      url,
      '--listen',
      'tcp://127.0.0.1:0',
      '--allow',
      '*',
      '--ros-graph',
      master.uri,
    ];
    const refused = await runQi(gateway);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /refusing to join the ROS graph\. The ROS graph bridge has no authentication/);
    const run = qiJson('the gateway', ...gateway, '--ros-allow', 'signal:Talker.*', '--insecure-unauthenticated');
    try {
      const info = JSON.parse(await run.line()) as { rosGraph: { node: string; topics: string[] } };
      assert.deepEqual(info.rosGraph.topics, ['/qi/Talker/said']);
      const echo = await master.run('rostopic', ['echo', '-n', '1', '/qi/Talker/said']);
      assert.match(echo.stdout, /data: "line \d+"/);
    } finally {
      run.child.kill('SIGINT');
      assert.equal(await within(run.exited, 'the gateway to exit on SIGINT'), 0);
    }
    const nodes = await master.run('rosnode', ['list']);
    assert.doesNotMatch(nodes.stdout, /qi_bridge/);
  });
});
