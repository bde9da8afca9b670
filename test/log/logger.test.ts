/**
 * The logger API of services: records of another process's logger reach a `qi log`-style listener,
 * with their fields; without a LogManager a logger neither throws nor grows: it drops the oldest records.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Session,
  createLogger,
  listenStandalone,
  serveLogManager,
  type AnyProxy,
  type LogRecord,
} from '../../src/index.js';

/** A standalone SD serving a LogManager, with two sessions on it (no local shortcut): a service and a viewer. */
async function logBus(): Promise<{ sd: Session; service: Session; viewer: Session }> {
  const sd = await listenStandalone('tcp://127.0.0.1:0');
  await serveLogManager(sd);
  const service = await Session.connect(sd.endpoints[0], { lpc: false });
  const viewer = await Session.connect(sd.endpoints[0], { lpc: false });
  return { sd, service, viewer };
}

/** Closes `sessions` one after the other, in this order. */
async function closeAll(...sessions: Session[]): Promise<void> {
  for (const s of sessions) await s.close();
}

describe('createLogger', () => {
  it("sends a service's records to the LogManager in batches, with category, level, location and dates", async () => {
    const { sd, service, viewer } = await logBus();
    try {
      const listener = (await (await viewer.service('LogManager')).createListener()) as AnyProxy;
      await listener.setLevel(6);
      const got: LogRecord[] = [];
      const batches: number[] = [];
      await listener.onLogMessage.connect((r) => void got.push(r as LogRecord));
      await listener.onLogMessages.connect((b) => void batches.push((b as LogRecord[]).length));
      const log = createLogger(service, 'svc.motor', { source: 'motor.js' });
      const before = BigInt(Date.now()) * 1_000_000n;
      log.debug('not sent: the logger is at info');
      log.info('started');
      log.warning('hot');
      log.level = 6;
      log.debug('now sent');
      await log.flush();
      const deadline = Date.now() + 5000;
      while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(
        got.map((r) => `${r.level} ${r.category} ${r.message}`),
        ['4 svc.motor started', '3 svc.motor hot', '6 svc.motor now sent'],
      );
      assert.deepEqual(batches, [3], 'one batch');
      assert.equal(got[0].source, 'motor.js');
      assert.equal(got[0].location, `${service.machineId}:${process.pid}`);
      assert.ok(got[0].systemDate >= before && got[0].systemDate <= BigInt(Date.now()) * 1_000_000n + 1_000_000_000n);
      assert.ok(got[1].id === got[0].id + 1 && got[2].date >= got[1].date);
      assert.equal(log.dropped, 0);
    } finally {
      await closeAll(service, viewer, sd);
    }
  });

  it('sends a backlog in calls of at most maxBatch records, one after the other', async () => {
    const { sd, service, viewer } = await logBus();
    try {
      const listener = (await (await viewer.service('LogManager')).createListener()) as AnyProxy;
      const batches: string[][] = [];
      await listener.onLogMessages.connect((b) => void batches.push((b as LogRecord[]).map((r) => r.message)));
      const log = createLogger(service, 'svc.batch', { maxBatch: 2 });
      for (const m of ['a', 'b', 'c', 'd', 'e']) log.info(m);
      await log.flush();
      const deadline = Date.now() + 5000;
      while (batches.flat().length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(batches, [['a', 'b'], ['c', 'd'], ['e']]);
      assert.ok(listener, 'held until here: a collected listener proxy is released');
    } finally {
      await closeAll(service, viewer, sd);
    }
  });

  it('never throws and keeps at most maxBuffered records when the bus has no LogManager', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0');
    const service = await Session.connect(sd.endpoints[0], { lpc: false });
    try {
      const log = createLogger(service, 'svc.lonely', { maxBuffered: 10, flushMs: 1, retryMs: 60_000 });
      log.info('first');
      await log.flush(); // looks for the LogManager, finds none: this record is dropped
      assert.equal(log.dropped, 1);
      for (let i = 0; i < 1000; i++) log.error(`record ${i}`);
      assert.equal(log.dropped, 1 + 990, 'the buffer keeps the newest 10');
      await log.flush(); // within retryMs: no new look-up, nothing sent
      assert.equal(log.dropped, 991);
    } finally {
      await service.close();
      await sd.close();
    }
  });
});
