/**
 * The 28-byte qi message header (spec §2): magic `42 DE AD 42`, then id, size, version, type, flags,
 * service, object and action, little-endian.
 */

/** Size of every message header, in bytes. */
export const HEADER_SIZE = 28;

/** The magic number as read big-endian from the first four bytes. */
export const MAGIC = 0x42dead42;

/** The only protocol version any implementation sends. */
export const PROTOCOL_VERSION = 0;

/** Message types (header byte 14). */
export const MessageType = {
  None: 0,
  Call: 1,
  Reply: 2,
  Error: 3,
  Post: 4,
  Event: 5,
  Capability: 6,
  Cancel: 7,
  Canceled: 8,
} as const;
/** A message type value (1 Call … 8 Canceled). */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const TYPE_NAMES = Object.fromEntries(Object.entries(MessageType).map(([k, v]) => [v, k])) as Record<number, string>;

/** Name of a message type for logs and errors, e.g. `Call`, or `Unknown(12)`. */
export function messageTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `Unknown(${type})`;
}

/** Header flags (byte 15). */
export const MessageFlags = {
  /** The payload is one dynamic value instead of the layout of the MetaObject signature. */
  DynamicPayload: 0x01,
  /** A Call's payload ends with a string: the signature the caller wants the result converted to. */
  ReturnType: 0x02,
} as const;

/** Fixed ids of the protocol. */
export const WellKnown = {
  /** Service 0 (object 0): the per-connection server object that answers `authenticate`. */
  ServerService: 0,
  ServiceDirectory: 1,
  /** Object id of a service's main object. */
  MainObject: 1,
  /** Action of `authenticate` on the server object. */
  AuthenticateAction: 8,
} as const;

/** The fields of a header; `size` is the payload length in bytes. */
export interface Header {
  id: number;
  size: number;
  version: number;
  type: number;
  flags: number;
  service: number;
  object: number;
  action: number;
}

/** Writes a header at `offset` of `buf` (which must have 28 bytes there). */
export function writeHeader(buf: Uint8Array, offset: number, h: Header): void {
  writeHeaderOf(buf, offset, h.id, h.size, h.version, h.type, h.flags, h.service, h.object, h.action);
}

/** {@link writeHeader} from the fields one by one: no object per message on the paths that send many. */
export function writeHeaderOf(
  b: Uint8Array,
  offset: number,
  id: number,
  size: number,
  version: number,
  type: number,
  flags: number,
  service: number,
  object: number,
  action: number,
): void {
  b[offset] = 0x42;
  b[offset + 1] = 0xde;
  b[offset + 2] = 0xad;
  b[offset + 3] = 0x42;
  u32(b, offset + 4, id);
  u32(b, offset + 8, size);
  b[offset + 12] = version & 0xff;
  b[offset + 13] = (version >>> 8) & 0xff;
  b[offset + 14] = type;
  b[offset + 15] = flags;
  u32(b, offset + 16, service);
  u32(b, offset + 20, object);
  u32(b, offset + 24, action);
}

function u32(b: Uint8Array, p: number, v: number): void {
  b[p] = v;
  b[p + 1] = v >>> 8;
  b[p + 2] = v >>> 16;
  b[p + 3] = v >>> 24;
}

function r32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/** True when the four bytes at `offset` are the qi magic. */
export function hasMagic(b: Uint8Array, offset: number): boolean {
  return b[offset] === 0x42 && b[offset + 1] === 0xde && b[offset + 2] === 0xad && b[offset + 3] === 0x42;
}

/** Reads the header at `offset` (28 bytes must be there). Does not validate; see FrameReader. */
export function readHeader(b: Uint8Array, offset: number): Header {
  return {
    id: r32(b, offset + 4),
    size: r32(b, offset + 8),
    version: b[offset + 12] | (b[offset + 13] << 8),
    type: b[offset + 14],
    flags: b[offset + 15],
    service: r32(b, offset + 16),
    object: r32(b, offset + 20),
    action: r32(b, offset + 24),
  };
}
