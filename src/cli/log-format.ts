/**
 * How `qi log` prints a record: a text line (time, level letter, category, message, source) with
 * control characters escaped so a record cannot drive the terminal, or a JSON object. Records of older
 * NAOqi (a `timestamp` {tv_sec, tv_usec} instead of `systemDate`) print too.
 */
import { levelName } from '../log/index.js';

interface AnyRecord {
  source?: string;
  level: number;
  category: string;
  location?: string;
  message: string;
  id?: number;
  systemDate?: bigint | number;
  timestamp?: { tv_sec: bigint | number; tv_usec: bigint | number };
}

const colors: Record<number, string> = {
  1: '\x1b[1;31m',
  2: '\x1b[31m',
  3: '\x1b[33m',
  4: '\x1b[32m',
  5: '\x1b[36m',
  6: '\x1b[2m',
};

/** Wall-clock time of a record, in milliseconds since 1970 (undefined when it has none). */
function timeOf(r: AnyRecord): number | undefined {
  if (r.systemDate !== undefined) return Number(BigInt(r.systemDate) / 1_000_000n);
  if (r.timestamp !== undefined)
    return Number(r.timestamp.tv_sec) * 1000 + Math.floor(Number(r.timestamp.tv_usec) / 1000);
  return undefined;
}

/** Escapes what a terminal would interpret (ESC, other controls, DEL) as \xNN; keeps tabs. */
export function printable(text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** One text line: `2026-12-03 14:48:30.123 W demo.battery: charge 19% [robot.js]`. */
export function formatRecord(r: AnyRecord, color: boolean): string {
  const ms = timeOf(r);
  const time = ms === undefined ? '-' : new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  const letter = levelName(r.level)[0].toUpperCase();
  const level = color ? `${colors[r.level] ?? ''}${letter}\x1b[0m` : letter;
  const source = r.source ? ` [${printable(r.source)}]` : '';
  return `${time} ${level} ${printable(r.category)}: ${printable(r.message)}${source}`;
}

/** The JSON form: level as a name and a number, time as ISO 8601, dates as decimal nanoseconds. */
export function recordJson(r: AnyRecord): Record<string, unknown> {
  const ms = timeOf(r);
  return {
    time: ms === undefined ? null : new Date(ms).toISOString(),
    level: levelName(r.level),
    levelNumber: r.level,
    category: r.category,
    message: r.message,
    source: r.source ?? '',
    location: r.location ?? '',
    id: r.id ?? 0,
    systemDate: r.systemDate === undefined ? null : String(r.systemDate),
  };
}
