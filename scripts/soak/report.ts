/**
 * What the soak prints: a line per sample ({@link header}, {@link line}) and the summary at the end, from the rows of
 * samples and the loads' counters summed ({@link sumStats}).
 */
import type { Options } from './args.js';
import {
  HANDLE_RATIO,
  HANDLE_SLACK,
  HEAP_RATIO,
  HEAP_SLACK,
  MEDIAN_OF,
  MiB,
  QUIESCED_SOCKET_SLACK,
  type LoadStats,
  type Sample,
  type ServerExtra,
} from './spec.js';
import { mb, slope, socketHandles, totalHandles } from './tools.js';

/** One sample of every process. */
export interface Row {
  elapsed: number;
  samples: Map<string, Sample>;
  loads: LoadStats[];
  server?: ServerExtra;
  gateway?: Record<string, unknown>;
}

/** The counters of every load, added up. */
export function sumStats(all: LoadStats[]) {
  const calls = all.reduce((a, s) => a + Object.values(s.calls).reduce((x, y) => x + y, 0), 0);
  const merge = (pick: (s: LoadStats) => Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const s of all) for (const [k, v] of Object.entries(pick(s))) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  const add = <K extends string>(pick: (s: LoadStats) => Record<K, number>) => {
    const out = {} as Record<K, number>;
    for (const s of all) for (const [k, v] of Object.entries(pick(s)) as [K, number][]) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    calls,
    byTask: merge((s) => s.calls),
    bytes: all.reduce((a, s) => a + s.bytes, 0),
    errors: merge((s) => s.errors),
    expected: merge((s) => s.expected),
    wrong: all.reduce((a, s) => a + s.wrong, 0),
    problems: all.flatMap((s) => s.problems),
    signals: add((s) => s.signals),
    property: add((s) => s.property),
    connects: add((s) => s.connects),
    objects: all.reduce((a, s) => a + s.objects, 0),
    canceled: all.reduce((a, s) => a + s.canceled, 0),
    answeredFirst: all.reduce((a, s) => a + s.answeredFirst, 0),
    unsent: all.reduce((a, s) => a + s.unsent, 0),
    streams: add((s) => s.streams),
    abandon: add((s) => s.abandon),
  };
}

/** The loads' counters added up. */
export type Sums = ReturnType<typeof sumStats>;

/** The heading of the per-sample lines. */
export function header(): string {
  return [
    '    t |  calls/s |  MB/s | strm MB/s | sig/s | conn/s | err | sd+svc heap/rss MiB hdl | gateway heap/rss MiB hdl | loads heap(max) hdl(max)',
    '------+----------+-------+-----------+-------+--------+-----+-------------------------+--------------------------+-------------------------',
  ].join('\n');
}

/** The line of a sample: rates since the previous one, errors, and each process's memory and handles. */
export function line(row: Row, prev: Row | undefined): string {
  const s = sumStats(row.loads);
  const p = prev ? sumStats(prev.loads) : undefined;
  const dt = prev ? row.elapsed - prev.elapsed : row.elapsed;
  const rate = (now: number, before: number | undefined) => (now - (before ?? 0)) / dt;
  const conns = s.connects.direct + s.connects.gateway;
  const errs = Object.values(s.errors).reduce((a, b) => a + b, 0) + s.wrong;
  const d = (n: string) => {
    const x = row.samples.get(n)!;
    return `${mb(x.heapUsed).padStart(6)} ${mb(x.rss).padStart(6)} ${String(totalHandles(x)).padStart(5)}`;
  };
  const loads = [...row.samples].filter(([n]) => n.startsWith('load'));
  const lheap = Math.max(...loads.map(([, x]) => x.heapUsed));
  const lhdl = Math.max(...loads.map(([, x]) => totalHandles(x)));
  return (
    `${row.elapsed.toFixed(0).padStart(5)} | ${rate(s.calls, p?.calls).toFixed(0).padStart(8)} | ${(rate(s.bytes, p?.bytes) / 1e6).toFixed(1).padStart(5)} | ${(rate(s.streams.bytes, p?.streams.bytes) / 1e6).toFixed(1).padStart(9)} | ` +
    `${rate(s.signals.received, p?.signals.received).toFixed(0).padStart(5)} | ${rate(
      conns,
      p ? p.connects.direct + p.connects.gateway : 0,
    )
      .toFixed(1)
      .padStart(6)} | ${String(errs).padStart(3)} | ` +
    `${d('sd+service').padStart(23)} | ${d('gateway').padStart(24)} | ${mb(lheap).padStart(9)} ${String(lhdl).padStart(9)}`
  );
}

