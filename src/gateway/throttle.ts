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

  /** `authenticator`, with the attempts of `address` waiting their turn and its refusals counted. */
  guard(authenticator: Authenticator, address: string): Authenticator {
    if (this.delayMs <= 0) return authenticator;
    const key = keyOf(address);
    return {
      authenticate: async (credentials, peer) => {
        await this.turn(key);
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

  /** Resolves when the next attempt of `key` may be checked, and reserves the slot after it. */
  private turn(key: string): Promise<void> {
    const e = this.table.get(key);
    const now = Date.now();
    if (e === undefined) return Promise.resolve();
    if (now - e.last > this.forgetMs) {
      this.table.delete(key);
      return Promise.resolve();
    }
    const at = Math.max(now, e.next);
    e.next = at + this.spacing(e.failures);
    if (at <= now) return Promise.resolve();
    return new Promise((resolve) => setTimeout(resolve, at - now).unref());
  }

  private failed(key: string): void {
    const now = Date.now();
    const e = this.table.get(key) ?? { failures: 0, last: now, next: now };
    e.failures++;
    e.last = now;
    e.next = Math.max(e.next, now + this.spacing(e.failures));
    // Most recent failure last: the first entry is the one to forget when the table is full.
    this.table.delete(key);
    this.table.set(key, e);
    while (this.table.size > this.maxAddresses) this.table.delete(this.table.keys().next().value as string);
  }
}

/** The throttled unit of an address: itself for IPv4 (and names), its /64 for IPv6. */
function keyOf(address: string): string {
  if (!address.includes(':')) return address;
  const [head, tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
