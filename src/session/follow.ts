/**
 * A session that listens on a wildcard host (`0.0.0.0`, `::`) follows the machine's addresses: when one
 * appears, goes or changes, the endpoints of every service it registered are sent again to the
 * ServiceDirectory (`updateServiceInfo`, as libqi does), and the session's own listeners are told.
 * docs/roaming.md.
 */
import { watchAddresses, type StopWatch } from '../transport/index.js';

/** How a session follows its addresses (option `followAddresses`). */
export interface FollowOptions {
  /**
   * Look at the interfaces this often, in ms (default `QI_ADDRESS_POLL_MS` or 2000). On Linux, changes
   * are also seen at once through `ip monitor address` when the `ip` tool is there.
   */
  pollMs?: number;
}

/** The poll interval in effect: the option, then `QI_ADDRESS_POLL_MS`, then 2000 ms. */
export function pollInterval(o: FollowOptions = {}): number {
  const env = Number(process.env.QI_ADDRESS_POLL_MS);
  const fromEnv = process.env.QI_ADDRESS_POLL_MS !== undefined && Number.isFinite(env) && env > 0 ? env : undefined;
  return Math.max(10, o.pollMs ?? fromEnv ?? 2000);
}

/** Publishes a session's endpoints each time they change; see the module comment. */
export class EndpointFollower {
  private stop: StopWatch | undefined;
  private published: string;
  private chain: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(endpoints: string[]) => void>();

  /**
   * @param endpoints the session's endpoints now
   * @param publish tells the ServiceDirectory (errors are the caller's to handle: a session that lost its
   *   directory registers again with the endpoints of that time)
   */
  constructor(
    private readonly endpoints: () => string[],
    private readonly publish: (endpoints: string[]) => Promise<void>,
  ) {
    this.published = endpoints().join(' ');
  }

  /** Starts watching (once; again is a no-op). */
  start(pollMs: number): void {
    if (this.stop !== undefined) return;
    this.published = this.endpoints().join(' ');
    this.stop = watchAddresses(() => this.changed(), pollMs);
  }

  /** Calls `listener` with the new endpoints each time they change; returns a function that stops it. */
  on(listener: (endpoints: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    const now = this.endpoints();
    const key = now.join(' ');
    if (key === this.published) return; // another interface than the ones listened on
    this.published = key;
    for (const l of this.listeners) l(now);
    // One update at a time, in order: the directory ends with the latest endpoints.
    this.chain = this.chain.then(() => this.publish(this.endpoints())).catch(() => {});
  }

  /** Stops watching. */
  close(): void {
    this.stop?.();
    this.stop = undefined;
    this.listeners.clear();
  }
}
