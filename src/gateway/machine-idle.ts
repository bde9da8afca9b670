/**
 * The machine's idle share of CPU time, for the forwarding policy (transport/cut-through.ts): a gateway
 * cuts bursts through only while the machine has cores to spare.
 */
import { cpus } from 'node:os';
import type { IdleShare } from '../transport/index.js';

function totals(): { idle: number; all: number } {
  let idle = 0;
  let all = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    all += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, all };
}

/** A reader of the share of every core's time spent idle since its previous call (from `os.cpus()`). */
export function machineIdle(): IdleShare {
  let last = totals();
  return () => {
    const now = totals();
    const all = now.all - last.all;
    const idle = now.idle - last.idle;
    last = now;
    return all > 0 ? idle / all : undefined;
  };
}
