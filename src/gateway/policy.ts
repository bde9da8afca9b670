/**
 * Permissions of an outside client: allow and deny patterns over services and their members.
 *
 * A pattern is `[kind:]Service[.member]`, where `kind` is `method`, `signal`, `property` or `register`
 * (any kind when left out), `*` matches any run of characters and `?` one character, and a bare
 * `Service` means the whole service (`Service.*`). A deny that matches wins over any allow; what no
 * allow matches is denied. A service is listed to a client only when some member of it may be used.
 */
import { QiError } from '../errors/index.js';

/** What a member is, for the permission check. `register` governs registering a service of that name. */
export type MemberKind = 'method' | 'signal' | 'property' | 'register';

const KINDS = new Set<MemberKind>(['method', 'signal', 'property', 'register']);

/** Allow and deny patterns of one user (or of anonymous clients). */
export interface Rules {
  /** Patterns of what may be used; nothing else is. */
  allow?: string[];
  /** Patterns of what may not be used, even when allowed. */
  deny?: string[];
}

interface Pattern {
  text: string;
  kind: MemberKind | undefined;
  service: RegExp;
  member: RegExp;
  wholeService: boolean;
}

/** A pattern or configuration that cannot be used, with what is wrong. */
export class QiConfigError extends QiError {
  constructor(message: string) {
    super('ERR_QI_CONFIG', message);
  }
}

function glob(text: string): RegExp {
  const body = text.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

function parse(text: string): Pattern {
  let rest = text.trim();
  let kind: MemberKind | undefined;
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const k = rest.slice(0, colon) as MemberKind;
    if (!KINDS.has(k)) throw new QiConfigError(`Permission pattern "${text}": unknown kind "${k}" (use method:, signal:, property: or register:, or none for all).`);
    kind = k;
    rest = rest.slice(colon + 1);
  }
  if (rest === '') throw new QiConfigError(`Permission pattern "${text}" names no service (write e.g. "ALTextToSpeech.say" or "ALMemory.*").`);
  const dot = rest.indexOf('.');
  const service = dot < 0 ? rest : rest.slice(0, dot);
  const member = dot < 0 ? '*' : rest.slice(dot + 1);
  return { text, kind, service: glob(service), member: glob(member === '' ? '*' : member), wholeService: member === '*' || member === '' };
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
    return new Policy({ allow: ['*'] });
  }

  /** The pattern that decides whether `member` of `service` may be used as `kind`: `undefined` means denied by default. */
  decide(kind: MemberKind, service: string, member: string): { allowed: boolean; by?: string } {
    const hit = (p: Pattern) => (p.kind === undefined || p.kind === kind) && p.service.test(service) && p.member.test(member);
    const denied = this.deny.find(hit);
    if (denied) return { allowed: false, by: denied.text };
    const allowed = this.allow.find(hit);
    return allowed ? { allowed: true, by: allowed.text } : { allowed: false };
  }

  /** True when `member` of `service` may be used as `kind`. */
  allows(kind: MemberKind, service: string, member: string): boolean {
    const k = `${kind}\u0000${service}\u0000${member}`;
    let v = this.memo.get(k);
    if (v === undefined) this.remember(k, (v = this.decide(kind, service, member).allowed));
    return v;
  }

  /** True when `service` is listed: some allow names it and no deny covers it whole (for every kind). */
  sees(service: string): boolean {
    const k = `sees\u0000${service}`;
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
    if (this.deny.some((p) => p.kind === undefined && p.wholeService && p.service.test(service))) return false;
    return this.allow.some((p) => p.kind !== 'register' && p.service.test(service));
  }
}
