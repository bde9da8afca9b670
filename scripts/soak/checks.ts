/**
 * The soak's pass/fail rules (their bounds are in spec.ts): what each row of samples must show at once
 * ({@link rowProblem}), the memory and handle bounds once past the warm-up ({@link Bounds}), and the checks once
 * every load has left ({@link finalChecks}).
 */
import type { Options } from './args.js';
import type { Child } from './child-process.js';
import { sumStats, type Row, type Sums } from './report.js';
import {
  HANDLE_RATIO,
  HANDLE_SLACK,
  HEAP_RATIO,
  HEAP_SLACK,
  MEDIAN_OF,
  QUIESCED_SOCKET_SLACK,
  STREAM_RELEASE_MS,
  type LoadStats,
  type Sample,
  type ServerExtra,
} from './spec.js';
import { mb, median, socketHandles, totalHandles } from './tools.js';

/** Reports a failure. */
export type Fail = (why: string) => void;

/** Correctness, at once: what is wrong in a row (wrong values, errors, signals lost, streams never released). */
export function rowProblem(row: Row): string | undefined {
  const s = sumStats(row.loads);
  if (
    s.wrong > 0 ||
    Object.keys(s.errors).length > 0 ||
    s.signals.gaps + s.signals.duplicates + s.property.gaps + s.property.duplicates > 0
  )
    return `load: ${s.wrong} wrong values, errors ${JSON.stringify(s.errors)}, signals ${JSON.stringify(s.signals)}, property ${JSON.stringify(s.property)}\n${s.problems.map((p) => `    ${p}`).join('\n')}`;
  const st = row.server!.streams;
  if (st.overdue > 0 || st.writerErrors > 0)
    return `sd+service: ${st.overdue} stream writer(s) still open over ${STREAM_RELEASE_MS / 1000} s after they were made (never released; the oldest ${(st.oldestMs / 1000).toFixed(0)} s), ${st.writerErrors} writer error(s) ${JSON.stringify(st.writerProblems)}`;
  return undefined;
}

/** Memory and handles of every process against their baselines, once past the warm-up. */
export class Bounds {
  private readonly baseline = new Map<string, { heap: number; handles: number }>();

  /** `names`: the processes; `warmupEnd`: seconds of load before the baselines are taken. */
  constructor(
    private readonly names: string[],
    private readonly warmupEnd: number,
  ) {}

  /** Checks the rows so far; true when this call took the baselines (the end of the warm-up). */
  check(rows: Row[], fail: Fail): boolean {
    const past = rows.filter((x) => x.elapsed > this.warmupEnd);
    const during = rows.filter((x) => x.elapsed <= this.warmupEnd);
    let took = false;
    if (this.baseline.size === 0 && past.length > 0 && during.length > 0) {
      for (const n of this.names) {
        const last = during.slice(-MEDIAN_OF).map((x) => x.samples.get(n)!);
        // Handles come and go with the work in flight (a timer per pending call, a socket per churning
        // client): the most seen during the warm-up is their baseline.
        const handles = Math.max(...during.map((x) => totalHandles(x.samples.get(n)!)));
        this.baseline.set(n, { heap: median(last.map((x) => x.heapUsed)), handles });
      }
      took = true;
    }
    if (this.baseline.size > 0 && past.length >= MEDIAN_OF) {
      for (const n of this.names) {
        const b = this.baseline.get(n)!;
        const last = rows.slice(-MEDIAN_OF).map((x) => x.samples.get(n)!);
        const heap = median(last.map((x) => x.heapUsed));
        const handles = median(last.map(totalHandles));
        const heapBound = b.heap * (1 + HEAP_RATIO) + HEAP_SLACK;
        const handleBound = b.handles * (1 + HANDLE_RATIO) + HANDLE_SLACK;
        if (heap > heapBound)
          fail(
            `${n}: heapUsed ${mb(heap)} MiB (median of the last ${MEDIAN_OF} samples) is over its bound ${mb(heapBound)} MiB (baseline ${mb(b.heap)} MiB + 20% + 10 MiB)`,
          );
        if (handles > handleBound)
          fail(
            `${n}: ${handles} handles (median of the last ${MEDIAN_OF} samples) is over its bound ${handleBound.toFixed(0)} (baseline ${b.handles}, the most during the warm-up, + 20% + ${HANDLE_SLACK}); last: ${JSON.stringify(last[last.length - 1].handles)}`,
          );
      }
    }
    return took;
  }
}

/** What the run saw, for {@link finalChecks}. */
export interface Outcome {
  o: Options;
  /** The loads' final counters, summed. */
  s: Sums;
  finalLoads: LoadStats[];
  finalServer: ServerExtra | undefined;
  finalGateway: Record<string, unknown> | undefined;
  /** The server's figures before the load began. */
  idleServer: ServerExtra | undefined;
  /** Server and gateway samples before the load began, and once every load left. */
  idle: Map<string, Sample> | undefined;
  quiesced: Map<string, Sample> | undefined;
  children: Child[];
}

