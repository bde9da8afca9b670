/// <reference lib="dom" />
/**
 * Form fields generated from qi signatures: a checkbox for bool, number fields for integers and
 * floats, a text field for strings, and JSON text (with the signature shown) for lists, maps, structs,
 * dynamics, raw bytes and the rest. Each field reads back a value the codec accepts, or throws a
 * message saying what to write.
 */
import { parseSignature, printSignature, toJsonValue, type JsonOptions, type Signature } from '../browser/index.js';
import { h } from './dom.js';

/** An input for one value, and how to read it. */
export interface Field {
  readonly element: HTMLElement;
  /** The value entered, in the JS mapping of the signature. @throws Error saying what is wrong */
  read(): unknown;
  /** Shows `value` in the field (for properties). */
  write(value: unknown): void;
}

const INTEGERS = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

/** The parameters of a method: the members of its parameters tuple. */
export function parameters(parametersSignature: string): Signature[] {
  const sig = parseSignature(parametersSignature);
  return sig.kind === 'tuple' ? [...sig.members] : [sig];
}

/** A field for a value of `sig`, labelled `name`. */
export function fieldFor(sig: Signature, name: string, id: string): Field {
  const text = printSignature(sig);
  const label = (input: HTMLElement, hint?: string) =>
    h(
      'label',
      { class: 'field', for: id },
      h('span', { class: 'name' }, name),
      input,
      h('code', { class: 'sig', title: 'qi signature' }, text),
      hint ? h('span', { class: 'hint' }, hint) : null,
    );
  if (sig.kind === 'bool') {
    const input = h('input', { type: 'checkbox', id, name });
    return { element: label(input), read: () => input.checked, write: (v) => (input.checked = v === true) };
  }
  if (INTEGERS.has(sig.kind) || sig.kind === 'float' || sig.kind === 'double') {
    const integer = INTEGERS.has(sig.kind);
    const input = h('input', {
      type: 'text',
      inputMode: integer ? 'numeric' : 'decimal',
      id,
      name,
      placeholder: integer ? '0' : '0.0',
      autocomplete: 'off',
    });
    return {
      element: label(input),
      read: () => number(input.value, sig.kind, name),
      write: (v) => (input.value = typeof v === 'number' && !integer ? String(Math.round(v * 1e6) / 1e6) : String(v)),
    };
  }
  if (sig.kind === 'string') {
    const input = h('input', { type: 'text', id, name, autocomplete: 'off' });
    return { element: label(input), read: () => input.value, write: (v) => (input.value = String(v)) };
  }
  if (sig.kind === 'object') {
    const input = h('input', { type: 'text', id, name, disabled: true, placeholder: 'objects cannot be entered here' });
    return {
      element: label(input),
      read: () => fail(name, 'objects cannot be entered in a form; call this method from code'),
      write: () => {},
    };
  }
  const input = h('textarea', { id, name, rows: 2, spellcheck: false, placeholder: example(sig) });
  return {
    element: label(input, `JSON, e.g. ${example(sig)}`),
    read: () => {
      if (input.value.trim() === '') return fail(name, `enter JSON, e.g. ${example(sig)}`);
      let json: unknown;
      try {
        json = JSON.parse(input.value);
      } catch (e) {
        return fail(name, `not valid JSON (${(e as Error).message})`);
      }
      return fromJson(json, sig, name);
    },
    write: (v) => (input.value = toJson(v)),
  };
}

function fail(name: string, why: string): never {
  throw new Error(`${name}: ${why}`);
}

function number(text: string, kind: string, name: string): number | bigint {
  const t = text.trim();
  if (t === '') return fail(name, 'enter a number');
  if (kind === 'int64' || kind === 'uint64') {
    if (!/^-?\d+$/.test(t)) return fail(name, `"${t}" is not an integer`);
    return BigInt(t);
  }
  const n = Number(t);
  if (!Number.isFinite(n)) return fail(name, `"${t}" is not a number`);
  if (INTEGERS.has(kind) && !Number.isInteger(n)) return fail(name, `"${t}" is not an integer`);
  return n;
}

