/**
 * ROS messages received from the graph as qi values: the qi signature of a ROS message type, and a
 * decoded message as a qi dynamic of it. Builtins map to the qi scalars of the same size (float32 →
 * float, float64 → double), uint8/char arrays to raw, other arrays to lists, nested messages, time
 * and duration to structs (`<Time,secs,nsecs>`).
 */
import { Dynamic } from '../../type/index.js';
import type { Builtin, FieldType, MsgSpec } from './msgspec.js';

const CODES: Record<Builtin, string> = {
  bool: 'b',
  int8: 'c',
  byte: 'c',
  uint8: 'C',
  char: 'C',
  int16: 'w',
  uint16: 'W',
  int32: 'i',
  uint32: 'I',
  int64: 'l',
  uint64: 'L',
  float32: 'f',
  float64: 'd',
  string: 's',
  time: '(II)<Time,secs,nsecs>',
  duration: '(ii)<Duration,secs,nsecs>',
};

function fieldSignature(t: FieldType): string {
  if (t.kind === 'builtin') return CODES[t.name];
  if (t.kind === 'msg') return qiSignatureOf(t.spec);
  const e = t.element;
  if (e.kind === 'builtin' && (e.name === 'uint8' || e.name === 'char')) return 'r';
  return `[${fieldSignature(e)}]`;
}

/** The qi signature of a ROS message type: a struct named like it, with its fields. */
export function qiSignatureOf(spec: MsgSpec): string {
  if (spec.fields.length === 0) return '()';
  const name = spec.type.slice(spec.type.lastIndexOf('/') + 1);
  return `(${spec.fields.map((f) => fieldSignature(f.type)).join('')})<${name},${spec.fields.map((f) => f.name).join(',')}>`;
}

/** A decoded ROS message as a qi dynamic of {@link qiSignatureOf} its type. */
export function messageDynamic(spec: MsgSpec, message: Record<string, unknown>): Dynamic {
  return new Dynamic(qiSignatureOf(spec), spec.fields.length === 0 ? [] : message);
}
