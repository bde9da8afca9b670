/**
 * Logs: NAOqi's `LogManager` service and its listeners (the wire form of libqicore), our LogManager,
 * and the logger API of services (`createLogger`).
 *
 * @packageDocumentation
 */
export { LogMessage, LogListenerDefinition, LogManagerDefinition, wireRecord, type LogRecord } from './definition.js';
export { LogLevel, levelName, parseLevel, type LogLevelName } from './levels.js';
export { LogFilter, categoryMatches, MAX_FILTERS } from './filter.js';
export { LogManager, type LogManagerOptions } from './manager.js';
export { createLogger, type Logger, type LoggerOptions } from './logger.js';
export { serveLogManager } from './serve.js';
