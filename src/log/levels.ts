/**
 * Log levels as libqi numbers them (`qi::LogLevel`, sent as an int32): 0 silent … 6 debug. A record
 * passes a threshold when its level is not above it (a listener at `info` shows fatal to info).
 */
import { QiError } from '../errors/index.js';

/** libqi's log levels, by name. */
export const LogLevel = { silent: 0, fatal: 1, error: 2, warning: 3, info: 4, verbose: 5, debug: 6 } as const;
/** A level name. */
export type LogLevelName = keyof typeof LogLevel;

const names = Object.keys(LogLevel) as LogLevelName[];

/** The name of a level number (`level 9` for numbers libqi does not define). */
export function levelName(level: number): string {
  return names[level] ?? `level ${level}`;
}

/**
 * A level from a name (`warning`, also `warn`), its first letter, or its number; throws a
 * {@link QiError} `ERR_QI_VALUE` saying which names exist otherwise.
 */
export function parseLevel(text: string): number {
  const t = text.trim().toLowerCase();
  if (/^[0-6]$/.test(t)) return Number(t);
  const name =
    t === 'warn' ? 'warning' : names.find((n) => n === t || (t.length === 1 && n.startsWith(t) && n !== 'silent'));
  if (name === undefined)
    throw new QiError('ERR_QI_VALUE', `unknown log level "${text}": use one of ${names.join(', ')} (or 0-6)`);
  return LogLevel[name];
}
