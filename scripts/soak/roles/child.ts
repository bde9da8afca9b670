/**
 * What every child process of the soak (server, gateway, load) does alike: it exits when the coordinator goes,
 * reports crashes and warnings, and answers the coordinator's sample, snapshot and stop requests.
 */
import { writeHeapSnapshot } from 'node:v8';
import type { FromChild, ToChild } from '../spec.js';
import { describe } from '../tools.js';

/** Sends a message to the coordinator (while connected). */
export function send(m: FromChild): void {
  if (process.connected) process.send!(m);
}

export /** Wires a child: exits when the coordinator goes, reports crashes and warnings, answers sample requests. */
function child(handlers: {
  sample(): Omit<Extract<FromChild, { type: 'sample' }>, 'type' | 'id'>;
  stop(): Promise<Omit<Extract<FromChild, { type: 'stopped' }>, 'type'>>;
}): void {
  process.on('disconnect', () => process.exit(3));
  process.on('uncaughtException', (e) => {
    send({ type: 'fatal', error: `uncaught exception: ${e.stack ?? describe(e)}` });
    setTimeout(() => process.exit(4), 100);
  });
  process.on('unhandledRejection', (e) => {
    send({ type: 'fatal', error: `unhandled rejection: ${e instanceof Error ? (e.stack ?? describe(e)) : String(e)}` });
    setTimeout(() => process.exit(4), 100);
  });
  process.on('warning', (w) => send({ type: 'warning', warning: `${w.name}: ${w.message}` }));
  let stopping = false;
  process.on('message', (m: ToChild) => {
    if (m.type === 'sample') send({ type: 'sample', id: m.id, ...handlers.sample() });
    else if (m.type === 'snapshot') send({ type: 'snapshot', id: m.id, file: writeHeapSnapshot(m.file) });
    else if (m.type === 'stop' && !stopping) {
      stopping = true;
      handlers.stop().then(
        (r) => {
          send({ type: 'stopped', ...r });
          setTimeout(() => process.exit(0), 50);
        },
        (e) => {
          send({ type: 'fatal', error: `stopping: ${describe(e)}` });
          setTimeout(() => process.exit(4), 100);
        },
      );
    }
  });
}
