/** `node:os` in the browser: no home, no interfaces; what the core reads at startup gets harmless answers. */
import { unavailable } from './unavailable.js';

export const homedir = (): string => '/';
export const tmpdir = (): string => '/tmp';
export const availableParallelism = (): number =>
  (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
export const networkInterfaces = (): never => unavailable('os.networkInterfaces');
export const hostname = (): string =>
  (globalThis as { location?: { hostname?: string } }).location?.hostname ?? 'browser';
export default { homedir, tmpdir, availableParallelism, networkInterfaces, hostname };
