/**
 * How reconnection is paced, for every reconnecting part (a session's proxies, the gateway's link to
 * its ServiceDirectory): a first wait, doubled after each failed attempt up to a longest wait.
 */

/** Default first wait of a {@link Backoff} (ms). */
export const BACKOFF_MIN_MS = 100;
/** Default longest wait of a {@link Backoff} (ms). */
export const BACKOFF_MAX_MS = 5000;

/**
 * The waits between successive attempts: `minMs`, then doubled each time, never over `maxMs`. With a
 * `jitter` j (0 to 1), each wait is drawn at random between (1 − j) and 1 times that, so that many
 * peers cut off at the same moment (a server restarting) do not all come back at the same instant.
 */
export class Backoff {
  private wait: number;
  readonly jitter: number;

  /**
   * @param minMs first wait (default 100 ms)
   * @param maxMs longest wait after the first (default 5,000 ms)
   * @param jitter share of each wait drawn at random, 0 (default: none) to 1
   */
  constructor(
    readonly minMs = BACKOFF_MIN_MS,
    readonly maxMs = BACKOFF_MAX_MS,
    jitter = 0,
  ) {
    this.wait = minMs;
    this.jitter = Math.min(1, Math.max(0, jitter));
  }

  /** The wait before the next attempt; the one after it is twice as long (up to the longest wait). */
  next(): number {
    const w = this.wait;
    this.wait = Math.min(this.maxMs, w * 2);
    return this.jitter === 0 ? w : Math.round(w * (1 - this.jitter * Math.random()));
  }
}
