/**
 * Channels: one connection's life on top of a transport stream — capability exchange and libqi's
 * authentication handshake (both sides, handshake.ts), message ids (address.ts), typed calls with
 * timeouts and cancellation (calls.ts, call-guard.ts), raw forwarding of encoded messages for gateways
 * (forwarding.ts), the connection's limits, output bound and heartbeat (limits.ts, output.ts,
 * heartbeat.ts), and one dispatch of what arrives, routing incoming calls to local objects by
 * (service, object) (channel.ts).
 *
 * @packageDocumentation
 */
export { Channel, CAPS_CODEC, CANCEL_CODEC, type MessageHandler } from './channel.js';
export type { CallOptions, CallNamer } from './calls.js';
export { guardCall, canceledError, type Disarm, type GuardOptions } from './call-guard.js';
export { newMessageId, type Address, type SendFields } from './address.js';
export { RawForwarding, type ForwardedCall, type RawAnswer } from './forwarding.js';
export { IdTable } from './id-table.js';
export { openChannel, acceptChannel, type OpenOptions, type AcceptOptions } from './handshake.js';
export { Capability, defaultCapabilities, mergeCapabilities, truthy, type CapabilityMap } from './capabilities.js';
export {
  credentialsAuthenticator,
  userTokenAuthenticator,
  type Authenticator,
  type AuthResult,
  type ClientAuthenticator,
  type Credentials,
} from './auth.js';
export { QiAuthError, QiCallError, QiTimeoutError, QiCanceledError, QiLimitError } from './errors.js';
export { resolveLimits, type ChannelLimits } from './limits.js';
export { errorText, noObjectText } from './error-text.js';
export { probe } from './heartbeat.js';
