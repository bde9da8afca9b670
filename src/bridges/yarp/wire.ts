/**
 * The YARP connection protocol over a stream (the tcp carrier; YARP's documentation, "Port and connection
 * protocols"). Numbers travel as 8 bytes `Y A <int32 little-endian> R P`. A connection opens with the
 * carrier's number (7777 + 3, + 128 when every message is acknowledged: `tcp`; without: `fast_tcp`) or
 * the text carrier's `CONNECT `, then the sender's port name (int32 length with its NUL, the name, NUL);
 * the receiver answers with a number (its port). Each message is an index, number 10 then 10 bytes
 * (count of blocks, count of reply blocks, 8 bytes 0xff) and an int32 per block length, then the blocks;
 * their content starts with a port command (8 bytes: int32 length of a command text, `~`, a command
 * character, 0, 1; then that text when the character is 0). A `tcp` receiver acknowledges each message
 * with the number 0, after its reply if any.
 */
import { QiError } from '../../errors/index.js';
import type { SocketReader } from './socket-reader.js';

/** The header numbers of the carriers spoken. */
export const TCP_HEADER = 7777 + 3 + 128;
export const FAST_TCP_HEADER = 7777 + 3;
/** The text carriers' 8-byte headers. */
export const TEXT_HEADER = 'CONNECT ';
export const TEXT_ACK_HEADER = 'CONNACK ';

/** Longest sender name read. */
export const MAX_NAME_BYTES = 1000;

/** `Y A n R P`. */
export function yarpNumber(n: number): Buffer {
  const b = Buffer.from('YA\0\0\0\0RP', 'latin1');
  b.writeInt32LE(n, 2);
  return b;
}

/** The int32 of `Y A n R P`, or undefined for other bytes. */
export function readYarpNumber(b: Buffer): number | undefined {
  if (b.length !== 8 || b.toString('latin1', 0, 2) !== 'YA' || b.toString('latin1', 6, 8) !== 'RP') return undefined;
  return b.readInt32LE(2);
}

/** The sender name as the carrier sends it. */
export function senderName(name: string): Buffer {
  const body = Buffer.from(`${name}\0`, 'utf8');
  const len = Buffer.alloc(4);
  len.writeInt32LE(body.length);
  return Buffer.concat([len, body]);
}

/** The 8 bytes of a port command: a character (`d`, `D`, `a`, `r`, `q`…) or a text (`"d "` + envelope). */
export function portCommand(ch: string, text?: string): Buffer {
  const head = Buffer.from([0, 0, 0, 0, 0x7e, 0, 0, 1]);
  if (text === undefined) {
    head[5] = ch.charCodeAt(0);
    return head;
  }
  const body = Buffer.from(`${text}\0`, 'utf8');
  head.writeInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** A message of the given blocks, with its index. */
export function message(blocks: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(8 + 10 + 4 * blocks.length + 4);
  yarpNumber(10).copy(head, 0);
  head[8] = blocks.length;
  head[9] = 1;
  head.fill(0xff, 10, 18);
  blocks.forEach((b, i) => head.writeInt32LE(b.length, 18 + 4 * i));
  head.writeInt32LE(0, 18 + 4 * blocks.length);
  return Buffer.concat([head, ...blocks]);
}

/** A message's port command and the bytes after it. */
export interface PortMessage {
  /** The command character (`d`, `D`, `a`, `r`, `q`…), from the text when one was sent. */
  command: string;
  /** The command text, when the command carried one (`"d "` + envelope, `"a"`). */
  text?: string;
  /** The payload (a Bottle for `d`, `D` and `a`). */
  body: Buffer;
}

const protocolError = (m: string) => new QiError('ERR_QI_PROTOCOL', `a YARP peer ${m}`);

/**
 * Reads one message (index, blocks) and splits off its port command.
 * @throws QiError `ERR_QI_PROTOCOL` for a malformed index or command, `ERR_QI_LIMIT` past `maxBytes`
 */
export async function readMessage(reader: SocketReader, maxBytes: number, withCommand = true): Promise<PortMessage> {
  const n = readYarpNumber(await reader.take(8));
  if (n !== 10) throw protocolError(`sent ${n === undefined ? 'bytes that are not a YARP index' : `an index of ${n}`}`);
  const idx = await reader.take(10);
  const blocks = idx[0] + idx[1];
  const lengths = await reader.take(4 * blocks);
  let total = 0;
  for (let i = 0; i < blocks; i++) {
    const len = lengths.readInt32LE(4 * i);
    if (len < 0) throw protocolError(`announced a block of ${len} bytes`);
    total += len;
    if (total > maxBytes)
      throw new QiError('ERR_QI_LIMIT', `a YARP peer announced a message over the limit of ${maxBytes} bytes`);
  }
  const all = Buffer.from(await reader.take(total));
  if (!withCommand) return { command: '', body: all };
  if (all.length < 8 || all[4] !== 0x7e) throw protocolError('sent a message without a port command');
  const ch = all[5];
  if (ch !== 0) return { command: String.fromCharCode(ch), body: all.subarray(8) };
  const len = all.readInt32LE(0);
  if (len < 1 || len > all.length - 8) throw protocolError(`sent a port command text of ${len} bytes`);
  const text = all.toString('utf8', 8, 8 + len).replace(/\0$/, '');
  return { command: text[0] ?? '', text, body: all.subarray(8 + len) };
}
