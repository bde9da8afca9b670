/**
 * The ServiceDirectory: the registry of services with libqi's API and ids, and a standalone session
 * hosting one.
 *
 * @packageDocumentation
 */
export { ServiceDirectory, ServiceDirectoryDefinition, keepName, type DirectoryOptions } from './directory.js';
export { listenStandalone } from './standalone.js';
