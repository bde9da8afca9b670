/**
 * The members every libqi object has (spec §5.4): ids 0–8 for events, introspection and properties,
 * 80–86 for statistics and tracing. They are merged into every MetaObject we send, exactly as libqi
 * advertises them (same names and signatures as in a NAOqi capture).
 */
import { METAOBJECT_SIGNATURE, type MetaObject } from '../type/index.js';

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

const METHODS: [number, string, string, string][] = [
  [0, 'registerEvent', '(IIL)', 'L'],
  [1, 'unregisterEvent', '(IIL)', 'v'],
  [2, 'metaObject', '(I)', METAOBJECT_SIGNATURE],
  [3, 'terminate', '(I)', 'v'],
  [5, 'property', '(m)', 'm'],
  [6, 'setProperty', '(mm)', 'v'],
  [7, 'properties', '()', '[s]'],
  [8, 'registerEventWithSignature', '(IILs)', 'L'],
  [80, 'isStatsEnabled', '()', 'b'],
  [81, 'enableStats', '(b)', 'v'],
  [82, 'stats', '()', STATS_SIGNATURE],
  [83, 'clearStats', '()', 'v'],
  [84, 'isTraceEnabled', '()', 'b'],
  [85, 'enableTrace', '(b)', 'v'],
];

const TRACE_SIGNATURE =
  '((IiIm(ll)<timeval,tv_sec,tv_usec>llII)<EventTrace,id,kind,slotId,arguments,timestamp,userUsTime,systemUsTime,callerContext,calleeContext>)';

/** A fresh MetaObject holding only the built-in members. */
export function builtinMetaObject(): MetaObject {
  const meta: MetaObject = { methods: new Map(), signals: new Map(), properties: new Map(), description: '' };
  for (const [uid, name, parametersSignature, returnSignature] of METHODS) {
    meta.methods.set(uid, {
      uid,
      returnSignature,
      name,
      parametersSignature,
      description: '',
      parameters: [],
      returnDescription: '',
    });
  }
  meta.signals.set(86, { uid: 86, name: 'traceObject', signature: TRACE_SIGNATURE });
  return meta;
}
