/**
 * The ServiceDirectory: the registry of services with libqi's API and ids, the one table of its
 * members (and calls to them by id) and its error texts, and a standalone session hosting one.
 *
 * @packageDocumentation
 */
export { ServiceDirectory, keepName, type DirectoryOptions } from './directory.js';
export {
  ServiceDirectoryDefinition,
  DIRECTORY,
  callDirectory,
  directoryInfo,
  type DirectoryMethod,
} from './members.js';
export { serviceNotFound, socketOfServiceRefused } from './errors.js';
export { listenStandalone } from './standalone.js';
