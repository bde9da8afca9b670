/**
 * Permissions of an outside client: allow and deny patterns over services and their members.
 *
 * A pattern is `[kind:]Name`, where `kind` is `method`, `signal`, `property`, `register` or `monitor`
 * (when left out: any kind but `register` and `monitor`, which must be named; `monitor` is the statistics
 * and trace built-ins, which show every caller's calls), `*` matches any run of characters (dots too) and
 * `?` one character. Service names may hold dots (`My.Secret`), so `Name` is read every way its dots
 * allow: it applies to a whole service when it matches the service's name, and to member `m` of a
 * service when, at some dot, the part before matches the service's name and the part after matches
 * `m` (a part after that is only `*`, or empty, means every member). `register:Name` is about whole
 * names only. A deny that matches wins over any allow; what no allow matches is denied. A service is
 * listed to a client only when some member of it may be used.
 */
import { QiError } from '../errors/index.js';
import { globRegExp } from '../type/index.js';

/**
 * What a member is, for the permission check. `register` governs registering a service of that name;
 * `monitor` the statistics and trace built-ins of a service (ids 80–86), which show all its callers' calls.
 */
export type MemberKind = 'method' | 'signal' | 'property' | 'register' | 'monitor';

/** Longest names (service and member together) whose decisions are remembered. */
const MEMO_NAME_CHARS = 512;

const KINDS = new Set<MemberKind>(['method', 'signal', 'property', 'register', 'monitor']);
/** Kinds a pattern without a kind does not grant: they must be named. */
const NAMED_ONLY = new Set<MemberKind>(['register', 'monitor']);

/** Allow and deny patterns of one user (or of anonymous clients). */
export interface Rules {
  /** Patterns of what may be used; nothing else is. */
  allow?: string[];
  /** Patterns of what may not be used, even when allowed. */
  deny?: string[];
}

/** One way of reading a pattern: a service name and a member (`undefined`: every member). */
interface Reading {
  service: RegExp;
  member: RegExp | undefined;
}

interface Pattern {
  text: string;
  kind: MemberKind | undefined;
  readings: Reading[];
}

/** A pattern or configuration that cannot be used, with what is wrong. */
export class QiConfigError extends QiError {
  constructor(message: string) {
    super('ERR_QI_CONFIG', message);
  }
}

function parse(text: string): Pattern {
  let rest = text.trim();
  let kind: MemberKind | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const k = rest.slice(0, colon) as MemberKind;
    if (!KINDS.has(k))
      throw new QiConfigError(
        `Permission pattern "${text}": unknown kind "${k}" (use method:, signal:, property:, register: or monitor:, or none for all but register and monitor).`,
      );
    kind = k;
    rest = rest.slice(colon + 1);
  }
  if (rest === '' || rest.startsWith('.'))
    throw new QiConfigError(
      `Permission pattern "${text}" names no service (write e.g. "ALTextToSpeech.say" or "ALMemory.*").`,
    );
  // The whole text as a service name, then every split at a dot: service before, member after.
  const readings: Reading[] = [{ service: globRegExp(rest), member: undefined }];
  for (let dot = rest.indexOf('.'); dot >= 0; dot = rest.indexOf('.', dot + 1)) {
    const member = rest.slice(dot + 1);
    readings.push({
      service: globRegExp(rest.slice(0, dot)),
      member: /^\**$/.test(member) ? undefined : globRegExp(member),
    });
  }
  return { text, kind, readings };
}

/** True when `p` covers `member` of `service` (`undefined`: the whole service). */
function covers(p: Pattern, service: string, member: string | undefined): boolean {
  return p.readings.some(
    (r) => r.service.test(service) && (r.member === undefined || (member !== undefined && r.member.test(member))),
  );
}

/** The permissions of one client, compiled once. */
export class Policy {
  private readonly allow: Pattern[];
  private readonly deny: Pattern[];
  /** Decisions already made: every forwarded call asks, and the answer never changes. */
  private readonly memo = new Map<string, boolean>();

  constructor(rules: Rules = {}) {
    this.allow = (rules.allow ?? []).map(parse);
    this.deny = (rules.deny ?? []).map(parse);
  }

  /** A policy allowing everything (for trusted networks and in-process use). */
  static allowAll(): Policy {
    return new Policy({ allow: ['*', 'register:*', 'monitor:*'] });
  }

  /**
   * The pattern that decides whether `member` of `service` may be used as `kind`: `undefined` means denied by
   * default.
   */
  decide(kind: MemberKind, service: string, member: string): { allowed: boolean; by?: string } {
    // Registering is granted by register: rules only; a deny without a kind still covers it.
    const target = kind === 'register' ? undefined : member;
    const denied = this.deny.find((p) => (p.kind === undefined || p.kind === kind) && covers(p, service, target));
    if (denied) return { allowed: false, by: denied.text };
    const allowed = this.allow.find(
      (p) => (p.kind === kind || (p.kind === undefined && !NAMED_ONLY.has(kind))) && covers(p, service, target),
    );
    return allowed ? { allowed: true, by: allowed.text } : { allowed: false };
  }

  /** True when `member` of `service` may be used as `kind`. */
  allows(kind: MemberKind, service: string, member: string): boolean {
    // A client may send any name (a property's, by text): long ones are decided each time, not kept.
    if (service.length + member.length > MEMO_NAME_CHARS) return this.decide(kind, service, member).allowed;
    const k = `${kind}:${service.length}:${service}:${member}`; // the length keeps two pairs apart whatever names hold
    let v = this.memo.get(k);
    if (v === undefined) this.remember(k, (v = this.decide(kind, service, member).allowed));
    return v;
  }

  /** True when `service` is listed: some allow names it and no deny covers it whole (for every kind). */
  sees(service: string): boolean {
    if (service.length > MEMO_NAME_CHARS) return this.computeSees(service);
    const k = `sees:${service}`;
    let v = this.memo.get(k);
    if (v === undefined) this.remember(k, (v = this.computeSees(service)));
    return v;
  }

  private remember(k: string, v: boolean): void {
    if (this.memo.size >= 10_000) this.memo.clear(); // names come from peers: keep the table bounded
    this.memo.set(k, v);
  }

  private computeSees(service: string): boolean {
    if (service === 'ServiceDirectory') return true;
    if (this.deny.some((p) => p.kind === undefined && covers(p, service, undefined))) return false;
    return this.allow.some((p) => p.kind !== 'register' && p.readings.some((r) => r.service.test(service)));
  }
}
