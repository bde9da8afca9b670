/**
 * Talking to the roaming client fixture (test/session/fixtures/roam-client.ts), which calls in a loop and
 * iterates a signal: each line written to its stdin is answered with one {@link RoamReport} line.
 */
import { jsonLines, type Running } from './running.js';

/** What the roaming client reports: calls made, answered, the errors of the others, ticks and gaps. */
export interface RoamReport {
  made: number;
  answered: number;
  failed: string[];
  received: number;
  afterGap: number;
  gaps: number;
  gap?: { ms: number; reason: string };
  final?: boolean;
}

/** Writes `line` to the process and resolves with the JSON line it prints in answer. */
export async function ask<T = RoamReport>(p: Running, line = 'report', ms = 5000): Promise<T> {
  const n = jsonLines(p.out()).length;
  p.child.stdin!.write(`${line}\n`);
  const t0 = Date.now();
  while (jsonLines(p.out()).length === n) {
    if (Date.now() - t0 > ms) throw new Error(`no answer to ${line} in ${ms} ms: ${p.err()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return jsonLines(p.out()).at(-1) as T;
}
