/**
 * A connection a YARP peer opens to one of our ports: the tcp carrier (`fast_tcp` too) with binary
 * Bottles, or the text carrier (`CONNECT ` / `CONNACK `, telnet-style) with Bottles in text form. The
 * header and sender name must come within `handshakeMs`; then each message is handled in turn (one at a
 * time per connection: a client cannot pile up calls), answered when its command asks for a reply,
 * (the bare Bottle), and acknowledged when the carrier acknowledges. A malformed message closes the connection and is
 * reported; other connections are not affected.
 */
import type net from 'node:net';
import { QiError } from '../../errors/index.js';
import { decodeBottle, encodeBottle, type Bottle } from './bottle.js';
import { bottleText, parseBottleText } from './bottle-text.js';
import { SocketReader } from './socket-reader.js';
import { MAX_NAME_BYTES, TEXT_ACK_HEADER, TEXT_HEADER, readMessage, readYarpNumber, yarpNumber } from './wire.js';

/** What a port does with what its connections carry. */
export interface InboundPort {
  readonly name: string;
  /** The TCP port it listens on (sent back in the tcp carrier's answer). */
  readonly tcpPort: number;
  /** A Bottle written to the port; the reply when `wantsReply` (undefined: an empty Bottle). */
  data(bottle: Bottle, wantsReply: boolean, from: string): Promise<Bottle | undefined>;
  /** An administrative Bottle (`[add] /reader`, `[list] [out]`…) and its reply. */
  admin(bottle: Bottle, from: string): Promise<Bottle>;
  /** The peer reversed the connection (`r`): from now on it reads what the port writes. */
  reverse(from: string, socket: net.Socket, reader: SocketReader, acked: boolean): void;
  /** A connection closed for a protocol error (for metrics and warnings). */
  refused(why: string): void;
}

/** Limits of one inbound connection. */
export interface InboundLimits {
  maxMessageBytes: number;
  handshakeMs: number;
}

/** Handles an accepted connection until it ends. */
export async function serveInbound(socket: net.Socket, port: InboundPort, limits: InboundLimits): Promise<void> {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  const reader = new SocketReader(socket, Math.min(limits.maxMessageBytes, 1024 * 1024) + 64 * 1024);
  let timer: NodeJS.Timeout | undefined;
  try {
    const hello = (async () => {
      const head = await reader.take(8);
      const text = head.toString('latin1');
      if (text === TEXT_HEADER || text === TEXT_ACK_HEADER) {
        const from = (await reader.line(MAX_NAME_BYTES)).trim();
        socket.write(`Welcome ${from}\r\n`);
        return { from, text: true, acked: text === TEXT_ACK_HEADER };
      }
      const n = readYarpNumber(head);
      const spec = n === undefined ? -1 : n - 7777;
      if (spec < 0 || spec % 16 !== 3)
        throw new QiError(
          'ERR_QI_PROTOCOL',
          `a peer opened a connection with ${n === undefined ? 'bytes that are not a YARP header' : `the carrier number ${n}`}: this bridge speaks the tcp, fast_tcp and text carriers`,
        );
      const len = (await reader.take(4)).readInt32LE(0);
      if (len < 1 || len > MAX_NAME_BYTES)
        throw new QiError('ERR_QI_PROTOCOL', `a peer announced a sender name of ${len} bytes (1…${MAX_NAME_BYTES})`);
      const from = (await reader.take(len)).toString('utf8').replace(/\0.*$/s, '');
      socket.write(yarpNumber(port.tcpPort));
      return { from, text: false, acked: (spec & 128) !== 0 };
    })();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new QiError('ERR_QI_TIMEOUT', `no YARP connection header within ${limits.handshakeMs} ms`)),
        limits.handshakeMs,
      );
    });
    hello.catch(() => {});
    const { from, text, acked } = await Promise.race([hello, timeout]);
    clearTimeout(timer);
    if (text) return await textLoop(socket, reader, port, from, acked, limits);
    for (;;) {
      const m = await readMessage(reader, limits.maxMessageBytes);
      if (m.command === 'q') return void socket.end(acked ? yarpNumber(0) : Buffer.alloc(0));
      if (m.command === 'r') {
        if (acked) socket.write(yarpNumber(0));
        return port.reverse(from, socket, reader, acked);
      }
      let reply: Bottle | undefined;
      if (m.command === 'd' || m.command === 'D') {
        const answer = await port.data(decodeBottle(m.body), m.command === 'd', from);
        if (m.command === 'd') reply = answer ?? [];
      } else if (m.command === 'a') reply = await port.admin(decodeBottle(m.body), from);
      else throw new QiError('ERR_QI_PROTOCOL', `a peer sent the unknown port command ${JSON.stringify(m.command)}`);
      // A reply is the bare Bottle (no index), before the acknowledgement.
      if (reply) socket.write(encodeBottle(reply));
      if (acked) socket.write(yarpNumber(0));
    }
  } catch (e) {
    clearTimeout(timer);
    if (!(e instanceof QiError && e.code === 'ERR_QI_CLOSED')) port.refused((e as Error).message);
    socket.destroy();
  }
}

/** The text carrier: a command line (`d`, `a`, `q`), then for `d`/`a` a Bottle in text form. */
async function textLoop(
  socket: net.Socket,
  reader: SocketReader,
  port: InboundPort,
  from: string,
  acked: boolean,
  limits: InboundLimits,
): Promise<void> {
  const max = Math.min(limits.maxMessageBytes, 1024 * 1024);
  for (;;) {
    const command = (await reader.line(max)).trim();
    if (command === '') continue;
    if (command === 'q') return void socket.end(acked ? '<ACK>\r\n' : '');
    let reply: Bottle;
    if (command === 'd' || command === 'a') {
      const bottle = parseBottleText(await reader.line(max));
      reply = command === 'a' ? await port.admin(bottle, from) : ((await port.data(bottle, true, from)) ?? []);
    } else reply = [{ t: 'string', v: `unknown port command ${command}: send d then a Bottle, or q` }];
    socket.write(`${bottleText(reply)}\r\n${acked ? '<ACK>\r\n' : ''}`);
  }
}
