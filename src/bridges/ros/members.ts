/**
 * The qi side of a ROS name: which member of which service it is (method, signal or property), its
 * parameters for mapping ROS arguments, and errors that say what exists.
 */
import type { MethodInfo, ObjectBackend, PropertyInfo, SignalInfo } from '../../object/index.js';
import type { Signature } from '../../type/index.js';
import { RosValueError } from './json.js';
import { argsFromRos, paramsOf, type Param } from './messages.js';

/** A member of a qi object, as the bridge uses it. */
export type Member =
  | { kind: 'method'; overloads: MethodInfo[] }
  | { kind: 'signal'; info: SignalInfo; params: Param[] }
  | { kind: 'property'; info: PropertyInfo; type: Signature };

/** A ROS name that maps to nothing, or to something that cannot be used that way. */
export class RosLookupError extends Error {}

const user = <T extends { uid: number }>(x: T | undefined): T | undefined =>
  x !== undefined && x.uid >= 100 ? x : undefined;

function names(map: Map<string, { uid: number } | { uid: number }[]>): string {
  const list = [...map]
    .filter(([, v]) => (Array.isArray(v) ? v.some((x) => x.uid >= 100) : v.uid >= 100))
    .map(([k]) => k);
  return list.join(', ') || 'none';
}

/** The member `name` of a service (built-in members, ids below 100, are never bridged). */
export function findMember(backend: ObjectBackend, service: string, name: string, rosName: string): Member {
  const type = backend.type;
  const p = user(type.propertiesByName.get(name));
  if (p !== undefined) return { kind: 'property', info: p, type: p.type.type };
  const overloads = (type.methodsByName.get(name) ?? []).filter((m) => m.uid >= 100);
  if (overloads.length > 0) return { kind: 'method', overloads };
  const s = user(type.signalsByName.get(name));
  if (s !== undefined) return { kind: 'signal', info: s, params: paramsOf(s.params.type) };
  throw new RosLookupError(
    `unknown name ${rosName}: the qi service ${service} has no member "${name}" (methods: ${names(type.methodsByName)}; signals: ${names(type.signalsByName)}; properties: ${names(type.propertiesByName)})`,
  );
}

/** The parameters of one overload, named from its MetaObject. */
export function methodParams(m: MethodInfo): Param[] {
  return paramsOf(
    m.params.type,
    m.meta.parameters.map((p) => p.name),
  );
}

/** ROS arguments as the qi arguments of the first overload they fit. @throws {@link RosValueError} */
export function argsForMethod(
  overloads: readonly MethodInfo[],
  args: unknown,
  what: string,
): { method: MethodInfo; args: unknown[] } {
  let first: unknown;
  for (const m of overloads) {
    try {
      return {
        method: m,
        args: argsFromRos(methodParams(m), args, overloads.length > 1 ? `${what}${m.meta.parametersSignature}` : what),
      };
    } catch (e) {
      first ??= e;
    }
  }
  if (overloads.length > 1 && first instanceof RosValueError) {
    throw new RosValueError(
      `${(first as Error).message} (it has ${overloads.length} overloads: ${overloads.map((m) => m.meta.parametersSignature).join(', ')})`,
    );
  }
  throw first;
}
