/**
 * Incremental message framing: feed it chunks as they come off a socket, in any sizes, and it hands
 * out whole messages. A message inside one chunk is delivered as a view (no copy); one split across
 * chunks is assembled once, when its last byte arrives, so a header that lies about its size costs
 * nothing until the bytes really come.
 */
import { QiProtocolError } from './errors.js';
import { HEADER_SIZE, PROTOCOL_VERSION, hasMagic } from './header.js';
import { Message } from './message.js';
import { envNumber } from '../config/env.js';

/** Default largest payload accepted: 50,000,000 bytes, the limit of every NAOqi 2.x peer. */
export const DEFAULT_MAX_PAYLOAD = 50_000_000;

/** The largest payload accepted by default: `QI_MAX_MESSAGE_PAYLOAD` (as in libqi) or {@link DEFAULT_MAX_PAYLOAD}. */
export function defaultMaxPayload(): number {
  return envNumber('QI_MAX_MESSAGE_PAYLOAD', DEFAULT_MAX_PAYLOAD, { integer: true, max: 0xffff_ffff });
}

const EMPTY = Buffer.alloc(0);
const SMALL_PIECE = 4096;
const STAGE_SIZE = 64 * 1024;
/**
 * Payloads up to this size get their final buffer as soon as their header arrives, and each chunk is
 * copied into it as it comes (the copy overlaps with the peer still sending). Bigger ones get it once an
 * eighth has arrived, so a header that lies about its size cannot make us reserve much. Untouched pages
 * of a fresh buffer cost no resident memory either way.
 */
const EAGER_TARGET = 1024 * 1024;

/** Options of a {@link FrameReader}. */
export interface FrameReaderOptions {
  /** Largest payload accepted, in bytes; a bigger size field is a `too-large` protocol error. */
  maxPayload?: number;
}

/** Turns a byte stream, in chunks of any size, into {@link Message}s; see the module comment for its limits. */
export class FrameReader {
  readonly maxPayload: number;
  /** Bytes consumed so far, for error offsets. */
  private offset = 0;
  private readonly headBuf = Buffer.allocUnsafe(HEADER_SIZE);
  private headLen = 0;
  /**
   * A header was read and its message is not yet delivered; its fields follow (kept here, not in an object per
   * message: every message passes through them).
   */
  private inMessage = false;
  private id = 0;
  private size = 0;
  private type = 0;
  private flags = 0;
  private service = 0;
  private object = 0;
  private action = 0;
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Small pieces are copied here so a payload trickling in byte by byte does not cost an object per byte. */
  private stage: Buffer | null = null;
  private stageLen = 0;
  /** The payload's final buffer once allocated; `partsLen` bytes of it are filled. */
  private target: Buffer | null = null;
  private failed: QiProtocolError | null = null;

  /**
   * @param onMessage called once per whole message, in stream order
   * @param options limits
   */
  constructor(
    private readonly onMessage: (m: Message) => void,
    options: FrameReaderOptions = {},
  ) {
    this.maxPayload = options.maxPayload ?? defaultMaxPayload();
  }

  /** True when part of a message has been received and not yet delivered. */
  get pending(): boolean {
    return this.headLen > 0 || this.inMessage;
  }

  /** Bytes of the message in progress not received yet (0 between messages, or while its header arrives). */
  get missing(): number {
    return this.inMessage ? this.size - this.partsLen : 0;
  }

