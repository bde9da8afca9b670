/**
 * Camera frames as `sensor_msgs/Image`. A qi struct whose fields are `width` and `height` (integers),
 * `encoding` (string) and `data` (raw), with optionally `step` (integer), `is_bigendian` (bool or
 * integer) and `frame_id` (string) and no other field, is an image: it maps to sensor_msgs/Image
 * (header, height, width, encoding, is_bigendian, step, data), whose md5sum is the one rospy and roscpp
 * check. Without `step`, rows are packed (`data.length / height`). Before anything is sent, the sizes
 * are checked against the bytes: `step × height` must be the length of `data`, and for a known
 * encoding `step` must hold `width` pixels; a frame that lies is refused with an error naming the sizes.
 */
import { QiError } from '../../errors/index.js';
import type { Signature } from '../../type/index.js';
import type { MsgSpec } from './msgspec.js';
import type { Field } from './msgqi.js';

/** std_msgs/Header. */
export const HEADER_SPEC: MsgSpec = {
  type: 'std_msgs/Header',
  constants: [],
  fields: [
    { name: 'seq', type: { kind: 'builtin', name: 'uint32' } },
    { name: 'stamp', type: { kind: 'builtin', name: 'time' } },
    { name: 'frame_id', type: { kind: 'builtin', name: 'string' } },
  ],
};

/** sensor_msgs/Image (md5sum 060021388200f6f0f447d0fcd9c64743). */
export const IMAGE_SPEC: MsgSpec = {
  type: 'sensor_msgs/Image',
  constants: [],
  fields: [
    { name: 'header', type: { kind: 'msg', spec: HEADER_SPEC } },
    { name: 'height', type: { kind: 'builtin', name: 'uint32' } },
    { name: 'width', type: { kind: 'builtin', name: 'uint32' } },
    { name: 'encoding', type: { kind: 'builtin', name: 'string' } },
    { name: 'is_bigendian', type: { kind: 'builtin', name: 'uint8' } },
    { name: 'step', type: { kind: 'builtin', name: 'uint32' } },
    { name: 'data', type: { kind: 'array', element: { kind: 'builtin', name: 'uint8' } } },
  ],
};

const INTEGERS = new Set(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);
const REQUIRED: Record<string, (s: Signature) => boolean> = {
  width: (s) => INTEGERS.has(s.kind),
  height: (s) => INTEGERS.has(s.kind),
  encoding: (s) => s.kind === 'string',
  data: (s) => s.kind === 'raw',
};
const OPTIONAL: Record<string, (s: Signature) => boolean> = {
  step: (s) => INTEGERS.has(s.kind),
  is_bigendian: (s) => s.kind === 'bool' || INTEGERS.has(s.kind),
  frame_id: (s) => s.kind === 'string',
};

/** Bytes per pixel of the encodings of sensor_msgs/image_encodings.h (others: not checked). */
const PIXEL_BYTES: Record<string, number> = {
  mono8: 1,
  mono16: 2,
  rgb8: 3,
  bgr8: 3,
  rgba8: 4,
  bgra8: 4,
  rgb16: 6,
  bgr16: 6,
  rgba16: 8,
  bgra16: 8,
  yuv422: 2,
};

function pixelBytes(encoding: string): number | undefined {
  const cv = /^(8|16|32|64)(U|S|F)C([1-4])$/.exec(encoding);
  if (cv) return (Number(cv[1]) / 8) * Number(cv[3]);
  if (/^bayer_(rggb|bggr|gbrg|grbg)(8|16)$/.test(encoding)) return encoding.endsWith('16') ? 2 : 1;
  return PIXEL_BYTES[encoding];
}

/** True when `sig` is a struct of an image's fields (see the module's comment). */
export function isImage(sig: Signature): sig is Signature & { kind: 'tuple'; fields: string[] } {
  if (sig.kind !== 'tuple' || sig.fields === undefined) return false;
  const fields = sig.fields;
  const types = new Map(fields.map((f, i) => [f, sig.members[i]]));
  if (types.size !== fields.length) return false;
  for (const [name, ok] of Object.entries(REQUIRED)) if (!types.has(name) || !ok(types.get(name)!)) return false;
  return fields.every((f) => REQUIRED[f] !== undefined || (OPTIONAL[f] !== undefined && OPTIONAL[f](types.get(f)!)));
}

const int = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);

function checked(where: string, v: Record<string, unknown>): Record<string, unknown> {
  const bad = (m: string) => new QiError('ERR_QI_VALUE', `${where}: ${m}`);
  const [width, height, step] = [int(v.width), int(v.height), int(v.step)];
  const data = v.data;
  const u32 = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  if (!u32(width) || !u32(height))
    throw bad(`width and height must be integers 0…4294967295, got ${String(width)}x${String(height)}`);
  if (!(data instanceof Uint8Array)) throw bad('data must be raw bytes');
  if (typeof v.encoding !== 'string' || v.encoding === '')
    throw bad('encoding must name the pixel format (rgb8, mono8, …)');
  const w = width as number;
  const h = height as number;
  const rowBytes = step === undefined ? (h === 0 ? 0 : data.length / h) : step;
  if (!u32(rowBytes)) throw bad(`${data.length} bytes of data do not make ${h} rows of equal length`);
  const s = rowBytes as number;
  if (s * h !== data.length)
    throw bad(
      `the image says ${w}x${h} with rows of ${s} bytes (${s * h} bytes), but its data has ${data.length} bytes`,
    );
  const px = pixelBytes(v.encoding);
  if (px !== undefined && s < w * px)
    throw bad(`rows of ${s} bytes cannot hold ${w} pixels of ${v.encoding} (${px} bytes each, ${w * px} bytes)`);
  return { width: w, height: h, step: s };
}

