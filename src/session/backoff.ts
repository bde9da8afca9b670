/**
 * How reconnection is paced, for every reconnecting part (a session's proxies, the gateway's link to
 * its ServiceDirectory): a first wait, doubled after each failed attempt up to a longest wait.
 */

/** Default first wait of a {@link Backoff} (ms). */
export const BACKOFF_MIN_MS = 100;
/** Default longest wait of a {@link Backoff} (ms). */
export const BACKOFF_MAX_MS = 5000;

/** The waits between successive attempts: `minMs`, then doubled each time, never over `maxMs`. */
export class Backoff {
  private wait: number;

  /**
   * @param minMs first wait (default 100 ms)
   * @param maxMs longest wait after the first (default 5,000 ms)
   */
  constructor(
    readonly minMs = BACKOFF_MIN_MS,
    readonly maxMs = BACKOFF_MAX_MS,
  ) {
    this.wait = minMs;
  }

  /** The wait before the next attempt; the one after it is twice as long (up to the longest wait). */
  next(): number {
    const w = this.wait;
    this.wait = Math.min(this.maxMs, w * 2);
    return w;
  }
}
