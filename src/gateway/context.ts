/**
 * What every client connection of a gateway shares: the inside (upstream, outside services, held
 * objects), the gateway's identity and limits, and its counters.
 */
import type { HeldObjects } from './held.js';
import type { OutsideServices } from './outside.js';
import type { Upstream } from './upstream.js';

/** What a client connection needs from its gateway. */
export interface GatewayContext {
  readonly upstream: Upstream;
  /** Services registered by outside clients, served to the inside. */
  readonly outside: OutsideServices;
  /** Which clients hold which objects that services returned to them. */
  readonly held: HeldObjects;
  readonly machineId: string;
  readonly sessionId: string;
  /** Most work spent finding the object references of one message (GatewayOptions.maxReferenceScan). */
  readonly maxReferenceScan: number;
  readonly metrics: GatewayMetrics;
  /** Public URLs to advertise instead of the address the client reached, if configured. */
  readonly advertise: string[] | undefined;
  /** Bytes of arguments one client may have in calls not yet answered (forwarded or waiting). */
  readonly maxPendingBytes: number;
  /** Where full error texts go when what a client was sent had to be rewritten. */
  readonly log: (line: string) => void;
  /**
   * Where a client's session ended by an error (a reset or timed-out connection, a bytestream that
   * failed…) is told, once per session, at most a few times a minute for all clients together.
   */
  readonly sessionEnded: (line: (more: string) => string) => void;
}

/** Counters of a gateway, for monitoring. */
export interface GatewayMetrics {
  /** Outside clients connected now. */
  clients: number;
  /** Calls and posts forwarded upstream. */
  forwarded: number;
  /** Calls refused by a permission rule. */
  denied: number;
  /** Signal emissions not sent to a client whose queue was full. */
  droppedEvents: number;
  /** Clients disconnected because they did not read fast enough. */
  slowDisconnects: number;
  /** Clients refused at authentication. */
  refused: number;
  /** Whether the internal ServiceDirectory is reachable now. */
  sdConnected: boolean;
  /** Connections closed on arrival because an address (or the gateway) had too many. */
  overLimit: number;
}
