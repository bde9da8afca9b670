/**
 * The soak's `server` process: a standalone ServiceDirectory that also registers the test Calculator, emitting
 * `fired` (seq, "s<seq>") at a steady rate, and `SoakStreams` (scripts/soak-streams.ts).
 */
import { keyObject } from '../../../src/channel/channel.js';
import { listenStandalone } from '../../../src/index.js';
// The Calculator fixture is imported where it is used: its module imports node:test, whose harness the
// coordinator must not start (it would print to our stdout).
import type { CalcState } from '../../../test/object/fixtures.js';
import { streamService } from '../../soak-streams.js';
import type { RoleArgs } from '../args.js';
import { SESSION_TIMEOUT_MS, STREAM_RELEASE_MS, type ServerExtra } from '../spec.js';
import { takeSample, withTimeout } from '../tools.js';
import { child, send } from './child.js';

/** Runs the server until the coordinator stops it. */
export async function runServer(args: RoleArgs): Promise<void> {
  const { calculator } = await import('../../../test/object/fixtures.js');
  const hz = args.signalHz;
  const session = await listenStandalone('tcp://127.0.0.1:0', { ipc: args.ipc });
  const state: CalcState = { aborted: 0, order: [] };
  const calc = calculator(state);
  await session.registerService('Calculator', calc);
  const streams = streamService();
  await session.registerService('SoakStreams', streams.object);
  let emitted = 0;
  let slowCompleted = 0;
  // A steady rate: each tick emits what the clock says is due (timers run late under load), at most
  // a few at once.
  const since = performance.now();
  const emitter = setInterval(
    () => {
      const due = Math.floor(((performance.now() - since) * hz) / 1000);
      for (let n = 0; emitted < due && n < 10; n++) {
        calc.emit('fired', emitted, `s${emitted}`);
        emitted++;
      }
    },
    Math.max(1, 1000 / hz),
  );
  const extra = (): ServerExtra => {
    // Every completed slow() leaves a line in state.order: count them and keep the array empty.
    slowCompleted += state.order.length;
    state.order.length = 0;
    // How many connections the session holds now and the signals it dropped on them (diagnostics), and
    // the objects it serves by reference on them (checked once every load left).
    const channels = (
      session as unknown as { channels?: Set<{ droppedEvents?: number; handlers?: Map<number, unknown> }> }
    ).channels;
    let dropped = 0;
    // Objects served by reference: every object bound on a connection other than a service's main one
    // (object id 1; keyObject reads it from the channel's key of a binding).
    let objects = 0;
    for (const c of channels ?? []) {
      dropped += c.droppedEvents ?? 0;
      for (const k of c.handlers?.keys() ?? []) if (keyObject(k) !== 1) objects++;
    }
    return {
      emitted,
      aborted: state.aborted,
      slowCompleted,
      channels: channels?.size ?? -1,
      droppedEvents: dropped,
      objects,
      streams: streams.stats(STREAM_RELEASE_MS),
    };
  };
  child({
    sample: () => ({ sample: takeSample(), extra: { ...extra() } }),
    stop: async () => {
      clearInterval(emitter);
      const e = extra();
      await withTimeout(session.close(), SESSION_TIMEOUT_MS, 'closing the server session');
      return { extra: { ...e } };
    },
  });
  send({
    type: 'ready',
    info: { sd: session.endpoints.find((e) => e.startsWith('tcp:')), endpoints: session.endpoints },
  });
}