/** The checks at the end: answers, signals, cancellations, streams, objects and sockets left behind, warnings. */
export function finalChecks(
  { o, s, finalLoads, finalServer, finalGateway, idleServer, idle, quiesced, children }: Outcome,
  fail: Fail,
): void {
  if (finalLoads.length > 0) {
    if (s.wrong > 0 || Object.keys(s.errors).length > 0)
      fail(
        `load: ${s.wrong} wrong values, unexpected errors ${JSON.stringify(s.errors)}\n${s.problems.map((p) => `    ${p}`).join('\n')}`,
      );
    if (s.signals.gaps + s.signals.duplicates > 0 || s.signals.received !== s.signals.expected)
      fail(
        `signals: received ${s.signals.received} of ${s.signals.expected} (gaps ${s.signals.gaps}, duplicates ${s.signals.duplicates})`,
      );
    if (s.property.gaps + s.property.duplicates > 0)
      fail(`property watches: ${s.property.gaps} gaps, ${s.property.duplicates} duplicates`);
  }
  if (finalServer !== undefined && finalLoads.length === o.loads) {
    // Every slow() call is canceled while the service still runs it; only a process held up for longer
    // than the call (see answeredFirst) lets one run to its end. Each either ended or was aborted, once.
    // Less those canceled while they waited for a lane to open: never sent (docs/reliability.md).
    const slowCalls = (s.byTask['cancel.direct'] ?? 0) + (s.byTask['cancel.gateway'] ?? 0) - s.unsent;
    const tolerance = Math.max(5, Math.ceil(slowCalls * 0.01));
    if (finalServer.aborted + finalServer.slowCompleted !== slowCalls)
      fail(
        `sd+service: ${finalServer.aborted} slow() calls aborted + ${finalServer.slowCompleted} ended ≠ ${slowCalls} made (cancellations lost or doubled)`,
      );
    if (finalServer.slowCompleted > s.answeredFirst + tolerance)
      fail(
        `sd+service: ${finalServer.slowCompleted} canceled slow() calls ran to their end (the clients saw ${s.answeredFirst} answered first)`,
      );
    if (s.answeredFirst > tolerance)
      fail(
        `load: ${s.answeredFirst} slow() calls were answered although canceled or timed out first (more than ${tolerance})`,
      );
  }
  if (finalServer !== undefined && finalLoads.length === o.loads) {
    // Every stream the service made was released: read to its end, or closed by a reader that broke off
    // or left; the loads opened as many as it made.
    const st = finalServer.streams;
    const sl = s.streams;
    if (st.open > 0)
      fail(
        `sd+service: ${st.open} stream writer(s) still open once every load left (the oldest made ${(st.oldestMs / 1000).toFixed(0)} s ago)`,
      );
    if (st.made !== st.ended + st.closed + st.open)
      fail(`sd+service: ${st.made} streams made ≠ ${st.ended} ended + ${st.closed} closed + ${st.open} open`);
    if (st.made !== sl.opened) fail(`sd+service: made ${st.made} streams, the loads opened ${sl.opened}`);
    if (st.ended < sl.completed || st.ended > sl.completed + sl.brokenOff + sl.sessionClosed)
      fail(
        `sd+service: ${st.ended} streams ended, the loads read ${sl.completed} to their end (and left ${sl.brokenOff + sl.sessionClosed} early)`,
      );
    if (st.writerErrors > 0)
      fail(`sd+service: ${st.writerErrors} stream writer error(s): ${st.writerProblems.join('; ')}`);
  }
  if (finalServer !== undefined && idleServer !== undefined) {
    // All loads gone: no object by reference is left in the service, nor counted by the gateway.
    if (finalServer.objects > idleServer.objects)
      fail(
        `sd+service: serves ${finalServer.objects} object(s) by reference once every load left (${idleServer.objects} before the load): released by nobody`,
      );
  }
  if (finalGateway !== undefined && finalGateway.heldObjects !== 0)
    fail(`gateway: heldObjects ${String(finalGateway.heldObjects)} once every load left (expected 0)`);
  if (idle && quiesced) {
    for (const [n, before] of idle) {
      const after = quiesced.get(n)!;
      if (socketHandles(after) > socketHandles(before) + QUIESCED_SOCKET_SLACK) {
        fail(
          `${n}: ${socketHandles(after)} sockets once every load left, ${socketHandles(before)} before the load: ${JSON.stringify(after.handles)}`,
        );
      }
    }
  }
  for (const c of children)
    if (c.warnings.length > 0) fail(`${c.name} printed warnings: ${c.warnings.slice(0, 3).join('; ')}`);
}
