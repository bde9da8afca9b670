/**
 * The gateway: one public address and port for every service of a robot, with authentication,
 * per-user permissions, id remapping and signal fan-out.
 *
 * Files: gateway.ts (listeners, admission, start/stop), client.ts (one outside client: forwarding with
 * ids remapped), sd-view.ts (the ServiceDirectory as that client may see it), client-objects.ts and
 * held.ts (objects passed by reference, both ways), fanout.ts (one upstream subscription per signal),
 * upstream.ts (the link to the internal SD, reconnecting with session/'s backoff), outside.ts (services
 * that outside clients register), access.ts and policy.ts (users and permission rules), quotas.ts and
 * throttle.ts (per-client bounds, failed-login pacing), errors.ts (what outside clients are told).
 *
 * @packageDocumentation
 */
export { Gateway, type GatewayOptions } from './gateway.js';
export {
  Access,
  checkAccessConfig,
  loadAccessConfig,
  type AccessConfig,
  type GatewayUser,
  type Identity,
} from './access.js';
export { Policy, QiConfigError, type MemberKind, type Rules } from './policy.js';
export type { GatewayMetrics } from './context.js';
export { AuthThrottle, type AuthThrottleOptions } from './throttle.js';