/** The field of an image struct `sig` (see {@link isImage}). */
export function imageField(sig: Signature & { kind: 'tuple'; fields: string[] }, where: string): Field {
  const names = sig.fields;
  const kinds = new Map(names.map((f, i) => [f, sig.members[i].kind]));
  let seq = 0;
  return {
    type: { kind: 'msg', spec: IMAGE_SPEC },
    toRos: (value) => {
      if (typeof value !== 'object' || value === null) return value;
      const v: Record<string, unknown> = Array.isArray(value)
        ? Object.fromEntries(names.map((n, i) => [n, (value as unknown[])[i]]))
        : (value as Record<string, unknown>);
      const { width, height, step } = checked(where, v);
      const now = Date.now();
      const big = v.is_bigendian;
      return {
        header: {
          seq: seq++ >>> 0,
          stamp: { secs: Math.floor(now / 1000), nsecs: (now % 1000) * 1e6 },
          frame_id: typeof v.frame_id === 'string' ? v.frame_id : '',
        },
        height,
        width,
        encoding: v.encoding,
        is_bigendian:
          big === true || (typeof big === 'number' && big !== 0) || (typeof big === 'bigint' && big !== 0n) ? 1 : 0,
        step,
        data: v.data instanceof Uint8Array ? Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength) : v.data,
      };
    },
    fromRos: (m) => {
      const o = m as Record<string, unknown>;
      const header = o.header as { frame_id?: unknown } | undefined;
      const from: Record<string, unknown> = { ...o, frame_id: header?.frame_id ?? '' };
      const out: Record<string, unknown> = {};
      for (const n of names) {
        const kind = kinds.get(n)!;
        const x = from[n];
        out[n] =
          n === 'is_bigendian' && kind === 'bool'
            ? x !== 0
            : (kind === 'int64' || kind === 'uint64') && typeof x === 'number'
              ? BigInt(x)
              : x;
      }
      return out;
    },
  };
}

/** NAOqi colour spaces (ALVideoDevice's vision definitions) that have a sensor_msgs encoding. */
const NAOQI_ENCODINGS: Record<number, string> = {
  0: 'mono8', // kYuvColorSpace: Y only
  1: 'mono8', // kyUvColorSpace
  2: 'mono8', // kyuVColorSpace
  3: 'mono8', // kRgbColorSpace: R only
  4: 'mono8', // krGbColorSpace
  5: 'mono8', // krgBColorSpace
  9: 'yuv422', // kYUV422ColorSpace
  10: '8UC3', // kYUVColorSpace
  11: 'rgb8', // kRGBColorSpace
  12: '8UC3', // kHSVColorSpace
  13: 'bgr8', // kBGRColorSpace
  17: '16UC1', // kDepthColorSpace
  23: '16UC1', // kRawDepthColorSpace
};

/** The image struct {@link imageOfALImage} gives. */
export interface ImageStruct {
  width: number;
  height: number;
  encoding: string;
  step: number;
  frame_id: string;
  data: Uint8Array;
}

/**
 * A NAOqi image as `ALVideoDevice.getImageRemote` answers it (an array: width, height, number of
 * layers, colour space, seconds, microseconds, bytes, camera id, then the camera's angles) as an image
 * struct that the ROS graph bridge publishes as sensor_msgs/Image: emit it from a signal of a struct
 * type `{width, height, encoding, step, frame_id, data}`.
 * @throws QiError `ERR_QI_VALUE` for what is not such an array, a colour space without a ROS encoding,
 * or bytes that are not width × height × layers
 */
export function imageOfALImage(value: unknown, frameId = ''): ImageStruct {
  const bad = (m: string) => new QiError('ERR_QI_VALUE', `not an ALImage: ${m}`);
  const v = (value !== null && typeof value === 'object' && 'value' in value ? value.value : value) as unknown;
  if (!Array.isArray(v) || v.length < 7)
    throw bad(
      'expected an array of at least 7 items (width, height, layers, colour space, seconds, microseconds, bytes)',
    );
  const item = (i: number) => {
    const x = v[i] as unknown;
    return x !== null && typeof x === 'object' && 'value' in x && !(x instanceof Uint8Array) ? x.value : x;
  };
  const [width, height, layers, space] = [0, 1, 2, 3].map((i) => int(item(i)));
  const data = item(6);
  for (const [n, x] of [
    ['width', width],
    ['height', height],
    ['layers', layers],
    ['colour space', space],
  ] as const)
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff) throw bad(`its ${n} is not a count`);
  if (!(data instanceof Uint8Array)) throw bad('item 6 is not raw bytes');
  const encoding = NAOQI_ENCODINGS[space as number];
  if (encoding === undefined)
    throw bad(
      `the colour space ${String(space)} has no sensor_msgs encoding (known: ${Object.keys(NAOQI_ENCODINGS).join(', ')})`,
    );
  const step = (width as number) * (layers as number);
  if (step * (height as number) !== data.length)
    throw bad(
      `${String(width)}x${String(height)} with ${String(layers)} layers is ${step * (height as number)} bytes, but it carries ${data.length}`,
    );
  return { width: width as number, height: height as number, encoding, step, frame_id: frameId, data };
}
