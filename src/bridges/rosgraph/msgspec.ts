/**
 * ROS 1 message definitions: their fields, the text ROS hashes into a type's md5sum, and the full text
 * (`message_definition`) sent in connection headers. Definitions come from qi signatures
 * (./msgqi.ts) or from a peer's connection header ({@link parseDefinition}), which is hostile input:
 * sizes and nesting are bounded.
 *
 * md5sum rules (ROS wiki, msg / ROS/Technical Overview): the hashed text lists constants first
 * (`type NAME=value`), then fields (`type name`), one per line, without a final newline; a field whose
 * type is a message is written with that message's md5sum instead of its type name, without any
 * array suffix.
 */
import { createHash } from 'node:crypto';
import { QiError } from '../../errors/index.js';

/** The ROS builtin field types. */
export const BUILTINS = [
  'bool',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'float32',
  'float64',
  'string',
  'time',
  'duration',
  'char',
  'byte',
] as const;
export type Builtin = (typeof BUILTINS)[number];

/** The type of one field. */
export type FieldType =
  | { kind: 'builtin'; name: Builtin }
  | { kind: 'msg'; spec: MsgSpec }
  | { kind: 'array'; element: FieldType; length?: number };

/** A message type: `pkg/Name`, its constants (as written) and its fields. */
export interface MsgSpec {
  readonly type: string;
  readonly constants: readonly string[];
  readonly fields: readonly { name: string; type: FieldType }[];
}

/** The `=` line between definitions in a full text. */
const SEPARATOR = '='.repeat(80);

function typeText(t: FieldType): string {
  if (t.kind === 'builtin') return t.name;
  if (t.kind === 'msg') return t.spec.type;
  return `${typeText(t.element)}[${t.length ?? ''}]`;
}

/** The definition as written in a .msg file (constants, then fields), with a final newline. */
export function definitionText(spec: MsgSpec): string {
  return [...spec.constants, ...spec.fields.map((f) => `${typeText(f.type)} ${f.name}`)].map((l) => `${l}\n`).join('');
}

function baseOf(t: FieldType): FieldType {
  return t.kind === 'array' ? baseOf(t.element) : t;
}

const md5Cache = new WeakMap<MsgSpec, string>();

/** The md5sum ROS computes for a message type. */
export function md5sum(spec: MsgSpec): string {
  let sum = md5Cache.get(spec);
  if (sum === undefined) {
    const lines = spec.fields.map((f) => {
      const b = baseOf(f.type);
      return b.kind === 'msg' ? `${md5sum(b.spec)} ${f.name}` : `${typeText(f.type)} ${f.name}`;
    });
    sum = createHash('md5')
      .update([...spec.constants, ...lines].join('\n'))
      .digest('hex');
    md5Cache.set(spec, sum);
  }
  return sum;
}

/** The md5sum of a service: of its request's and its response's hashed texts, concatenated. */
export function serviceMd5sum(request: MsgSpec, response: MsgSpec): string {
  const text = (s: MsgSpec) =>
    [
      ...s.constants,
      ...s.fields.map((f) => {
        const b = baseOf(f.type);
        return b.kind === 'msg' ? `${md5sum(b.spec)} ${f.name}` : `${typeText(f.type)} ${f.name}`;
      }),
    ].join('\n');
  return createHash('md5')
    .update(text(request) + text(response))
    .digest('hex');
}

/** The messages a type uses, each once, depth first. */
export function dependencies(spec: MsgSpec, out = new Map<string, MsgSpec>()): Map<string, MsgSpec> {
  for (const f of spec.fields) {
    const b = baseOf(f.type);
    if (b.kind === 'msg' && !out.has(b.spec.type)) {
      out.set(b.spec.type, b.spec);
      dependencies(b.spec, out);
    }
  }
  return out;
}

/** The full text of a type (`message_definition`): its definition, then each message it uses. */
export function fullText(spec: MsgSpec): string {
  let text = definitionText(spec);
  for (const [type, dep] of dependencies(spec)) text += `${SEPARATOR}\nMSG: ${type}\n${definitionText(dep)}`;
  return text;
}

function bad(what: string): QiError {
  return new QiError('ERR_QI_PROTOCOL', `bad ROS message definition: ${what}`);
}

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const TYPE = /^([A-Za-z][A-Za-z0-9_]*\/)?[A-Za-z][A-Za-z0-9_]*(\[\d{0,9}\])?$/;

/**
 * Parses a full text (as in a connection header) of the type `type`. Lines are `type name`,
 * `type NAME=value` or comments; `Header` means `std_msgs/Header`; names without a package are looked
 * up in the package of the message that uses them.
 * @throws QiError `ERR_QI_PROTOCOL` for what is not a definition, a type used but not defined, or nesting deeper than 32
 */
export function parseDefinition(type: string, text: string): MsgSpec {
  if (text.length > 1024 * 1024) throw bad('longer than 1 MiB');
  const sections = new Map<string, string[]>();
  let current: string[] = [];
  sections.set(type, current);
  for (const raw of text.split('\n')) {
    if (raw.startsWith(SEPARATOR)) continue;
    if (raw.startsWith('MSG: ')) {
      current = [];
      sections.set(raw.slice(5).trim(), current);
      continue;
    }
    current.push(raw);
  }
  const done = new Map<string, MsgSpec>();
  const build = (name: string, depth: number): MsgSpec => {
    if (depth > 32) throw bad('messages nest deeper than 32 levels (or a message contains itself)');
    const known = done.get(name);
    if (known) return known;
    const lines = sections.get(name);
    if (lines === undefined) throw bad(`the type ${name} is used but not defined`);
    const pkg = name.includes('/') ? name.slice(0, name.indexOf('/')) : '';
    const constants: string[] = [];
    const fields: { name: string; type: FieldType }[] = [];
    for (const raw of lines) {
      const line = raw.replace(/#.*$/, '').trim();
      if (line === '') continue;
      const m = /^(\S+)\s+([^=\s]+)\s*(=.*)?$/.exec(line);
      if (!m || !TYPE.test(m[1])) throw bad(`cannot read the line ${JSON.stringify(line.slice(0, 80))}`);
      if (m[3] !== undefined) {
        constants.push(`${m[1]} ${m[2]}=${m[3].slice(1).trim()}`);
        continue;
      }
      if (!NAME.test(m[2])) throw bad(`bad field name ${JSON.stringify(m[2].slice(0, 80))}`);
      fields.push({ name: m[2], type: fieldType(m[1], pkg, (n) => build(n, depth + 1)) });
    }
    const spec = { type: name, constants, fields };
    done.set(name, spec);
    return spec;
  };
  return build(type, 0);
}

function fieldType(text: string, pkg: string, msg: (name: string) => MsgSpec): FieldType {
  const a = /^(.*)\[(\d*)\]$/.exec(text);
  if (a) {
    const length = a[2] === '' ? undefined : Number(a[2]);
    if (length !== undefined && length > 1 << 24) throw bad(`a fixed array of ${length} elements`);
    return { kind: 'array', element: fieldType(a[1], pkg, msg), length };
  }
  if ((BUILTINS as readonly string[]).includes(text)) return { kind: 'builtin', name: text as Builtin };
  const full = text === 'Header' ? 'std_msgs/Header' : text.includes('/') ? text : `${pkg}/${text}`;
  return { kind: 'msg', spec: msg(full) };
}
