/** The LogManager is a normal service behind the gateway: its access rules apply to it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Gateway,
  Session,
  createLogger,
  listenStandalone,
  serveLogManager,
  type AnyProxy,
  type LogRecord,
} from '../../src/index.js';

describe('LogManager behind the gateway', () => {
  it('is refused to clients it is not allowed to, and works through object references for those it is', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    await serveLogManager(sd);
    const gw = await Gateway.start({
      sd: sd.endpoints[0],
      listen: 'tcp://127.0.0.1:0',
      access: { anonymous: { allow: [] }, users: { ops: { token: 'pw', allow: ['LogManager'] } } },
    });
    const anon = await Session.connect(gw.url, { ipc: false });
    const ops = await Session.connect(gw.url, { auth: { user: 'ops', token: 'pw' }, ipc: false });
    try {
      await assert.rejects(anon.service('LogManager'), (e: Error) => !/127\.0\.0\.1:\d+/.test(e.message));
      const listener = (await (await ops.service('LogManager')).createListener()) as AnyProxy;
      const got: LogRecord[] = [];
      await listener.onLogMessage.connect((r) => void got.push(r as LogRecord));
      const log = createLogger(sd, 'inside.svc');
      const deadline = Date.now() + 5000;
      while (got.length === 0 && Date.now() < deadline) {
        log.info('seen from outside');
        await log.flush();
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(got[0]?.message, 'seen from outside');
    } finally {
      await anon.close();
      await ops.close();
      await gw.close();
      await sd.close();
    }
  });
});
