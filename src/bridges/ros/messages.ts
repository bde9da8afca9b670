/**
 * ROS messages and service arguments from and to qi values (converted by ./json.ts): a struct or map is
 * the message itself, another value is `{"data": value}` as in std_msgs; a method's arguments come as a
 * list, by parameter name, as the single struct argument, or as `{"data": …}`. The rules are in
 * docs/bridges.md.
 */
import type { Signature } from '../../type/index.js';
import { describeType, fromJson, isObject, RosValueError, toJson } from './json.js';

/** True when values of a qi type can be JSON objects: structs, maps and dynamics. */
const wantsObject = (sig: Signature) =>
  (sig.kind === 'tuple' && sig.fields !== undefined) || sig.kind === 'map' || sig.kind === 'dynamic';

/**
 * A qi value as a ROS message (a JSON object): structs and maps are the message itself; void is `{}`;
 * any other value is `{"data": value}`, as in std_msgs (std_msgs/String, Int32, Float64…).
 */
export function messageOf(value: unknown, sig: Signature): Record<string, unknown> {
  if (sig.kind === 'void') return {};
  const json = toJson(value);
  return isObject(json) && wantsObject(sig) ? json : { data: json };
}

/** The arguments of a signal as a ROS message: none `{}`, one as {@link messageOf}, several `{"data": [a, b, …]}`. */
export function messageOfArgs(args: readonly unknown[], sigs: readonly Signature[]): Record<string, unknown> {
  if (sigs.length === 0) return {};
  if (sigs.length === 1) return messageOf(args[0], sigs[0]);
  return { data: args.map((a) => toJson(a)) };
}

/** A parameter of a qi method or signal, for mapping ROS arguments onto it. */
export interface Param {
  readonly sig: Signature;
  /** The parameter's name from the MetaObject, else `arg0`, `arg1`… */
  readonly name: string;
}

/** The parameters of a tuple signature, named from `names` where given. */
export function paramsOf(tuple: Signature, names: readonly string[] = []): Param[] {
  const members = tuple.kind === 'tuple' ? tuple.members : [tuple];
  return members.map((sig, i) => ({ sig, name: names[i] || `arg${i}` }));
}

function usage(params: readonly Param[]): string {
  if (params.length === 0) return 'no arguments';
  const names = params.map((p) => p.name);
  const list = params.map((p) => `${p.name}: ${describeType(p.sig)}`).join(', ');
  const byName = names.map((n) => `"${n}": …`).join(', ');
  const data = params.length === 1 ? ` or {"data": …}` : ` or {"data": [${names.join(', ')}]}`;
  return `(${list}): pass args as a list [${names.join(', ')}] or an object {${byName}}${data}`;
}

/**
 * ROS arguments (`args` of call_service, `msg` of publish) as positional qi arguments. In order:
 * absent or null → no arguments; an array → positional; an object whose keys are parameter names →
 * by name; an object for a method of one struct/map/dynamic parameter → that argument; `{"data": x}`
 * → x as the single argument, or, x being an array, as the list of arguments; a scalar → the single
 * argument.
 * @throws {@link RosValueError} saying what the method takes
 */
export function argsFromRos(params: readonly Param[], args: unknown, what: string): unknown[] {
  try {
    return mapArgs(params, args, what);
  } catch (e) {
    if (e instanceof RosValueError && !e.message.startsWith(what)) throw new RosValueError(`${what}: ${e.message}`);
    throw e;
  }
}

function mapArgs(params: readonly Param[], args: unknown, what: string): unknown[] {
  const convert = (values: readonly unknown[], where: (i: number) => string) =>
    params.map((p, i) => fromJson(p.sig, values[i], where(i)));
  const arity = () => new RosValueError(`${what} takes ${usage(params)}`);
  if (args === undefined || args === null) {
    if (params.every((p) => p.sig.kind === 'optional')) return params.map(() => null);
    throw arity();
  }
  if (Array.isArray(args)) {
    if (args.length !== params.length) throw arity();
    return convert(args, (i) => `args[${i}]`);
  }
  if (isObject(args)) {
    const keys = Object.keys(args);
    if (params.length === 0) {
      if (keys.length === 0) return [];
      throw arity();
    }
    const names = new Set(params.map((p) => p.name));
    if (
      keys.length > 0 &&
      keys.every((k) => names.has(k)) &&
      !(params.length === 1 && wantsObject(params[0].sig) && !(params[0].name in args))
    ) {
      return params.map((p) => {
        if (!(p.name in args) && p.sig.kind !== 'optional')
          throw new RosValueError(
            `${what}: the argument "${p.name}" (${describeType(p.sig)}) is missing; it takes ${usage(params)}`,
          );
        return fromJson(p.sig, args[p.name], `args.${p.name}`);
      });
    }
    if (
      params.length === 1 &&
      wantsObject(params[0].sig) &&
      !(keys.length === 1 && keys[0] === 'data' && params[0].sig.kind !== 'map')
    )
      return [fromJson(params[0].sig, args, 'args')];
    if (keys.length === 1 && keys[0] === 'data') {
      if (params.length === 1) return [fromJson(params[0].sig, args.data, 'args.data')];
      if (Array.isArray(args.data) && args.data.length === params.length)
        return convert(args.data, (i) => `args.data[${i}]`);
    }
    throw arity();
  }
  if (params.length === 1) return [fromJson(params[0].sig, args, 'args')];
  throw arity();
}

/**
 * A value a qi client passes to a ROS service as its request `args`: an object (struct, map) as is,
 * nothing as `{}`, anything else as `{"data": value}`.
 */
export function requestOf(value: unknown): Record<string, unknown> {
  const json = toJson(value);
  if (json === null) return {};
  return isObject(json) ? json : { data: json };
}