/** A JSON value into the JS mapping of `sig`: bytes from arrays or text, maps from objects or pairs. */
function fromJson(v: unknown, sig: Signature, name: string): unknown {
  switch (sig.kind) {
    case 'raw':
      if (typeof v === 'string') return new TextEncoder().encode(v);
      if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x < 256))
        return Uint8Array.from(v as number[]);
      return fail(name, 'raw bytes are a JSON array of bytes (0-255) or a string (sent as UTF-8)');
    case 'int64':
    case 'uint64':
      return typeof v === 'number' && Number.isInteger(v)
        ? BigInt(v)
        : typeof v === 'string' && /^-?\d+$/.test(v)
          ? BigInt(v)
          : v;
    case 'list':
    case 'varargs':
      return Array.isArray(v) ? v.map((x, i) => fromJson(x, sig.element, `${name}[${i}]`)) : v;
    case 'optional':
      return v === null ? null : fromJson(v, sig.element, name);
    case 'map': {
      const entries = Array.isArray(v)
        ? (v as [unknown, unknown][])
        : typeof v === 'object' && v !== null
          ? Object.entries(v)
          : undefined;
      if (entries === undefined) return v;
      return new Map(
        entries.map(([k, x]) => [
          fromJson(key(k, sig.key), sig.key, name),
          fromJson(x, sig.value, `${name}.${String(k)}`),
        ]),
      );
    }
    case 'tuple':
      if (Array.isArray(v))
        return v.map((x, i) => (i < sig.members.length ? fromJson(x, sig.members[i], `${name}[${i}]`) : x));
      if (sig.fields && typeof v === 'object' && v !== null) {
        const o = v as Record<string, unknown>;
        return Object.fromEntries(
          sig.fields.map((f, i) => [f, f in o ? fromJson(o[f], sig.members[i], `${name}.${f}`) : undefined]),
        );
      }
      return v;
    default:
      return v;
  }
}

/** JSON object keys are strings: numbers for integer-keyed maps. */
function key(k: unknown, sig: Signature): unknown {
  return typeof k === 'string' && INTEGERS.has(sig.kind) && /^-?\d+$/.test(k) ? Number(k) : k;
}

/** How a field writes a value: bigints as numbers, bytes as arrays (as {@link fromJson} reads them back). */
const FIELD_JSON: JsonOptions = { bigint: 'number', bytes: (b) => Array.from(b), keepUndefined: true };

/** A value as JSON text for a field (bigints as numbers, bytes as arrays, maps as objects). */
export function toJson(v: unknown): string {
  return JSON.stringify(toJsonValue(v, FIELD_JSON));
}

/** A JSON example of a value of `sig`, shown as the placeholder. */
export function example(sig: Signature, depth = 0): string {
  if (depth > 3) return '…';
  switch (sig.kind) {
    case 'bool':
      return 'true';
    case 'string':
      return '"text"';
    case 'float':
    case 'double':
      return '1.5';
    case 'raw':
      return '[1, 2, 3]';
    case 'dynamic':
      return '"any JSON"';
    case 'void':
    case 'none':
      return 'null';
    case 'list':
    case 'varargs':
      return `[${example(sig.element, depth + 1)}]`;
    case 'optional':
      return `${example(sig.element, depth + 1)} or null`;
    case 'map': {
      const key = sig.key.kind === 'string' ? '"key"' : `"${example(sig.key, depth + 1)}"`;
      return `{${key}: ${example(sig.value, depth + 1)}}`;
    }
    case 'tuple':
      return sig.fields
        ? `{${sig.fields.map((f, i) => `"${f}": ${example(sig.members[i], depth + 1)}`).join(', ')}}`
        : `[${sig.members.map((m) => example(m, depth + 1)).join(', ')}]`;
    default:
      return INTEGERS.has(sig.kind) ? '1' : 'null';
  }
}
