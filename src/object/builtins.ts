/**
 * The members every libqi object has (spec §5.4): ids 0–8 for events, introspection and properties,
 * 80–86 for statistics and tracing. They are merged into every MetaObject we send, exactly as libqi
 * advertises them (same names and signatures as in a NAOqi capture). This module is their one home:
 * ids, signatures compiled once, and the calls every layer makes to them (MetaObject, subscriptions,
 * release), so that no other file spells their signatures.
 */
import type { CallOptions, Channel } from '../channel/index.js';
import { METAOBJECT_SIGNATURE, compile, type Codec, type Dynamic, type MetaObject } from '../type/index.js';
import type { MethodStatistics } from './monitor.js';

/** Ids of the built-in members. */
export const Builtin = {
  registerEvent: 0,
  unregisterEvent: 1,
  metaObject: 2,
  terminate: 3,
  property: 5,
  setProperty: 6,
  properties: 7,
  registerEventWithSignature: 8,
  isStatsEnabled: 80,
  enableStats: 81,
  stats: 82,
  clearStats: 83,
  isTraceEnabled: 84,
  enableTrace: 85,
  traceObject: 86,
} as const;

const MIN_MAX_SUM = '(fff)<MinMaxSum,minValue,maxValue,cumulatedValue>';
/** Return signature of `stats` (82). */
export const STATS_SIGNATURE = `{I(I${MIN_MAX_SUM}${MIN_MAX_SUM}${MIN_MAX_SUM})<MethodStatistics,count,wall,user,system>}`;

/** One built-in method: its id, name, and its argument and return signatures compiled. */
export interface BuiltinMethod<A = unknown, R = unknown> {
  readonly action: number;
  readonly name: string;
  /** The argument tuple, e.g. `(IIL)` for registerEvent (service id, signal id, link id). */
  readonly args: Codec<A>;
  readonly returns: Codec<R>;
}

function builtin<A, R>(name: keyof typeof Builtin, args: string, returns: string): BuiltinMethod<A, R> {
  return { action: Builtin[name], name, args: compile<A>(args), returns: compile<R>(returns) };
}

/** The built-in methods, in libqi's MetaObject order, with their codecs (compiled once, at load). */
export const BuiltinMethods = {
  /** (service id, signal id, link id) → the link id the server keeps. */
  registerEvent: builtin<[number, number, bigint], bigint>('registerEvent', '(IIL)', 'L'),
  unregisterEvent: builtin<[number, number, bigint], void>('unregisterEvent', '(IIL)', 'v'),
  /** (object id, ignored by servers) → the object's MetaObject. */
  metaObject: builtin<[number], MetaObject>('metaObject', '(I)', METAOBJECT_SIGNATURE),
  /** (service id): the peer releases an object it received by reference. */
  terminate: builtin<[number], void>('terminate', '(I)', 'v'),
  /** (property name or id) → its value. */
  property: builtin<[Dynamic], Dynamic>('property', '(m)', 'm'),
  /** (property name or id, value). */
  setProperty: builtin<[Dynamic, Dynamic], void>('setProperty', '(mm)', 'v'),
  properties: builtin<[], string[]>('properties', '()', '[s]'),
  registerEventWithSignature: builtin<[number, number, bigint, string], bigint>(
    'registerEventWithSignature',
    '(IILs)',
    'L',
  ),
  isStatsEnabled: builtin<[], boolean>('isStatsEnabled', '()', 'b'),
  enableStats: builtin<[boolean], void>('enableStats', '(b)', 'v'),
  stats: builtin<[], Map<number, MethodStatistics>>('stats', '()', STATS_SIGNATURE),
  clearStats: builtin<[], void>('clearStats', '()', 'v'),
  isTraceEnabled: builtin<[], boolean>('isTraceEnabled', '()', 'b'),
  enableTrace: builtin<[boolean], void>('enableTrace', '(b)', 'v'),
} as const;

const TRACE_SIGNATURE =
  '((IiIm(ll)<timeval,tv_sec,tv_usec>llII)<EventTrace,id,kind,slotId,arguments,timestamp,userUsTime,systemUsTime,callerContext,calleeContext>)';

/** A fresh MetaObject holding only the built-in members. */
export function builtinMetaObject(): MetaObject {
  const meta: MetaObject = { methods: new Map(), signals: new Map(), properties: new Map(), description: '' };
  for (const { action: uid, name, args, returns } of Object.values(BuiltinMethods)) {
    meta.methods.set(uid, {
      uid,
      returnSignature: returns.signature,
      name,
      parametersSignature: args.signature,
      description: '',
      parameters: [],
      returnDescription: '',
    });
  }
  meta.signals.set(Builtin.traceObject, { uid: Builtin.traceObject, name: 'traceObject', signature: TRACE_SIGNATURE });
  return meta;
}

/** An object on a connection: its service id and object id within the service. */
export interface ObjectAddress {
  readonly service: number;
  readonly object: number;
}

/** Asks the object at `at` for its MetaObject (`metaObject`, 2). */
export function fetchMetaObject(channel: Channel, at: ObjectAddress, options?: CallOptions): Promise<MetaObject> {
  const m = BuiltinMethods.metaObject;
  return channel.call(
    { service: at.service, object: at.object, action: m.action },
    m.args,
    [0],
    m.returns,
    options,
  ) as Promise<MetaObject>;
}

/** Subscribes to signal `signal` of the object at `at` under `link` (`registerEvent`, 0); resolves with the server's link. */
export function registerEvent(
  channel: Channel,
  at: ObjectAddress,
  signal: number,
  link: bigint,
  options?: CallOptions,
): Promise<bigint> {
  const m = BuiltinMethods.registerEvent;
  const address = { service: at.service, object: at.object, action: m.action };
  return channel.call(address, m.args, [at.service, signal, link], m.returns, options) as Promise<bigint>;
}

/** Ends the subscription `link` to signal `signal` of the object at `at` (`unregisterEvent`, 1). */
export function unregisterEvent(
  channel: Channel,
  at: ObjectAddress,
  signal: number,
  link: bigint,
  options?: CallOptions,
): Promise<void> {
  const m = BuiltinMethods.unregisterEvent;
  const address = { service: at.service, object: at.object, action: m.action };
  return channel.call(address, m.args, [at.service, signal, link], m.returns, options) as Promise<void>;
}

/** Tells the owner of the object at `at` that it is released (a `terminate` post, 3, as libqi sends it). */
export function postTerminate(channel: Channel, at: ObjectAddress): void {
  const m = BuiltinMethods.terminate;
  channel.post({ service: at.service, object: at.object, action: m.action }, m.args, [at.service]);
}