/** The summary at the end of the run. */
export function summary(
  o: Options,
  seconds: number,
  rows: Row[],
  s: Sums,
  idle: Map<string, Sample> | undefined,
  quiesced: Map<string, Sample> | undefined,
  server: ServerExtra | undefined,
  gateway: Record<string, unknown> | undefined,
): string {
  const out: string[] = [];
  const per = (n: number) => (seconds > 0 ? n / seconds : 0);
  out.push(`summary: ${seconds.toFixed(0)} s of load, ${o.loads} load process(es), seed ${o.seed}`);
  out.push(
    `  calls      ${s.calls} (${per(s.calls).toFixed(0)}/s): ${Object.entries(s.byTask)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push(`  payload    ${(s.bytes / 1e6).toFixed(0)} MB moved by echoRaw (${(per(s.bytes) / 1e6).toFixed(1)} MB/s)`);
  out.push(
    `  signals    emitted ${server?.emitted ?? '?'}; received ${s.signals.received} by ${s.signals.subscribers} continuous subscribers, expected ${s.signals.expected} (gaps ${s.signals.gaps}, duplicates ${s.signals.duplicates}); dropped by sd ${server?.droppedEvents ?? '?'}, by gateway ${String(gateway?.droppedEvents ?? '?')}`,
  );
  out.push(
    `  property   ${s.property.sets} sets, ${s.property.events} watch events (gaps ${s.property.gaps}, duplicates ${s.property.duplicates})`,
  );
  out.push(
    `  connects   ${s.connects.direct} direct + ${s.connects.gateway} through the gateway (${per(s.connects.direct + s.connects.gateway).toFixed(1)}/s)`,
  );
  out.push(`  objects    ${s.objects} by reference`);
  const st = server?.streams;
  out.push(
    `  streams    ${s.streams.opened} opened: ${s.streams.completed} read to the end, ${s.streams.brokenOff} left with break, ${s.streams.sessionClosed} with their session closed mid-stream; ` +
      `${s.streams.chunks} frames checked, ${(s.streams.bytes / 1e6).toFixed(0)} MB (${(per(s.streams.bytes) / 1e6).toFixed(1)} MB/s); ` +
      `the service made ${st?.made ?? '?'}, ended ${st?.ended ?? '?'}, closed ${st?.closed ?? '?'}, open at the end ${st?.open ?? '?'}, writer errors ${st?.writerErrors ?? '?'}`,
  );
  out.push(
    `  abandon    ${s.abandon.sessions} gateway sessions closed holding ${s.abandon.objects} objects (${s.abandon.inFlight} with a makeCounter on its way); at the end the service serves ${server?.objects ?? '?'} object(s) by reference, the gateway counts ${String(gateway?.heldObjects ?? '?')} held`,
  );
  out.push(
    `  cancel     ${s.canceled} calls canceled or timed out mid-flight, ${s.answeredFirst} answered first, ${s.unsent} before they were sent; the service aborted ${server?.aborted ?? '?'}, ran ${server?.slowCompleted ?? '?'} to their end`,
  );
  out.push(
    `  errors     unexpected ${JSON.stringify(s.errors)}, wrong values ${s.wrong}; expected ${JSON.stringify(s.expected)}`,
  );
  if (gateway) out.push(`  gateway    ${JSON.stringify(gateway)}`);
  if (rows.length > 0) {
    out.push(
      '  memory (after a full GC; first sample → last sample of the load; handles: idle → loaded → after the load)',
    );
    const first = rows[0].samples;
    const last = rows[rows.length - 1].samples;
    const past = rows.filter((r) => r.elapsed > o.seconds * o.warmup);
    for (const [n, a] of first) {
      const b = last.get(n);
      if (!b) continue;
      // Growth after the warm-up, in MiB per minute (least squares over the samples).
      const trend =
        past.length >= 2
          ? ` (${slope(past.map((r) => [r.elapsed / 60, r.samples.get(n)!.heapUsed / MiB])) >= 0 ? '+' : ''}${slope(past.map((r) => [r.elapsed / 60, r.samples.get(n)!.heapUsed / MiB])).toFixed(2)} MiB/min after the warm-up)`
          : '';
      const i = idle?.get(n);
      const q = quiesced?.get(n);
      const hdl = `${i ? `${totalHandles(i)} → ` : ''}${totalHandles(a)}..${totalHandles(b)}${q ? ` → ${totalHandles(q)} (sockets ${socketHandles(i!)} → ${socketHandles(q)})` : ''}`;
      out.push(
        `    ${n.padEnd(10)} heapUsed ${mb(a.heapUsed)} → ${mb(b.heapUsed)} MiB${trend}, rss ${mb(a.rss)} → ${mb(b.rss)}, external ${mb(a.external)} → ${mb(b.external)}, arrayBuffers ${mb(a.arrayBuffers)} → ${mb(b.arrayBuffers)}; handles ${hdl}`,
      );
    }
  }
  out.push(
    `  bounds     heapUsed ≤ baseline + ${HEAP_RATIO * 100}% + ${HEAP_SLACK / MiB} MiB, handles ≤ baseline + ${HANDLE_RATIO * 100}% + ${HANDLE_SLACK} (median of the last ${MEDIAN_OF} samples; baselines: heap the median of the last ${MEDIAN_OF} samples of the ${Math.round(o.warmup * 100)}% warm-up, handles the most seen in it); sockets after the load ≤ idle + ${QUIESCED_SOCKET_SLACK}`,
  );
  return out.join('\n');
}
