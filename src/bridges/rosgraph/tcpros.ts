/**
 * TCPROS framing (ROS wiki, ROS/TCPROS and ROS/Connection Header): a connection opens with a header,
 * a uint32 little-endian length then `key=value` fields each prefixed by its uint32 length; then each
 * message is a uint32 length and its serialized bytes. A service answers each request with one `ok`
 * byte before the length. Peers are hostile: {@link FrameReader} bounds every length it reads.
 */
import { QiError } from '../../errors/index.js';

/** A connection header's fields. */
export type ConnectionHeader = Record<string, string>;

/** Largest connection header read (1 MiB: message definitions can be long). */
export const MAX_HEADER_BYTES = 1024 * 1024;

/** A header's bytes, length prefix included. */
export function encodeHeader(fields: ConnectionHeader): Buffer {
  const parts = Object.entries(fields).map(([k, v]) => {
    const b = Buffer.from(`${k}=${v}`, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return Buffer.concat([len, b]);
  });
  return frame(Buffer.concat(parts));
}

/** Parses a header's bytes (without the length prefix). @throws QiError `ERR_QI_PROTOCOL` */
export function parseHeader(b: Buffer): ConnectionHeader {
  const out: ConnectionHeader = Object.create(null) as ConnectionHeader;
  let pos = 0;
  while (pos < b.length) {
    if (pos + 4 > b.length) throw new QiError('ERR_QI_PROTOCOL', 'a TCPROS header field length is cut short');
    const n = b.readUInt32LE(pos);
    pos += 4;
    if (n > b.length - pos)
      throw new QiError('ERR_QI_PROTOCOL', `a TCPROS header field claims ${n} bytes, past its end`);
    const field = b.subarray(pos, pos + n).toString('utf8');
    pos += n;
    const eq = field.indexOf('=');
    if (eq <= 0) throw new QiError('ERR_QI_PROTOCOL', 'a TCPROS header field is not key=value');
    out[field.slice(0, eq)] = field.slice(eq + 1);
  }
  return out;
}

/** `body` with its uint32 little-endian length in front. */
export function frame(body: Buffer): Buffer {
  const b = Buffer.allocUnsafe(4 + body.length);
  b.writeUInt32LE(body.length);
  body.copy(b, 4);
  return b;
}

/**
 * Cuts a byte stream into length-prefixed frames. `max` bounds each frame; `okByte` reads the extra
 * status byte of service responses before each length.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private max: number,
    private readonly okByte = false,
  ) {}

  /** Changes the bound (after the header, to the message bound). */
  limit(max: number): void {
    this.max = max;
  }

  /**
   * Adds bytes and returns the frames now complete.
   * @throws QiError `ERR_QI_LIMIT` for a frame over the bound
   */
  push(data: Buffer): { ok: boolean; body: Buffer }[] {
    this.chunks.push(data);
    this.size += data.length;
    const out: { ok: boolean; body: Buffer }[] = [];
    const prefix = this.okByte ? 5 : 4;
    for (;;) {
      if (this.size < prefix) break;
      const head = this.peek(prefix);
      const n = head.readUInt32LE(prefix - 4);
      if (n > this.max)
        throw new QiError('ERR_QI_LIMIT', `a TCPROS peer announced ${n} bytes, over the limit of ${this.max}`);
      if (this.size < prefix + n) break;
      const all = this.take(prefix + n);
      out.push({ ok: !this.okByte || all[0] === 1, body: all.subarray(prefix) });
    }
    return out;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.size -= n;
    return all.subarray(0, n);
  }
}
