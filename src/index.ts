/**
 * qimessaging: the qiMessaging service bus of NAO and Pepper robots, for Node.js.
 *
 * This entry point re-exports the public API of each layer and nothing else.
 *
 * @packageDocumentation
 */
import './plugged.js';
export { QiError, type QiErrorCode } from './errors/index.js';
export * from './type/index.js';
export * from './message/index.js';
export * from './transport/index.js';
export * from './channel/index.js';
export * from './object/index.js';
export * from './session/index.js';
export * from './sd/index.js';
export * from './gateway/index.js';
export * from './remote/index.js';
export * from './stream/index.js';
export * from './log/index.js';
