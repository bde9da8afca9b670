/**
 * The server side of a ROS service over TCPROS (ROS/TCPROS, services): after the client's header
 * (checked: the md5sum must be ours or `*`) the node answers its own header, then reads requests one
 * at a time and answers each with an `ok` byte and a length-prefixed response, or `ok = 0` and an error
 * text. A `probe=1` client (rosservice asking the type) is closed after the header. At most
 * {@link MAX_QUEUED_REQUESTS} requests wait per connection.
 */
import type net from 'node:net';
import { QiError } from '../../errors/index.js';
import { encodeHeader, frame, type ConnectionHeader, type FrameReader } from './tcpros.js';

/** Most requests queued on one connection before it is closed. */
export const MAX_QUEUED_REQUESTS = 16;

/** A service the node serves. */
export interface ServiceServer {
  /** `pkg/Name` of the service. */
  readonly type: string;
  readonly md5: string;
  /** Answers one request's bytes with the response's bytes; an error's message goes back to the caller. */
  call(request: Buffer): Promise<Buffer>;
}

function answer(ok: boolean, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([ok ? 1 : 0]), frame(body)]);
}

/** Serves one client connection of `server`. @throws QiError `ERR_QI_PROTOCOL` to refuse its header */
export function serveConnection(
  callerId: string,
  server: ServiceServer,
  h: ConnectionHeader,
  socket: net.Socket,
  reader: FrameReader,
  pending: Buffer[],
): void {
  if (h.md5sum !== '*' && h.md5sum !== server.md5)
    throw new QiError(
      'ERR_QI_PROTOCOL',
      `${h.service} is of type ${server.type} with md5sum ${server.md5}; the client expects md5sum ${h.md5sum ?? '?'}`,
    );
  socket.write(
    encodeHeader({
      callerid: callerId,
      md5sum: server.md5,
      type: server.type,
      request_type: `${server.type}Request`,
      response_type: `${server.type}Response`,
      service: h.service,
    }),
  );
  if (h.probe === '1') return void socket.end();
  let queued = 0;
  let chain = Promise.resolve();
  const take = (body: Buffer) => {
    if (++queued > MAX_QUEUED_REQUESTS) {
      socket.destroy();
      return;
    }
    chain = chain.then(async () => {
      let out: Buffer;
      try {
        out = answer(true, await server.call(body));
      } catch (e) {
        out = answer(false, Buffer.from((e as Error).message, 'utf8'));
      }
      queued--;
      if (!socket.destroyed) socket.write(out);
      if (h.persistent !== '1') socket.end();
    });
  };
  pending.forEach(take);
  socket.on('data', (data: Buffer) => {
    try {
      reader.push(data).forEach((f) => take(f.body));
    } catch {
      socket.destroy();
    }
  });
}
