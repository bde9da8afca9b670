/**
 * libqi's ServiceDirectory API: its members with the ids every libqi client expects (100–109), the
 * ServiceInfo it lists itself with, and calls to a directory's members by number (what the gateway
 * does on its connection to the internal SD). The one table of the SD's members: servers, views and
 * callers all use it.
 */
import type { CallOptions, Channel } from '../channel/index.js';
import {
  ObjectType,
  defineObject,
  method,
  signal,
  t,
  type MethodDef,
  type QiType,
  type TypeOf,
  type TypesOf,
} from '../object/index.js';
import { SERVICE_INFO_SIGNATURE, type ServiceInfo } from '../session/index.js';

const Info = t.sig<ServiceInfo>(SERVICE_INFO_SIGNATURE);

/** The ServiceDirectory's members, with the ids every libqi client expects. */
export const ServiceDirectoryDefinition = defineObject({
  methods: {
    service: method([t.string], Info, { id: 100, paramNames: ['name'] }),
    services: method([], t.list(Info), { id: 101 }),
    registerService: method([Info], t.uint32, { id: 102 }),
    unregisterService: method([t.uint32], t.void, { id: 103 }),
    serviceReady: method([t.uint32], t.void, { id: 104 }),
    updateServiceInfo: method([Info], t.void, { id: 105 }),
    machineId: method([], t.string, { id: 108 }),
    _socketOfService: method([t.uint32], t.object, { id: 109 }),
  },
  signals: {
    serviceAdded: signal([t.uint32, t.string], { id: 106 }),
    serviceRemoved: signal([t.uint32, t.string], { id: 107 }),
  },
});

/** Where every ServiceDirectory is: service 1, object 1. */
export const DIRECTORY = { service: 1, object: 1 } as const;

type Methods = (typeof ServiceDirectoryDefinition)['methods'];
/** The name of a ServiceDirectory method. */
export type DirectoryMethod = keyof Methods;
type ArgsOf<K extends DirectoryMethod> = Methods[K] extends MethodDef<infer P, QiType<unknown>> ? TypesOf<P> : never;
type ResultOf<K extends DirectoryMethod> =
  Methods[K] extends MethodDef<readonly QiType<unknown>[], infer R> ? TypeOf<R> : never;

/**
 * Calls `member` of the ServiceDirectory at the other end of `channel` by its libqi id, with its
 * signatures (ServiceInfo with 7 fields). Errors name the call `options.name`, as Channel.call does.
 */
export function callDirectory<K extends DirectoryMethod>(
  channel: Channel,
  member: K,
  args: ArgsOf<K>,
  options?: CallOptions,
): Promise<ResultOf<K>> {
  const m = ObjectType.of(ServiceDirectoryDefinition).methodsByName.get(member)![0];
  return channel.call({ ...DIRECTORY, action: m.uid }, m.params, args, m.returns, options) as Promise<ResultOf<K>>;
}

/** The ServiceInfo a directory lists itself with (service 1, in this process). */
export function directoryInfo(machineId: string, endpoints: string[], sessionId: string): ServiceInfo {
  return {
    name: 'ServiceDirectory',
    serviceId: DIRECTORY.service,
    machineId,
    processId: process.pid,
    endpoints,
    sessionId,
    objectUid: '',
  };
}
