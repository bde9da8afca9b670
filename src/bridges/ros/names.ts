/**
 * Names and rules of the ROS bridge: how qi members appear as ROS names (`/qi/<Service>/<member>`),
 * and the allowlist that says which of them are bridged (deny by default).
 *
 * A rule is `[kind:]Service[.member]`, `*` matching any run of characters and `?` one:
 * - `method`: call a method as a ROS service (`call_service`), or post to it (`publish`);
 * - `signal`: subscribe to a signal as a topic;
 * - `emit`: publish into a signal (emit it on the qi side);
 * - `property`: subscribe to a property (its value, then its changes);
 * - `set`: publish into a property (set it);
 * - `serve`: let a ROS node serve a qi service of that name (`advertise_service`).
 * A rule without a kind means every kind but `serve`: registering new services on the robot's bus is
 * asked for by name. `Service` alone means all its members.
 */
import { globRegExp } from '../../type/index.js';

/** What a ROS client may do with a qi member. */
export type RosAccessKind = 'method' | 'signal' | 'emit' | 'property' | 'set' | 'serve';

/** Every {@link RosAccessKind}, in the order messages list them. */
export const ACCESS_KINDS: readonly RosAccessKind[] = ['method', 'signal', 'emit', 'property', 'set', 'serve'];

/** A qi member named by a ROS name. */
export interface QiTarget {
  service: string;
  member: string;
}

/** Normalizes a prefix: a leading `/`, no trailing one (`qi` → `/qi`). */
export function normalizePrefix(prefix: string): string {
  const p = `/${prefix.replace(/^\/+|\/+$/g, '')}`;
  if (p === '/' || /\s/.test(p))
    throw new TypeError(
      `the ROS name prefix must be a non-empty name without spaces, e.g. /qi (got ${JSON.stringify(prefix)})`,
    );
  return p;
}

/** The ROS name of a qi member: `/qi/Calculator/add`. */
export function rosName(prefix: string, service: string, member: string): string {
  return `${prefix}/${service}/${member}`;
}

/**
 * The qi member a ROS name maps to, or undefined when the name is not under the prefix. The member is
 * after the last `/`; the service is everything between the prefix and it (so it may hold dots).
 */
export function parseRosName(prefix: string, name: unknown): QiTarget | undefined {
  if (typeof name !== 'string') return undefined;
  const n = name.startsWith('/') ? name : `/${name}`;
  if (!n.startsWith(`${prefix}/`)) return undefined;
  const rest = n.slice(prefix.length + 1);
  const slash = rest.lastIndexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { service: rest.slice(0, slash), member: rest.slice(slash + 1) };
}

interface Rule {
  kinds: ReadonlySet<RosAccessKind>;
  service: RegExp;
  member: RegExp | undefined;
  text: string;
}

/** Which qi members are bridged, and how. Empty: nothing is (deny by default). */
export class RosAllowlist {
  private readonly rules: Rule[];

  /**
   * @param patterns rules such as `Calculator.*`, `method:ALTextToSpeech.say`, `serve:RosPlanner`; each
   * entry may hold several, separated by commas
   * @throws TypeError for an unknown kind or an empty rule
   */
  constructor(patterns: readonly string[]) {
    this.rules = patterns
      .flatMap((p) => p.split(','))
      .map((p) => p.trim())
      .filter((p) => p !== '')
      .map((text) => RosAllowlist.parse(text));
  }

  private static parse(text: string): Rule {
    let body = text;
    let kinds: ReadonlySet<RosAccessKind> = new Set(ACCESS_KINDS.filter((k) => k !== 'serve'));
    const colon = text.indexOf(':');
    if (colon >= 0) {
      const kind = text.slice(0, colon) as RosAccessKind;
      if (!ACCESS_KINDS.includes(kind))
        throw new TypeError(
          `unknown kind "${kind}" in the ROS bridge rule "${text}" (kinds: ${ACCESS_KINDS.join(', ')})`,
        );
      kinds = new Set([kind]);
      body = text.slice(colon + 1);
    }
    if (body === '')
      throw new TypeError(
        `the ROS bridge rule "${text}" names no service (e.g. Calculator.* or method:Calculator.add)`,
      );
    // Service names may hold dots: the member is after the last one (`My.Service.*` for a whole service with dots).
    const dot = body.lastIndexOf('.');
    const whole = dot < 0;
    return {
      kinds,
      service: globRegExp(whole ? body : body.slice(0, dot)),
      member: whole ? undefined : globRegExp(body.slice(dot + 1)),
      text,
    };
  }

  /** True when nothing at all is bridged. */
  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The rules, as given. */
  get patterns(): string[] {
    return this.rules.map((r) => r.text);
  }

  /**
   * True when `kind` of `service.member` is allowed. For `serve`, `member` is the method the ROS node
   * serves; a rule `serve:Service` (no member) allows every method of that service.
   */
  allows(kind: RosAccessKind, service: string, member: string): boolean {
    return this.rules.some(
      (r) => r.kinds.has(kind) && r.service.test(service) && (r.member === undefined || r.member.test(member)),
    );
  }

  /** True when some rule lets a client use some member of `service` in some way (for listings). */
  mentions(service: string): boolean {
    return this.rules.some((r) => r.service.test(service));
  }
}
