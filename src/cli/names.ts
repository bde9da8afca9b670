/**
 * One rule for names `qi` cannot find (a verb, a service, a member): a usage error (exit 2) in one
 * line that says what is missing, the few known names closest to it ("did you mean"), and the command
 * that lists them all.
 */
import type { Session } from '../index.js';
import type { ObjectType } from '../object/index.js';
import { UsageError } from './usage-error.js';

/** Most close names shown. */
const MAX_SUGGESTIONS = 3;

/** Edit distance with transpositions (optimal string alignment): `sya` is one step from `say`. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The few `candidates` closest to `name`, best first, ignoring case and `*`/`?` wildcards: the same
 * name in another case, then names that start with it or contain it (3 letters or more), then names a
 * few edits away (one edit per 3 letters, at least one).
 */
export function closeNames(name: string, candidates: Iterable<string>): string[] {
  const want = name.toLowerCase().replace(/[*?]/g, '');
  if (want === '') return [];
  const scored: [number, string][] = [];
  for (const c of new Set(candidates)) {
    const low = c.toLowerCase();
    const edits = distance(want, low);
    const score =
      low === want
        ? 0
        : low.startsWith(want)
          ? 1
          : want.length >= 3 && low.includes(want)
            ? 2
            : edits <= Math.max(1, Math.floor(want.length / 3))
              ? 2 + edits
              : undefined;
    if (score !== undefined) scored.push([score, c]);
  }
  return scored
    .sort((x, y) => x[0] - y[0] || x[1].localeCompare(y[1]))
    .slice(0, MAX_SUGGESTIONS)
    .map(([, c]) => c);
}

/** `; did you mean: a, b?` or nothing. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const close = closeNames(name, candidates);
  return close.length === 0 ? '' : `; did you mean: ${close.join(', ')}?`;
}

/** The error for a service name (or pattern) that matches none of `known`. */
export function noService(name: string, known: Iterable<string>): UsageError {
  return new UsageError(`no service "${name}"${didYouMean(name, known)} (qi services lists them)`);
}

/**
 * Turns a failed lookup of service `name` into {@link noService} when the ServiceDirectory does not
 * list it; any other failure (the service is listed but cannot be reached…) is returned unchanged.
 */
export async function explainLookup(session: Session, name: string, failure: unknown): Promise<unknown> {
  const known = await session.services().then(
    (list) => list.map((s) => s.name),
    () => undefined,
  );
  return known === undefined || known.includes(name) ? failure : noService(name, known);
}

/** Member kinds each verb takes. */
const KINDS = {
  call: ['method'],
  post: ['method', 'signal'],
  get: ['property'],
  set: ['property'],
  watch: ['signal', 'property'],
} as const;
type Kind = 'method' | 'signal' | 'property';
const USE: Record<Kind, string> = {
  method: 'qi call',
  signal: 'qi post / qi watch',
  property: 'qi get / qi set / qi watch',
};

/** The user members (uid 100 and up, not the built-ins) of `type` of one kind. */
function namesOf(type: ObjectType, kind: Kind): string[] {
  const map = kind === 'method' ? type.methodsByName : kind === 'signal' ? type.signalsByName : type.propertiesByName;
  return [...map]
    .filter(([, m]) => (Array.isArray(m) ? m.some((x) => x.uid >= 100) : (m as { uid: number }).uid >= 100))
    .map(([n]) => n);
}

function has(type: ObjectType, kind: Kind, name: string): boolean {
  return (kind === 'method' ? type.methodsByName : kind === 'signal' ? type.signalsByName : type.propertiesByName).has(
    name,
  );
}

/** Throws the usage error of a member that `verb` cannot use: missing (with close names) or of another kind. */
export function checkMember(type: ObjectType, service: string, name: string, verb: keyof typeof KINDS): void {
  const kinds: readonly Kind[] = KINDS[verb];
  if (kinds.some((k) => has(type, k, name))) return;
  const other = (['method', 'property', 'signal'] as const).find((k) => has(type, k, name));
  if (other !== undefined)
    throw new UsageError(`${service}.${name} is a ${other}, not a ${kinds.join(' or ')} (use ${USE[other]})`);
  const known = kinds.flatMap((k) => namesOf(type, k));
  throw new UsageError(
    `${service} has no ${kinds.join(' or ')} "${name}"${didYouMean(name, known)} (qi info ${service} lists its members)`,
  );
}

/** Reports an unknown verb in one line (JSON with `--json`) with the closest verbs; exit code 2. */
export function unknownVerb(verb: string, verbs: string[], json: boolean): void {
  const message = `unknown verb "${verb}"${didYouMean(verb, verbs)} (qi --help lists the verbs)`;
  console.error(json ? JSON.stringify({ error: message, code: 'ERR_QI_USAGE' }) : `qi: ${message}`);
  process.exitCode = 2;
}