  /**
   * Feeds bytes. Delivers every message they complete.
   * @throws {@link QiProtocolError} on bad magic, a version other than 0, or a size over the limit;
   * the stream is then dead and every later push throws the same error.
   */
  push(chunk: Buffer): void {
    if (this.failed) throw this.failed;
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (!this.inMessage) {
        if (this.headLen === 0 && n - p >= HEADER_SIZE) {
          this.validate(chunk, p);
          p += HEADER_SIZE;
          const size = this.size;
          if (n - p >= size) {
            // Fast path: the whole message is in this chunk; the payload stays in it (no view, no copy).
            this.deliver(chunk, p, p + size, true);
            p += size;
          }
          continue;
        }
        const take = Math.min(HEADER_SIZE - this.headLen, n - p);
        chunk.copy(this.headBuf, this.headLen, p, p + take);
        this.headLen += take;
        p += take;
        if (this.headLen < HEADER_SIZE) return;
        this.validate(this.headBuf, 0);
        this.headLen = 0;
        if (this.size === 0) this.deliver(EMPTY, 0, 0);
        continue;
      }
      const size = this.size;
      const take = Math.min(size - this.partsLen, n - p);
      if (
        this.target === null &&
        (size <= EAGER_TARGET ? this.partsLen + take < size : (this.partsLen + take) * 8 >= size)
      )
        this.allocTarget();
      if (this.target !== null) {
        chunk.copy(this.target, this.partsLen, p, p + take);
        this.partsLen += take;
      } else {
        this.addPart(chunk, p, take);
      }
      p += take;
      if (this.partsLen === size) this.completePayload();
    }
  }

  /** Moves what was received so far into the payload's final buffer. */
  private allocTarget(): void {
    this.flushStage();
    const t = Buffer.allocUnsafe(this.size);
    let at = 0;
    for (const b of this.parts) at += b.copy(t, at);
    this.parts = [];
    this.target = t;
  }

  private completePayload(): void {
    let payload: Buffer;
    if (this.target !== null) payload = this.target;
    else {
      this.flushStage();
      payload = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partsLen);
    }
    this.target = null;
    this.parts = [];
    this.partsLen = 0;
    this.deliver(payload, 0, payload.length);
  }

  /**
   * Where the next bytes of the payload in progress may be read to directly, without a copy: the
   * unfilled part of its final buffer, when one exists and at least `min` bytes are missing. After
   * reading into it, report how many bytes landed with {@link advance}.
   */
  readTarget(min: number): Buffer | null {
    const t = this.target;
    if (t === null || this.failed || t.length - this.partsLen < min) return null;
    return t.subarray(this.partsLen);
  }

  /** Records `n` bytes read straight into the buffer {@link readTarget} returned; delivers the message when complete. */
  advance(n: number): void {
    this.partsLen += n;
    if (this.partsLen === this.size) this.completePayload();
  }

  private addPart(chunk: Buffer, p: number, take: number): void {
    this.partsLen += take;
    if (take >= SMALL_PIECE) {
      this.flushStage();
      this.parts.push(chunk.subarray(p, p + take)); // large pieces stay views: one copy at the end
      return;
    }
    if (this.stage !== null && this.stageLen + take > this.stage.length) this.flushStage();
    if (this.stage === null) {
      // Never more ahead of the bytes received than one staging buffer (and never more than the payload).
      this.stage = Buffer.allocUnsafe(Math.min(STAGE_SIZE, this.size - this.partsLen + take));
      this.stageLen = 0;
    }
    chunk.copy(this.stage, this.stageLen, p, p + take);
    this.stageLen += take;
  }

  private flushStage(): void {
    if (this.stage === null) return;
    this.parts.push(this.stage.subarray(0, this.stageLen));
    this.stage = null;
  }

  /**
   * Tells the reader the stream ended.
   * @throws {@link QiProtocolError} `truncated` when it ended inside a message.
   */
  end(): void {
    if (this.failed || !this.pending) return;
    const got = this.inMessage ? HEADER_SIZE + this.partsLen : this.headLen;
    const want = this.inMessage ? HEADER_SIZE + this.size : HEADER_SIZE;
    this.fail(
      'truncated',
      `The connection ended in the middle of a message (${got} of ${want} bytes received). The peer closed or crashed while sending.`,
      this.offset,
    );
  }

  /** Checks the header at `b[at]` and takes its fields (see {@link inMessage}). */
  private validate(b: Buffer, at: number): void {
    if (!hasMagic(b, at)) {
      const got = b
        .subarray(at, at + 4)
        .toString('hex')
        .replace(/(..)(?!$)/g, '$1 ');
      this.fail(
        'bad-magic',
        `Not a qi message: expected magic 42 de ad 42, got ${got}. The peer does not speak qimessaging (wrong port, or TLS on one side only?).`,
        this.offset,
        Buffer.from(b.subarray(at, at + 8)),
      );
    }
    const version = b[at + 12] | (b[at + 13] << 8);
    if (version !== PROTOCOL_VERSION) {
      this.fail(
        'bad-version',
        `Unsupported qi protocol version ${version} (only version 0 exists); the peer is not a compatible qimessaging implementation.`,
        this.offset,
      );
    }
    const size = r32(b, at + 8);
    if (size > this.maxPayload) {
      this.fail(
        'too-large',
        `A message announces a ${size}-byte payload, over the ${this.maxPayload}-byte limit. Raise maxPayload (or QI_MAX_MESSAGE_PAYLOAD) if the peer really sends such messages.`,
        this.offset,
      );
    }
    this.inMessage = true;
    this.size = size;
    this.id = r32(b, at + 4);
    this.type = b[at + 14];
    this.flags = b[at + 15];
    this.service = r32(b, at + 16);
    this.object = r32(b, at + 20);
    this.action = r32(b, at + 24);
  }

  private deliver(bytes: Buffer, start: number, end: number, framed = false): void {
    this.inMessage = false;
    this.offset += HEADER_SIZE + this.size;
    this.onMessage(
      new Message(this.id, this.type, this.flags, this.service, this.object, this.action, bytes, start, end, framed),
    );
  }

  private fail(fault: QiProtocolError['fault'], message: string, offset: number, received?: Buffer): never {
    this.failed = new QiProtocolError(fault, message, offset, received);
    this.inMessage = false;
    this.parts = [];
    this.stage = null;
    this.target = null;
    throw this.failed;
  }
}

/** The uint32 (little-endian) at `b[p]`. */
function r32(b: Buffer, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/** Splits a buffer holding whole messages; convenient for tests and captures. */
export function parseMessages(bytes: Uint8Array, options?: FrameReaderOptions): Message[] {
  const out: Message[] = [];
  const r = new FrameReader((m) => out.push(m), options);
  r.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  r.end();
  return out;
}
