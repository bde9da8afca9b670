/**
 * The gateway: one public address and port for every service of a robot, with authentication,
 * per-user permissions, id remapping and signal fan-out.
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
