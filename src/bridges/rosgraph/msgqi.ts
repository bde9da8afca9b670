/**
 * qi signatures as ROS message types (the table in docs/bridges.md): the arguments of a qi signal or
 * method become one message. No argument: std_msgs/Empty; one scalar or string: its std_msgs type
 * (`data`); one struct: a message of its fields, `qi_msgs/<StructName>`; anything else: a message
 * `qi_msgs/<Service>_<member>` with a field per argument (`data` for one, else the parameter names or
 * `arg0`, `arg1`…). Fields: scalars as ROS builtins (float → float32, double → float64), raw → uint8[],
 * lists → arrays, image structs → sensor_msgs/Image (./image.ts), other structs and tuples → nested messages. Maps, optionals, dynamics and objects have no
 * ROS equivalent: such members are not bridged, and the operator is told why.
 */
import { QiError } from '../../errors/index.js';
import { describeType } from '../ros/json.js';
import type { Signature } from '../../type/index.js';
import type { Builtin, FieldType, MsgSpec } from './msgspec.js';
import { imageField, isImage } from './image.js';

const SCALARS: Record<string, [Builtin, string]> = {
  bool: ['bool', 'Bool'],
  int8: ['int8', 'Int8'],
  uint8: ['uint8', 'UInt8'],
  int16: ['int16', 'Int16'],
  uint16: ['uint16', 'UInt16'],
  int32: ['int32', 'Int32'],
  uint32: ['uint32', 'UInt32'],
  int64: ['int64', 'Int64'],
  uint64: ['uint64', 'UInt64'],
  float: ['float32', 'Float32'],
  double: ['float64', 'Float64'],
  string: ['string', 'String'],
};

/** A ROS message type for some qi arguments, and the conversions of values both ways. */
export interface QiMessageType {
  readonly spec: MsgSpec;
  /** qi arguments → a message value (for {@link serialize}). */
  toMessage(args: readonly unknown[]): Record<string, unknown>;
  /** A decoded message → qi arguments. */
  fromMessage(msg: Record<string, unknown>): unknown[];
}

/** A ROS name part from any text: letters, digits and `_`, starting with a letter. */
export function rosIdentifier(text: string): string {
  const s = text.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z]/.test(s) ? s : `Q${s}`;
}

function unmappable(sig: Signature, where: string): QiError {
  return new QiError(
    'ERR_QI_VALUE',
    `${where} is a ${describeType(sig)}, which has no ROS message equivalent (maps, optionals, dynamics and objects are not bridged to the ROS graph)`,
  );
}

/** A field of a generated message: its ROS type, and its values both ways. */
export interface Field {
  type: FieldType;
  toRos(v: unknown): unknown;
  fromRos(v: unknown): unknown;
}

const same = (v: unknown) => v;

