/**
 * Sessions: connect to a ServiceDirectory, listen, register services, and get proxies of services
 * by name over the cheapest route (in-process, IPC, TCP), with shared connections that heal by
 * themselves. Also the reconnection pace (`Backoff`) that the gateway uses for its own SD link.
 *
 * Files: session.ts (the Session: connecting and routing), options.ts, registry.ts (the services a
 * session serves), dial.ts (one connection: transport and handshake), listen.ts (listeners and the IPC
 * socket), wait.ts (waiting for a service), routes.ts (which endpoint), resilient.ts and backoff.ts
 * (reconnection), follow.ts (following the machine's addresses), serviceinfo.ts, machine.ts (libqi's
 * machine id).
 *
 * @packageDocumentation
 */
export { Session } from './session.js';
export type { SessionOptions, ServiceOptions } from './options.js';
export type { ReconnectOptions } from './resilient.js';
export type { FollowOptions } from './follow.js';
export {
  SERVICE_INFO_SIGNATURE,
  SERVICE_INFO_SIGNATURE_6,
  normalizeServiceInfo,
  sortEndpoints,
  type ServiceInfo,
} from './serviceinfo.js';
export { machineId, machineIdFromSystemd } from './machine.js';
export { candidates, QiNoRouteError } from './routes.js';
export { Backoff, BACKOFF_MIN_MS, BACKOFF_MAX_MS } from './backoff.js';
