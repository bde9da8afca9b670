/**
 * `qi top [SERVICE...]`: calls per method and their time, from libqi's statistics built-ins
 * (enableStats, stats, clearStats) of each service, as libqi's `qicli top`. Every interval it reads
 * and clears the statistics and prints a table (in place on a terminal); `--json` prints one snapshot
 * and exits. Statistics it turned on are turned off again on exit (Ctrl-C, --count).
 */
import { connectSession, run, serviceOf, UsageError, type GlobalOptions } from './common.js';
import { serviceTargets } from './targets.js';
import { backendOf, type AnyProxy } from '../index.js';
import type { MethodStatistics } from '../object/index.js';

/** Options of `qi top`. */
export interface TopOptions extends GlobalOptions {
  /** Seconds between samples (default 1). */
  interval?: string;
  /** `time` (total wall time, the default) or `calls`. */
  sort?: string;
  /** Stop after this many samples (default: until Ctrl-C; 1 with --json). */
  count?: string;
}

interface Watched {
  name: string;
  proxy: AnyProxy;
  enabledByUs: boolean;
}

/** One row: a member of a service and its calls during the interval; times in milliseconds. */
export interface TopRow {
  service: string;
  member: string;
  id: number;
  calls: number;
  wallMs: { min: number; mean: number; max: number; total: number };
  userMs: number;
  systemMs: number;
}

const round = (v: number) => Math.round(v * 1000) / 1000;
const ms = (s: number) => round(s * 1000);

function positive(text: string | undefined, name: string, fallback: number, integer = false): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!(v > 0) || (integer && !Number.isInteger(v)))
    throw new UsageError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
  return v;
}

export async function top(names: string[], o: TopOptions): Promise<void> {
  await run(o, async () => {
    const interval = positive(o.interval, '--interval', 1);
    const count = o.json ? 1 : positive(o.count, '--count', Infinity, true);
    const sort = o.sort ?? 'time';
    if (sort !== 'time' && sort !== 'calls') throw new UsageError(`--sort is "time" or "calls", got "${sort}"`);
    const session = await connectSession(o);
    const watched: Watched[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    process.once('SIGINT', stop);
    try {
      for (const name of await serviceTargets(session, names)) {
        const proxy = await serviceOf(session, name, o);
        try {
          const was = (await proxy.isStatsEnabled()) as boolean;
          await proxy.clearStats();
          if (!was) await proxy.enableStats(true);
          watched.push({ name, proxy, enabledByUs: !was });
        } catch (e) {
          console.error(`qi: ${name} gives no statistics (${(e as Error).message}); left out`);
        }
      }
      if (watched.length === 0)
        throw new Error("none of these services gives statistics (they answer libqi's enableStats/stats built-ins)");
      if (process.stderr.isTTY && !o.json)
        process.stderr.write(
          `sampling ${watched.map((w) => w.name).join(', ')} every ${interval} s (Ctrl-C to stop)\n`,
        );
      for (let sample = 0; sample < count; sample++) {
        let timer: NodeJS.Timeout | undefined;
        const tick = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), interval * 1000)));
        const due = await Promise.race([tick, stopped.then(() => false)]);
        clearTimeout(timer);
        if (!due) break;
        const rows = await sampleAll(watched);
        rows.sort(
          (a, b) =>
            (sort === 'calls' ? b.calls - a.calls : b.wallMs.total - a.wallMs.total) ||
            a.service.localeCompare(b.service) ||
            a.member.localeCompare(b.member),
        );
        if (o.json) console.log(JSON.stringify({ interval, services: watched.map((w) => w.name), members: rows }));
        else printTable(rows, interval);
      }
    } finally {
      process.off('SIGINT', stop);
      await Promise.allSettled(watched.filter((w) => w.enabledByUs).map((w) => w.proxy.enableStats(false)));
      await session.close();
    }
  });
}

/** Reads and clears the statistics of each service; a service that stopped answering is left out. */
async function sampleAll(watched: Watched[]): Promise<TopRow[]> {
  const rows: TopRow[] = [];
  for (const w of [...watched]) {
    let stats: Map<number, MethodStatistics>;
    try {
      stats = (await w.proxy.stats()) as Map<number, MethodStatistics>;
      await w.proxy.clearStats();
    } catch (e) {
      console.error(`qi: ${w.name} stopped giving statistics (${(e as Error).message}); left out`);
      watched.splice(watched.indexOf(w), 1);
      continue;
    }
    const type = backendOf(w.proxy)!.type;
    for (const [id, s] of stats) {
      if (id === 83) continue; // clearStats, as libqi's top hides it
      const member = type.methods.get(id)?.name ?? type.signals.get(id)?.name ?? `#${id}`;
      rows.push({
        service: w.name,
        member,
        id,
        calls: s.count,
        wallMs: {
          min: ms(s.wall.minValue),
          mean: ms(s.wall.cumulatedValue / Math.max(1, s.count)),
          max: ms(s.wall.maxValue),
          total: ms(s.wall.cumulatedValue),
        },
        userMs: ms(s.user.cumulatedValue),
        systemMs: ms(s.system.cumulatedValue),
      });
    }
  }
  return rows;
}

function printTable(rows: TopRow[], interval: number): void {
  const fixed = (v: number) => v.toFixed(v < 10 ? 2 : 1);
  const lines = rows.map((r) => [
    r.service,
    r.member,
    String(r.calls),
    fixed(r.calls / interval),
    fixed(r.wallMs.min),
    fixed(r.wallMs.mean),
    fixed(r.wallMs.max),
    fixed(r.wallMs.total),
    fixed(r.userMs + r.systemMs),
  ]);
  const head = ['SERVICE', 'MEMBER', 'CALLS', 'CALLS/S', 'MIN ms', 'MEAN ms', 'MAX ms', 'TOTAL ms', 'CPU ms'];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (l: string[]) => l.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const tty = process.stdout.isTTY;
  let out = tty ? '\x1b[H\x1b[2J' : '';
  out += `${new Date().toISOString().slice(11, 19)}  ${rows.length === 0 ? 'no calls' : `${rows.reduce((n, r) => n + r.calls, 0)} calls`} in the last ${interval} s\n`;
  out += `${format(head)}\n${lines.map((l) => `${format(l)}\n`).join('')}`;
  process.stdout.write(tty ? out : `${out}\n`);
}