function fieldOf(sig: Signature, hint: string, where: string, depth: number): Field {
  if (depth > 16) throw new QiError('ERR_QI_VALUE', `${where} nests deeper than 16 levels`);
  const scalar = SCALARS[sig.kind];
  if (scalar) return { type: { kind: 'builtin', name: scalar[0] }, toRos: same, fromRos: same };
  if (sig.kind === 'raw')
    return {
      type: { kind: 'array', element: { kind: 'builtin', name: 'uint8' } },
      toRos: (v) => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v),
      fromRos: same,
    };
  if (sig.kind === 'list') {
    if (sig.element.kind === 'list' || sig.element.kind === 'raw')
      throw new QiError('ERR_QI_VALUE', `${where} is a ${describeType(sig)}: ROS has no arrays of arrays`);
    const e = fieldOf(sig.element, hint, `${where}[]`, depth + 1);
    const bytes = sig.element.kind === 'uint8';
    return {
      type: { kind: 'array', element: e.type },
      toRos: (v) => (Array.isArray(v) ? v.map(e.toRos) : v),
      fromRos: (v) => (bytes && Buffer.isBuffer(v) ? [...v] : Array.isArray(v) ? v.map(e.fromRos) : v),
    };
  }
  if (isImage(sig)) return imageField(sig, where);
  if (sig.kind === 'tuple') {
    const names = sig.fields ?? sig.members.map((_, i) => `item${i}`);
    const fields = sig.members.map((m, i) => fieldOf(m, `${hint}_${names[i]}`, `${where}.${names[i]}`, depth + 1));
    const spec: MsgSpec = {
      type: `qi_msgs/${rosIdentifier(sig.fields && sig.name ? sig.name : hint)}`,
      constants: [],
      fields: names.map((name, i) => ({ name: rosIdentifier(name), type: fields[i].type })),
    };
    const rosNames = spec.fields.map((f) => f.name);
    return {
      type: { kind: 'msg', spec },
      toRos: (v) => {
        if (typeof v !== 'object' || v === null) return v;
        const vals = Array.isArray(v) ? v : names.map((n) => (v as Record<string, unknown>)[n]);
        return Object.fromEntries(rosNames.map((n, i) => [n, fields[i].toRos(vals[i])]));
      },
      fromRos: (v) => {
        const o = v as Record<string, unknown>;
        const vals = rosNames.map((n, i) => fields[i].fromRos(o[n]));
        return sig.fields ? Object.fromEntries(names.map((n, i) => [n, vals[i]])) : vals;
      },
    };
  }
  throw unmappable(sig, where);
}

/**
 * The ROS message type of the arguments `params` of `service.member`.
 * @param names the parameters' names, when the MetaObject has them
 * @throws QiError `ERR_QI_VALUE` when an argument has no ROS equivalent
 */
export function messageTypeOf(
  service: string,
  member: string,
  params: readonly Signature[],
  names: readonly string[] = [],
): QiMessageType {
  const what = `${service}.${member}`;
  if (params.length === 0)
    return {
      spec: { type: 'std_msgs/Empty', constants: [], fields: [] },
      toMessage: () => ({}),
      fromMessage: () => [],
    };
  if (params.length === 1) {
    const p = params[0];
    const scalar = SCALARS[p.kind];
    if (scalar) {
      const spec: MsgSpec = {
        type: `std_msgs/${scalar[1]}`,
        constants: [],
        fields: [{ name: 'data', type: { kind: 'builtin', name: scalar[0] } }],
      };
      return { spec, toMessage: (a) => ({ data: a[0] }), fromMessage: (m) => [m.data] };
    }
    if (p.kind === 'tuple' && p.fields && p.name) {
      const f = fieldOf(p, rosIdentifier(p.name), `the argument of ${what}`, 0);
      if (f.type.kind !== 'msg') throw unmappable(p, what);
      return {
        spec: f.type.spec,
        toMessage: (a) => f.toRos(a[0]) as Record<string, unknown>,
        fromMessage: (m) => [f.fromRos(m)],
      };
    }
  }
  const fieldNames = params.length === 1 ? ['data'] : params.map((_, i) => names[i] || `arg${i}`);
  return structMessage(`qi_msgs/${rosIdentifier(service)}_${rosIdentifier(member)}`, params, fieldNames, what);
}

/**
 * A generated message type `typeName` with one field per argument, named `names` (made ROS names).
 * @throws QiError `ERR_QI_VALUE` when an argument has no ROS equivalent
 */
export function structMessage(
  typeName: string,
  params: readonly Signature[],
  names: readonly string[],
  what = typeName,
): QiMessageType {
  const fieldNames = names.map(rosIdentifier);
  const hint = typeName.slice(typeName.indexOf('/') + 1);
  const fields = params.map((p, i) => fieldOf(p, `${hint}_${fieldNames[i]}`, `argument ${i} of ${what}`, 1));
  const spec: MsgSpec = {
    type: typeName,
    constants: [],
    fields: fields.map((f, i) => ({ name: fieldNames[i], type: f.type })),
  };
  return {
    spec,
    toMessage: (a) => Object.fromEntries(fieldNames.map((n, i) => [n, fields[i].toRos(a[i])])),
    fromMessage: (m) => fieldNames.map((n, i) => fields[i].fromRos(m[n])),
  };
}
