/**
 * Slowing down token guessing. Each remote address (an IPv6 address counts as its /64, what one
 * customer usually gets) has a failure count; past a few free failures, every further attempt from that
 * address waits its turn: attempts are checked one after another, spaced by a delay that doubles with
 * each failure up to a cap. The wait comes before the check, so an attacker learns nothing sooner by
 * opening more connections, and addresses that did not fail are never delayed. Failures are forgotten
 * some time after the last one; the table of addresses is bounded (the oldest entry goes first).
 */
import type { Authenticator } from '../channel/index.js';

/** Options of the authentication throttle (`GatewayOptions.authThrottle`). */
export interface AuthThrottleOptions {
  /** Failed attempts from one address answered without delay, for typos (default 3). */
  freeFailures?: number;
  /** Delay between attempts from an address after its first failure past the free ones, doubled at each further failure (default 250 ms; 0 turns the throttle off). */
  delayMs?: number;
  /** Longest delay between two attempts from one address (default 5,000 ms). */
  maxDelayMs?: number;
  /** An address's failures are forgotten this long after its last one (default 600,000 ms, 10 minutes). */
  forgetMs?: number;
  /** Most addresses remembered at once (default 10,000); the one that failed longest ago is forgotten first. */
  maxAddresses?: number;
}

interface Entry {
  failures: number;
  /** When the last failure was seen. */
  last: number;
  /** Earliest time the next attempt may be checked. */
  next: number;
  /** Attempts waiting their turn, first first; each resolves true when it may be checked, false when its connection left. */
  waiting: { alive: () => boolean; go: (ok: boolean) => void }[];
  timer?: NodeJS.Timeout;
}

/** The throttle of one gateway; see the module comment. */
export class AuthThrottle {
  private readonly table = new Map<string, Entry>();
  private readonly free: number;
  private readonly delayMs: number;
  private readonly maxDelayMs: number;
  private readonly forgetMs: number;
  private readonly maxAddresses: number;

  constructor(options: AuthThrottleOptions = {}) {
    this.free = options.freeFailures ?? 3;
    this.delayMs = options.delayMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.forgetMs = options.forgetMs ?? 600_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
  }

  /** Addresses remembered now (for monitoring and tests). */
  get size(): number {
    return this.table.size;
  }

  /**
   * `authenticator`, with the attempts of `address` waiting their turn and its refusals counted.
   * `alive` tells whether the attempt's connection is still open: one that left while waiting is
   * dropped when its turn comes, costing the address no time.
   */
  guard(authenticator: Authenticator, address: string, alive: () => boolean = () => true): Authenticator {
    if (this.delayMs <= 0) return authenticator;
    const key = keyOf(address);
    return {
      authenticate: async (credentials, peer) => {
        if (!(await this.turn(key, alive)))
          return { outcome: 'refused', reason: 'the connection closed while waiting its turn' };
        const result = await authenticator.authenticate(credentials, peer);
        if (result.outcome === 'refused') this.failed(key);
        return result;
      },
    };
  }

  /** Milliseconds between attempts for an address with `failures` failures. */
  private spacing(failures: number): number {
    const over = failures - this.free;
    return over <= 0 ? 0 : Math.min(this.maxDelayMs, this.delayMs * 2 ** Math.min(over - 1, 30));
  }

  /** Resolves true when the attempt may be checked (after those before it), false if its connection left meanwhile. */
  private turn(key: string, alive: () => boolean): Promise<boolean> {
    const e = this.table.get(key);
    if (e === undefined) return Promise.resolve(true);
    if (Date.now() - e.last > this.forgetMs && e.waiting.length === 0) {
      this.table.delete(key);
      return Promise.resolve(true);
    }
    return new Promise((go) => {
      e.waiting.push({ alive, go });
      this.pump(e);
    });
  }

  /** Lets the waiting attempts of an entry through, one per spacing; those whose connection left go for free. */
  private pump(e: Entry): void {
    if (e.timer !== undefined) return;
    while (e.waiting.length > 0) {
      const w = e.waiting[0];
      if (!w.alive()) {
        e.waiting.shift();
        w.go(false);
        continue;
      }
      const now = Date.now();
      if (e.next > now) {
        e.timer = setTimeout(() => ((e.timer = undefined), this.pump(e)), e.next - now);
        e.timer.unref();
        return;
      }
      e.waiting.shift();
      e.next = now + this.spacing(e.failures);
      w.go(true);
    }
  }

  private failed(key: string): void {
    const now = Date.now();
    const e = this.table.get(key) ?? { failures: 0, last: now, next: now, waiting: [] };
    e.failures++;
    e.last = now;
    e.next = Math.max(e.next, now + this.spacing(e.failures));
    // Most recent failure last: the first entry is the one to forget when the table is full.
    this.table.delete(key);
    this.table.set(key, e);
    while (this.table.size > this.maxAddresses) this.forgetOldest();
  }

  /** Drops the entry that failed longest ago; its waiting attempts go on at once (as from a new address). */
  private forgetOldest(): void {
    const [key, e] = this.table.entries().next().value as [string, Entry];
    this.table.delete(key);
    clearTimeout(e.timer);
    for (const w of e.waiting.splice(0)) w.go(w.alive());
  }
}

/** The throttled unit of an address: itself for IPv4 (and names), its /64 for IPv6. */
function keyOf(address: string): string {
  if (!address.includes(':')) return address;
  const [head, tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
