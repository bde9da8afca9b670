/**
 * Numeric settings read from the environment (`QI_HEARTBEAT_MS`, `QI_MAX_QUEUE_BYTES`, …), in one place:
 * an unset or empty variable gives the default; a value that is not a number the setting accepts gives the
 * default too, with a warning (once per variable and value) that names the variable, what it accepts and
 * the value used instead, so a typo never goes unseen.
 */

/** What a numeric setting accepts besides finite positive numbers. */
export interface EnvRule {
  /** 0 is accepted (settings that 0 turns off). Default: false. */
  zero?: boolean;
  /** Only whole numbers (up to 2^53 - 1). Default: false. */
  integer?: boolean;
  /** Larger values are lowered to this. Default: none. */
  max?: number;
}

const warned = new Set<string>();

/** The number in `process.env[name]` when it follows `rule`, else `fallback`. */
export function envNumber(name: string, fallback: number, rule: EnvRule = {}): number {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const n = Number(text);
  const ok =
    Number.isFinite(n) &&
    (n > 0 || (rule.zero === true && n === 0)) &&
    (rule.integer !== true || Number.isSafeInteger(n));
  if (ok) return rule.max !== undefined ? Math.min(n, rule.max) : n;
  const key = `${name}=${text}`;
  if (!warned.has(key) && typeof process.emitWarning === 'function') {
    warned.add(key);
    const accepts = `${rule.integer === true ? 'a whole number' : 'a number'} ${rule.zero === true ? '>= 0' : '> 0'}`;
    process.emitWarning(`${name}="${text}" is not ${accepts}; using ${fallback}. Unset it or give ${accepts}.`, {
      code: 'QI_ENV',
    });
  }
  return fallback;
}
