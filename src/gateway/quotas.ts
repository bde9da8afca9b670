/**
 * What one outside client may hold of the inside at once. Every client of a gateway shares one upstream
 * connection per service, so a service's per-connection limits (the calls it runs at once) are shared
 * by all of them: each client gets quotas well below those limits, so that no client alone can reach
 * them and make every other client's calls fail.
 *
 * - calls: the outside connection's `limits.maxIncomingCalls` (calls of the client not yet answered,
 *   whatever answers them); by default 1,000, or a tenth of the upstream limits when that is lower;
 * - bytes: arguments of calls not yet answered, forwarded or waiting for the service to be reached
 *   (`maxPendingBytesPerClient`, 64 MiB);
 * - output: bytes queued towards the client, the outside connection's `limits.maxQueueBytes` and
 *   `limits.slowPeer`: the channel's one slow-peer rule (channel/output.ts), with a default of 8 MiB on
 *   the gateway's outside connections instead of 64 MiB (`maxQueueBytes` and `slowClient` are the
 *   deprecated names of the same two options).
 */
import { resolveLimits, type ChannelLimits } from '../channel/index.js';

/** Most calls one client may have waiting, when the upstream limits are the defaults. */
const CLIENT_CALLS = 1000;
/** Default of `maxPendingBytesPerClient`. */
const CLIENT_BYTES = 64 * 1024 * 1024;
/** Default of `limits.maxQueueBytes` on the gateway's outside connections. */
const CLIENT_QUEUE = 8 * 1024 * 1024;

/** The options that set the quotas (a subset of `GatewayOptions`). */
export interface QuotaOptions {
  limits?: ChannelLimits;
  upstream?: { limits?: ChannelLimits };
  /** @deprecated `limits.maxQueueBytes` */
  maxQueueBytes?: number;
  /** @deprecated `limits.slowPeer` */
  slowClient?: 'drop-signals' | 'disconnect';
  maxPendingBytesPerClient?: number;
}

/** The quotas of every outside client of a gateway. */
export interface ClientQuotas {
  /**
   * Limits of each outside connection: `maxIncomingCalls` is the client's quota of calls, and
   * `maxQueueBytes`/`slowPeer` its bound of bytes queued towards it.
   */
  readonly limits: ChannelLimits;
  /** Bytes of arguments one client may have forwarded and not yet answered. */
  readonly maxPendingBytes: number;
}

/**
 * Resolves the quotas from the gateway's options.
 * @throws RangeError when a quota would let one client reach the upstream limits, or is not positive.
 */
export function clientQuotas(o: QuotaOptions): ClientQuotas {
  // What the gateway knows of the services' limits: the ones it runs with itself (same defaults and
  // QI_ environment as the robot's processes, unless `upstream.limits` says otherwise).
  const up = resolveLimits(o.upstream?.limits);
  const ceiling = Math.min(up.maxIncomingCalls, up.maxPendingCalls);
  const calls = o.limits?.maxIncomingCalls ?? Math.max(1, Math.min(CLIENT_CALLS, Math.floor(ceiling / 10)));
  if (!(calls >= 1 && calls < ceiling)) {
    throw new RangeError(
      `limits.maxIncomingCalls of the gateway's outside connections (${calls}) must be at least 1 and below the upstream limits (${ceiling}: ` +
        `the calls a service runs at once on one connection, maxIncomingCalls, and the gateway's own maxPendingCalls towards it), ` +
        `or one client alone could fill a service for every other client. Leave it unset (the default is ${Math.min(CLIENT_CALLS, Math.floor(ceiling / 10))}) or lower it.`,
    );
  }
  const maxPendingBytes = positive('maxPendingBytesPerClient', o.maxPendingBytesPerClient ?? CLIENT_BYTES);
  const maxQueueBytes = positive('maxQueueBytes', o.limits?.maxQueueBytes ?? o.maxQueueBytes ?? CLIENT_QUEUE);
  const slowPeer = o.limits?.slowPeer ?? o.slowClient;
  return { limits: { ...o.limits, maxIncomingCalls: calls, maxQueueBytes, slowPeer }, maxPendingBytes };
}

function positive(name: string, n: number): number {
  if (!(n > 0)) throw new RangeError(`${name} must be a positive number of bytes, got ${n}.`);
  return n;
}

/**
 * The refusal of a call that would take a client over its quota of bytes in flight, or undefined when
 * the call fits.
 */
export function overBytes(held: number, adding: number, max: number): string | undefined {
  if (held + adding <= max) return undefined;
  return `Too much data in flight through the gateway: this client already has ${held} bytes of arguments in calls not yet answered, and this call adds ${adding} (limit ${max} per client, gateway option maxPendingBytesPerClient). Wait for answers before sending more.`;
}
