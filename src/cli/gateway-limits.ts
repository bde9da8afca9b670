/**
 * The limit flags of `qi gateway` (connection slots, handshake deadline, queue bound and slow-client
 * policy, authentication throttle, per-client quotas, origins), checked and turned into {@link GatewayOptions} fields. Defaults are the gateway's own
 * (docs/gateway.md, "Limits and flags").
 */
import type { GatewayOptions } from '../index.js';
import { UsageError } from './common.js';

/** The limit flags, as commander gives them (strings). */
export interface GatewayLimitFlags {
  /** What to do with a client over `--max-queue-bytes`: `drop-signals` or `disconnect`. */
  slowClient?: string;
  maxConnections?: string;
  maxConnectionsPerAddress?: string;
  handshakeTimeout?: string;
  maxQueueBytes?: string;
  authDelay?: string;
  authMaxDelay?: string;
  authFreeFailures?: string;
  maxBytesBeforeAuth?: string;
  maxCallsPerClient?: string;
  maxPendingBytes?: string;
  maxRegistrations?: string;
  maxReferenceScan?: string;
  /** Web origins that may open the WebSocket listeners (besides the gateway's own pages). */
  allowOrigin?: string[];
}

/** A whole number of at least `min`, or a usage error naming the flag and an example. */
function whole(value: string | undefined, flag: string, example: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(
      `${flag} is a whole number${min > 0 ? ` of at least ${min}` : ''}, e.g. ${flag} ${example} (got "${value}")`,
    );
  return n;
}

/** The GatewayOptions fields the flags set; absent flags leave the gateway's defaults. */
export function gatewayLimits(o: GatewayLimitFlags): Partial<GatewayOptions> {
  const throttle = {
    delayMs: whole(o.authDelay, '--auth-delay', '250', 0),
    maxDelayMs: whole(o.authMaxDelay, '--auth-max-delay', '5000'),
    freeFailures: whole(o.authFreeFailures, '--auth-free-failures', '3', 0),
  };
  if (o.slowClient && o.slowClient !== 'drop-signals' && o.slowClient !== 'disconnect')
    throw new UsageError('--slow-client is drop-signals or disconnect');
  // The outside connections' limits: each client's quota of calls, and the slow-peer rule.
  const limits = {
    maxIncomingCalls: whole(o.maxCallsPerClient, '--max-calls-per-client', '1000'),
    maxQueueBytes: whole(o.maxQueueBytes, '--max-queue-bytes', '8388608'),
    slowPeer: o.slowClient as 'drop-signals' | 'disconnect' | undefined,
  };
  return {
    maxConnections: whole(o.maxConnections, '--max-connections', '10000'),
    maxConnectionsPerAddress: whole(o.maxConnectionsPerAddress, '--max-connections-per-address', '64'),
    handshakeTimeoutMs: whole(o.handshakeTimeout, '--handshake-timeout', '10000'),
    authThrottle: Object.values(throttle).some((v) => v !== undefined) ? throttle : undefined,
    maxBytesBeforeAuth: whole(o.maxBytesBeforeAuth, '--max-bytes-before-auth', '65536'),
    limits: Object.values(limits).some((v) => v !== undefined) ? limits : undefined,
    maxPendingBytesPerClient: whole(o.maxPendingBytes, '--max-pending-bytes', '67108864'),
    maxRegistrationsPerClient: whole(o.maxRegistrations, '--max-registrations', '32', 0),
    maxReferenceScan: whole(o.maxReferenceScan, '--max-reference-scan', '1000000'),
    allowedOrigins: o.allowOrigin,
  };
}
