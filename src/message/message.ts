/**
 * A qi message: header fields plus the payload kept as bytes. Nobody decodes a payload until a consumer
 * that knows its signature asks (a gateway forwards most messages without ever decoding them).
 */
import { annotate, compile, Writer, type Codec, type CodecOptions, type DecodeOptions } from '../type/index.js';
import { HEADER_SIZE, PROTOCOL_VERSION, messageTypeName, writeHeaderOf } from './header.js';

/** The addressing and kind of a message: everything in the header but the size. */
export interface MessageFields {
  id: number;
  type: number;
  flags?: number;
  service: number;
  object: number;
  action: number;
}

/** Payloads may not exceed what the 32-bit size field can say. */
export const MAX_WIRE_PAYLOAD = 0xffff_ffff;

/** One message: header fields and the payload bytes (decoded on demand with {@link Message.decode}). */
export class Message {
  private view: Buffer | undefined;

  /**
   * @param bytes a buffer holding the payload at `[start, end)` (by default: all of it)
   * @param framed the message's 28-byte header is in `bytes` right before `start`, as it was received (see
   *   {@link rewriteHeader})
   */
  constructor(
    readonly id: number,
    readonly type: number,
    readonly flags: number,
    readonly service: number,
    readonly object: number,
    readonly action: number,
    private readonly bytes: Buffer,
    private readonly start = 0,
    private readonly end = bytes.length,
    private framed = false,
  ) {}

  /**
   * For a forwarder: when this message is still framed as it was received (its header in front of its payload in
   * the received bytes), writes a header with `fields` over the received one, once (a later call returns false),
   * and gives the whole message to `sink` as `bytes[from, to)` to send as it is: no copy. False, and nothing
   * written, otherwise.
   */
  rewriteHeader(fields: MessageFields, sink: (bytes: Buffer, from: number, to: number) => void): boolean {
    if (!this.framed) return false;
    this.framed = false;
    writeMessageHeader(this.bytes, this.start - HEADER_SIZE, fields, this.end - this.start);
    sink(this.bytes, this.start - HEADER_SIZE, this.end);
    return true;
  }

  /** The payload bytes: a view on the received data, not a copy (made when first asked for). */
  get payload(): Buffer {
    return (this.view ??=
      this.start === 0 && this.end === this.bytes.length ? this.bytes : this.bytes.subarray(this.start, this.end));
  }

  /** Payload size in bytes. */
  get size(): number {
    return this.end - this.start;
  }

  /** Builds a message from its fields and a payload already encoded. */
  static of(fields: MessageFields, payload: Uint8Array = EMPTY): Message {
    const p = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return new Message(fields.id, fields.type, fields.flags ?? 0, fields.service, fields.object, fields.action, p);
  }

  /** Decodes the payload with a signature the consumer knows. Trailing bytes are ignored, as libqi does. */
  decode<T = unknown>(signature: string | Codec<T>, options?: DecodeOptions): T {
    const codec = typeof signature === 'string' ? compile<T>(signature) : signature;
    if (options?.allowTrailing === false) return codec.decode(this.payload, options);
    return codec.decodeLenient(this.bytes, options, this.start, this.end);
  }

  /** The whole message as bytes: header then payload. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(HEADER_SIZE + this.payload.length);
    writeMessageHeader(out, 0, this, this.payload.length);
    this.payload.copy(out, HEADER_SIZE);
    return out;
  }

  /** Header and payload as separate buffers, for a vectored write without copying the payload. */
  toBuffers(): Buffer[] {
    const head = Buffer.allocUnsafe(HEADER_SIZE);
    writeMessageHeader(head, 0, this, this.payload.length);
    return this.payload.length === 0 ? [head] : [head, this.payload];
  }

  /** libqi's way of naming a message in logs: `Call {2.1.100, id:3} (8 bytes)`. */
  toString(): string {
    return `${messageTypeName(this.type)} {${this.service}.${this.object}.${this.action}, id:${this.id}} (${this.payload.length} bytes)`;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Writes the header of a message with these fields and a payload of `size` bytes at `offset` of `buf`
 * (28 bytes must be there): the one place where messages get their header.
 * @throws RangeError when `size` does not fit the 32-bit size field.
 */
export function writeMessageHeader(buf: Uint8Array, offset: number, f: MessageFields, size: number): void {
  writeMessageHeaderOf(buf, offset, f.id, f.type, f.flags ?? 0, f.service, f.object, f.action, size);
}

/** {@link writeMessageHeader} from the fields one by one: no object per message on the paths that send many. */
export function writeMessageHeaderOf(
  buf: Uint8Array,
  offset: number,
  id: number,
  type: number,
  flags: number,
  service: number,
  object: number,
  action: number,
  size: number,
): void {
  if (size > MAX_WIRE_PAYLOAD)
    throw new RangeError(`a qi message payload is at most ${MAX_WIRE_PAYLOAD} bytes, got ${size}`);
  writeHeaderOf(buf, offset, id, size, PROTOCOL_VERSION, type, flags, service, object, action);
}

/**
 * Encodes a whole message, header included, straight from a value: the payload is written after a
 * reserved header, so small messages are one buffer and large raw values are not copied.
 * @returns the message as buffers to write in order (usually one).
 * @throws {@link QiValueError} when `value` does not fit `signature`.
 */
export function encodeMessage(
  fields: MessageFields,
  signature: string | Codec,
  value: unknown,
  options?: CodecOptions & { name?: string },
  name = options?.name ?? 'value',
): Buffer[] {
  const w = new Writer(options, 256, HEADER_SIZE);
  encodeInto(w, fields, signature, value, name);
  return w.finishChunks();
}

/**
 * Encodes a whole message into `w` (reset first, or pointed `into` a buffer, with the header reserved; the header
 * is written last): the bytes are `w.buf[w.headOffset, w.pos)` unless `w.chunked`, then `w.finishChunks()`.
 * Lets a sender reuse one writer.
 */
export function encodeInto(
  w: Writer,
  fields: MessageFields,
  signature: string | Codec,
  value: unknown,
  name = 'value',
): void {
  encodePayloadInto(w, signature, value, name);
  writeMessageHeader(w.head, w.headOffset, fields, w.length - HEADER_SIZE);
}

/**
 * The payload half of {@link encodeInto}: writes `value` after the reserved header of `w`, and leaves the header to
 * the caller ({@link writeMessageHeaderOf} at `w.head`, `w.headOffset`, with size `w.length - HEADER_SIZE`).
 */
export function encodePayloadInto(w: Writer, signature: string | Codec, value: unknown, name = 'value'): void {
  const codec = typeof signature === 'string' ? compile(signature) : signature;
  try {
    codec.write(w, value);
  } catch (e) {
    throw annotate(e, name, codec.signature);
  }
}
