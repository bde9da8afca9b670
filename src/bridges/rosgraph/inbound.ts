/**
 * TCPROS connections that ROS peers open to the node: a subscriber of one of our topics, or a client
 * of one of our services. The first frame must be a connection header, within `handshakeMs` and
 * {@link MAX_HEADER_BYTES}; anything else gets an `error` header (when it can be sent) and is closed.
 */
import net from 'node:net';
import { QiError } from '../../errors/index.js';
import { MAX_HEADER_BYTES, FrameReader, encodeHeader, parseHeader, type ConnectionHeader } from './tcpros.js';

/** What the node does with a connection once its header is read. */
export interface InboundHandlers {
  /** A subscriber: answer with our header, or throw to refuse. */
  subscriber(header: ConnectionHeader, socket: net.Socket): void;
  /**
   * A service client: answer with our header, or throw to refuse; then frames are its requests, the
   * first ones (sent with the header) in `pending`.
   */
  serviceClient(header: ConnectionHeader, socket: net.Socket, reader: FrameReader, pending: Buffer[]): void;
  /** A connection that failed (for metrics and warnings). */
  refused(why: string): void;
}

/** Reads the header of an accepted connection and hands it over. */
export function acceptInbound(
  socket: net.Socket,
  handlers: InboundHandlers,
  maxMessageBytes: number,
  handshakeMs = 5000,
): void {
  socket.setNoDelay(true);
  const reader = new FrameReader(MAX_HEADER_BYTES);
  const refuse = (why: string) => {
    handlers.refused(why);
    if (socket.writable) socket.end(encodeHeader({ error: why }));
    socket.destroySoon();
    setTimeout(() => socket.destroy(), 1000).unref();
  };
  const timer = setTimeout(() => refuse(`no connection header within ${handshakeMs} ms`), handshakeMs);
  socket.on('error', () => socket.destroy());
  socket.on('close', () => clearTimeout(timer));
  const onData = (data: Buffer) => {
    let frames;
    try {
      frames = reader.push(data);
    } catch (e) {
      socket.off('data', onData);
      return refuse((e as Error).message);
    }
    if (frames.length === 0) return;
    clearTimeout(timer);
    socket.off('data', onData);
    try {
      const header = parseHeader(frames[0].body);
      reader.limit(maxMessageBytes);
      if ('topic' in header && !('service' in header)) {
        handlers.subscriber(header, socket);
        // A subscriber sends nothing after its header: drop whatever it sends.
        socket.on('data', () => {});
      } else if ('service' in header) {
        const pending = [...frames.slice(1), ...reader.push(Buffer.alloc(0))].map((f) => f.body);
        handlers.serviceClient(header, socket, reader, pending);
      } else throw new QiError('ERR_QI_PROTOCOL', 'the connection header names neither a topic nor a service');
    } catch (e) {
      refuse((e as Error).message);
    }
  };
  socket.on('data', onData);
}
