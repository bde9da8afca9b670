/**
 * Sessions: connect to a ServiceDirectory, listen, register services, and get proxies of services
 * by name over the cheapest route (in-process, IPC, TCP), with shared connections.
 *
 * @packageDocumentation
 */
export { Session } from './session.js';
export type { SessionOptions, ServiceOptions } from './options.js';
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
