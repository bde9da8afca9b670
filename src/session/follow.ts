/**
 * A session follows the machine's addresses (docs/roaming.md), with one watch for two jobs:
 *
 * - a session listening on a wildcard host (`0.0.0.0`, `::`) sends the ServiceDirectory the new
 *   endpoints of every service it registered (`updateServiceInfo`, as libqi does) when an address
 *   appears, goes or changes, and tells the session's own listeners;
 * - a connection whose local address went away (this machine left a hotspot) is closed at once with an
 *   error that says the network changed, instead of waiting for the heartbeat to find it silent: its
 *   calls fail with that error, and proxies reconnect through the addresses the machine has now.
 */
import type { Channel } from '../channel/index.js';
import {
  QiClosedError,
  isLoopbackHost,
  parseEndpoint,
  watchAddresses,
  type InterfaceAddress,
  type StopWatch,
} from '../transport/index.js';
import { envNumber } from '../config/env.js';

/** How a session follows its addresses (option `followAddresses`). */
export interface FollowOptions {
  /**
   * Look at the interfaces this often, in ms (default `QI_ADDRESS_POLL_MS` or 2000). A session that
   * listens on a wildcard host also sees changes at once on Linux, through `ip monitor address`, when
   * the `ip` tool is there.
   */
  pollMs?: number;
}

/** The poll interval in effect: the option, then `QI_ADDRESS_POLL_MS`, then 2000 ms. */
export function pollInterval(o: FollowOptions = {}): number {
  return Math.max(10, o.pollMs ?? envNumber('QI_ADDRESS_POLL_MS', 2000));
}

/** The host a connection's local URL names, without zone, or undefined when it has none to lose. */
function localHost(url: string): string | undefined {
  try {
    const ep = parseEndpoint(url);
    if (!('host' in ep) || isLoopbackHost(ep.host)) return undefined;
    return ep.host.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  } catch {
    return undefined; // not a network endpoint (unix, ice, xmpp)
  }
}

/** See the module comment. */
export class AddressFollower {
  private stop: StopWatch | undefined;
  private events = false;
  private noInterfaces = false;
  private published: string;
  private chain: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(endpoints: string[]) => void>();

  /**
   * @param endpoints the session's endpoints now
   * @param publish tells the ServiceDirectory (a session that lost its directory registers again later
   *   with the endpoints of that time, so a failure here is left to that)
   * @param channels the session's open connections
   */
  constructor(
    private readonly pollMs: number,
    private readonly endpoints: () => string[],
    private readonly publish: (endpoints: string[]) => Promise<void>,
    private readonly channels: ReadonlySet<Channel>,
  ) {
    this.published = endpoints().join(' ');
  }

  /** Starts following for a wildcard listener: with the kernel's events where they can be heard. */
  listening(): void {
    if (this.events) return;
    this.stop?.();
    this.events = true;
    this.published = this.endpoints().join(' ');
    this.stop = watchAddresses((now) => this.changed(now), this.pollMs, true);
  }

  /** Starts following for connections this session opened (polling only), unless already following. */
  dialed(): void {
    if (this.stop !== undefined || this.noInterfaces) return;
    try {
      this.stop = watchAddresses((now) => this.changed(now), this.pollMs, false);
    } catch {
      this.noInterfaces = true; // a browser: no interfaces to read, the page's network is the browser's
    }
  }

  /** Calls `listener` with the new endpoints each time they change; returns a function that stops it. */
  on(listener: (endpoints: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(now: InterfaceAddress[]): void {
    this.closeMoved(now);
    const endpoints = this.endpoints();
    const key = endpoints.join(' ');
    if (key === this.published) return; // another interface than the ones listened on
    this.published = key;
    for (const l of this.listeners) l(endpoints);
    // One update at a time, in order: the directory ends with the latest endpoints.
    this.chain = this.chain.then(() => this.publish(this.endpoints())).catch(() => {});
  }

  /** Closes the connections whose local address this machine no longer has. */
  private closeMoved(now: InterfaceAddress[]): void {
    const have = new Set(now.map((a) => a.address.toLowerCase()));
    for (const ch of [...this.channels]) {
      const host = localHost(ch.stream.local);
      if (host === undefined || have.has(host)) continue;
      ch.stream.destroy(
        new QiClosedError(
          `the network changed: this machine no longer has the address ${host} that the connection to ${ch.remote} went out from. Calls in flight on it failed (they may be repeated); proxies reconnect through the machine's new addresses (option reconnect).`,
        ),
      );
    }
  }

  /** Stops watching. */
  close(): void {
    this.stop?.();
    this.stop = undefined;
    this.listeners.clear();
  }
}
