/**
 * ROS services called from qi: the client side of a ROS service over TCPROS. The service's URI comes
 * from the master (lookupService); the request is serialized with the `.srv` definition the operator
 * gave (TCPROS service headers carry no definition), checked by the server through its md5sum. One
 * connection per call, bounded in time and in the size of the answer.
 */
import net from 'node:net';
import { QiError } from '../../errors/index.js';
import { parseDefinition, serviceMd5sum, type MsgSpec } from './msgspec.js';
import { deserialize, serialize } from './serialize.js';
import { MAX_HEADER_BYTES, encodeHeader, frame, parseHeader } from './tcpros.js';

/** A ROS service that qi clients may call, with its definition. */
export interface RosServiceDefinition {
  /** The service's name, `/add_two_ints`. */
  name: string;
  /** Its type, `rospy_tutorials/AddTwoInts`. */
  type: string;
  /** The `.srv` text: request fields, `---`, response fields. */
  definition: string;
}

/** A callable ROS service: its request and response types and md5sum. */
export interface RosServiceType {
  readonly name: string;
  readonly type: string;
  readonly request: MsgSpec;
  readonly response: MsgSpec;
  readonly md5: string;
}

/** Reads a `.srv` definition. @throws QiError `ERR_QI_CONFIG` when it is not one */
export function serviceType(d: RosServiceDefinition): RosServiceType {
  const parts = d.definition.split(/^---[ \t]*$/m);
  if (parts.length !== 2)
    throw new QiError(
      'ERR_QI_CONFIG',
      `the definition of ${d.name} is not a .srv (request fields, ---, response fields)`,
    );
  try {
    const request = parseDefinition(`${d.type}Request`, parts[0]);
    const response = parseDefinition(`${d.type}Response`, parts[1]);
    return { name: d.name, type: d.type, request, response, md5: serviceMd5sum(request, response) };
  } catch (e) {
    throw new QiError('ERR_QI_CONFIG', `the definition of ${d.name}: ${(e as Error).message}`);
  }
}

/**
 * Calls the service at `rosrpc://host:port` with `request`; resolves with the decoded response.
 * @throws QiError `ERR_QI_VALUE` when the request does not fit, `ERR_QI_CALL` with the server's error,
 * `ERR_QI_TIMEOUT`, `ERR_QI_PROTOCOL` or `ERR_QI_LIMIT` for a server that misbehaves
 */
export function callService(
  callerId: string,
  uri: string,
  s: RosServiceType,
  request: Record<string, unknown>,
  timeoutMs: number,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  const body = serialize(s.request, request);
  const m = /^rosrpc:\/\/([^:/]+):(\d+)\/?$/.exec(uri);
  if (!m)
    return Promise.reject(new QiError('ERR_QI_PROTOCOL', `the master gave ${s.name} a bad URI ${uri.slice(0, 100)}`));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: m[1], port: Number(m[2]) });
    let buf = Buffer.alloc(0);
    let header: Record<string, string> | undefined;
    const done = (e: Error | undefined, v?: Record<string, unknown>) => {
      clearTimeout(timer);
      socket.destroy();
      if (e) reject(e);
      else resolve(v!);
    };
    const timer = setTimeout(
      () => done(new QiError('ERR_QI_TIMEOUT', `the ROS service ${s.name} did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', (e) =>
      done(new QiError('ERR_QI_CONNECT', `cannot reach the ROS service ${s.name} at ${uri}: ${e.message}`)),
    );
    socket.on('close', () =>
      done(new QiError('ERR_QI_CLOSED', `the ROS service ${s.name} closed the connection without answering`)),
    );
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      try {
        if (header === undefined) {
          if (buf.length < 4) return;
          const n = buf.readUInt32LE(0);
          if (n > MAX_HEADER_BYTES)
            throw new QiError('ERR_QI_LIMIT', `the ROS service ${s.name} sent a header of ${n} bytes`);
          if (buf.length < 4 + n) return;
          header = parseHeader(buf.subarray(4, 4 + n));
          buf = buf.subarray(4 + n);
          if (header.error !== undefined)
            throw new QiError('ERR_QI_CALL', `the ROS service ${s.name} refused the call: ${header.error}`);
          // The request goes after the server's header, as rospy's clients do (its server reads them apart).
          socket.write(frame(body));
        }
        if (buf.length < 5) return;
        const n = buf.readUInt32LE(1);
        if (n > maxBytes)
          throw new QiError(
            'ERR_QI_LIMIT',
            `the ROS service ${s.name} announced ${n} bytes, over the limit of ${maxBytes}`,
          );
        if (buf.length < 5 + n) return;
        const payload = buf.subarray(5, 5 + n);
        if (buf[0] !== 1)
          throw new QiError('ERR_QI_CALL', `the ROS service ${s.name} failed: ${payload.toString('utf8')}`);
        done(undefined, deserialize(s.response, payload));
      } catch (e) {
        done(e as Error);
      }
    });
    socket.write(encodeHeader({ callerid: callerId, service: s.name, md5sum: s.md5, persistent: '0' }));
  });
}
