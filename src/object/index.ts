/**
 * Objects: declaring services (methods, signals, properties with typed qi types), the MetaObject that
 * describes them, serving local objects on connections (with libqi's built-in members), proxies of
 * remote and in-process objects, and objects passed by reference. builtins.ts is the one home of
 * libqi's built-in members (ids, compiled codecs, and the calls to them: MetaObject, register/
 * unregisterEvent, terminate) for everyone, the gateway included.
 *
 * @packageDocumentation
 */
export { t, type QiType, type TypeOf, type TypesOf } from './schema.js';
export {
  method,
  signal,
  property,
  defineObject,
  ObjectType,
  type MethodDef,
  type SignalDef,
  type PropertyDef,
  type ObjectDefinition,
  type Implementation,
  type CallContext,
  type MethodOptions,
  type MethodInfo,
  type SignalInfo,
  type PropertyInfo,
} from './definition.js';
export {
  Builtin,
  BuiltinMethods,
  builtinMetaObject,
  fetchMetaObject,
  registerEvent,
  unregisterEvent,
  postTerminate,
  type BuiltinMethod,
  type ObjectAddress,
} from './builtins.js';
export { LocalObject, QiMethodError, type LocalObjectOptions, type SignalListener } from './local.js';
export { ObjectServer } from './server.js';
export type { MethodStatistics, MinMaxSum } from './monitor.js';
export {
  RemoteBackend,
  InProcessBackend,
  QiArgumentsError,
  resolveMethod,
  type ObjectBackend,
  type SignalGap,
} from './backend.js';
export {
  createProxy,
  backendOf,
  type ProxyOf,
  type ProxyFor,
  type AnyProxy,
  type QiSignal,
  type SignalIterator,
  type QiProperty,
} from './proxy.js';
export { enableObjectReferences } from './refs.js';
export { WorkerPool, inWorker, type WorkerPoolOptions } from './workers.js';
