/** Which services a verb works on: names or patterns such as `AL*`, all services when none are given. */
import type { Session } from '../index.js';
import { matches } from './common.js';
import { noService } from './names.js';

/**
 * The service names `names` stand for. A pattern (with `*` or `?`) picks among the listed services and
 * must match one (else a usage error with the closest names); a plain name that is not listed yet is
 * kept, to be looked up (or waited for). None given: all of them.
 */
export async function serviceTargets(session: Session, names: string[]): Promise<string[]> {
  const all = (await session.services()).map((s) => s.name);
  if (names.length === 0) return all;
  return names.flatMap((n) => {
    if (!/[*?]/.test(n)) return [n];
    const found = all.filter((s) => matches(s, n));
    if (found.length === 0) throw noService(n, all);
    return found;
  });
}
