/// <reference lib="dom" />
/**
 * Renders qi values for people: JSON-like text with Maps, bigints, byte blobs (size and a hex preview),
 * dynamics (with their signature), structs and object references; images (a struct with width,
 * height and grey or RGB bytes) as a picture.
 */
import { Dynamic, ObjectReference, backendOf } from '../browser/index.js';
import { h } from './dom.js';

const MAX_ITEMS = 200;

/** One value as indented text. */
export function formatValue(v: unknown, indent = ''): string {
  if (v === undefined) return 'void';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v !== 'object') return String(v);
  if (v instanceof Dynamic)
    return v.isEmpty
      ? `<dynamic ${v.signature === '' ? 'empty' : 'void'}>`
      : `${formatValue(v.value, indent)} <${v.signature}>`;
  if (v instanceof Uint8Array) return bytes(v);
  if (v instanceof ObjectReference) return v.isNull ? '<null object>' : `<object ${v.serviceId}.${v.objectId}>`;
  const backend = backendOf(v);
  if (backend)
    return `<object ${backend.name}: ${[...new Set([...backend.type.methods.values()].filter((m) => m.uid >= 100).map((m) => m.name))].join(', ')}>`;
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const items = v.slice(0, MAX_ITEMS).map((x) => inner + formatValue(x, inner));
    if (v.length > MAX_ITEMS) items.push(`${inner}… ${v.length - MAX_ITEMS} more`);
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : Object.entries(v);
  if (entries.length === 0) return v instanceof Map ? 'Map {}' : '{}';
  const items = entries
    .slice(0, MAX_ITEMS)
    .map(
      ([k, x]) =>
        `${inner}${typeof k === 'string' && !(v instanceof Map) ? k : formatValue(k, inner)}: ${formatValue(x, inner)}`,
    );
  if (entries.length > MAX_ITEMS) items.push(`${inner}… ${entries.length - MAX_ITEMS} more`);
  return `${v instanceof Map ? 'Map ' : ''}{\n${items.join(',\n')}\n${indent}}`;
}

/** A short one-line form, for signal streams and property values. */
export function formatShort(v: unknown): string {
  const text = formatValue(v).replace(/\n\s*/g, ' ');
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function bytes(b: Uint8Array): string {
  const hex = Array.from(b.subarray(0, 16), (x) => x.toString(16).padStart(2, '0')).join(' ');
  return `<${b.length} bytes${b.length > 0 ? `: ${hex}${b.length > 16 ? ' …' : ''}` : ''}>`;
}

/** A picture of an image-like struct ({ width, height, data } with 1 or 3 bytes per pixel), or undefined. */
export function imageOf(v: unknown): HTMLCanvasElement | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const { width, height, data } = v as { width?: unknown; height?: unknown; data?: unknown };
  if (
    typeof width !== 'number' ||
    typeof height !== 'number' ||
    !(data instanceof Uint8Array) ||
    width <= 0 ||
    height <= 0 ||
    width * height > 4096 * 4096
  )
    return undefined;
  const channels = data.length / (width * height);
  if (channels !== 1 && channels !== 3 && channels !== 4) return undefined;
  const canvas = h('canvas', { width, height, class: 'image' });
  const ctx = canvas.getContext('2d');
  if (ctx === null) return undefined;
  const img = ctx.createImageData(width, height);
  for (let i = 0, j = 0; i < width * height; i++, j += channels) {
    img.data[i * 4] = data[j];
    img.data[i * 4 + 1] = data[channels === 1 ? j : j + 1];
    img.data[i * 4 + 2] = data[channels === 1 ? j : j + 2];
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}
