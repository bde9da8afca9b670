/**
 * The seeded PRNG of the fuzzers (test/helpers/arbitraries.ts, scripts/fuzz.ts) and of the soak (scripts/soak/,
 * scripts/soak-streams.ts): mulberry32, small and fast; the same seed gives the same sequence in every process.
 */

/** mulberry32's output step: a well-spread 32-bit hash of `x`. */
export function mix32(x: number): number {
  let t = (x + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** Small, fast, seeded PRNG (mulberry32). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** A number in [0, 1). */
  next(): number {
    const v = mix32(this.s);
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    return v / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** True with probability `p`. */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }
  /** One element of `a`. */
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}
