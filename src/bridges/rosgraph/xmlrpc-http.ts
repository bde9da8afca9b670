/**
 * XML-RPC over HTTP, both ways, for the ROS master and slave APIs: {@link xmlRpcCall} posts one call,
 * {@link XmlRpcServer} answers calls. Bodies are bounded both ways, servers bound their connections,
 * and every call has a deadline.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { QiError } from '../../errors/index.js';
import { encodeCall, encodeResponse, parseCall, parseResponse, type XmlRpcValue } from './xmlrpc.js';

/** Largest XML-RPC body read, either way (1 MiB: the ROS APIs carry names and URIs). */
export const MAX_XMLRPC_BYTES = 1024 * 1024;

function readBody(stream: http.IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        stream.destroy();
        reject(new QiError('ERR_QI_LIMIT', `an XML-RPC body exceeded ${max} bytes`));
      } else chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

/**
 * Calls `method` at the XML-RPC server `uri` (`http://host:port/`).
 * @throws QiError `ERR_QI_CONNECT` when unreachable, `ERR_QI_TIMEOUT` after `timeoutMs`, `ERR_QI_CALL` for a fault
 */
export function xmlRpcCall(
  uri: string,
  method: string,
  params: readonly XmlRpcValue[],
  timeoutMs = 10_000,
): Promise<XmlRpcValue> {
  const body = Buffer.from(encodeCall(method, params));
  return new Promise((resolve, reject) => {
    const req = http.request(uri, {
      method: 'POST',
      headers: { 'content-type': 'text/xml', 'content-length': body.length },
      timeout: timeoutMs,
    });
    req.on('timeout', () =>
      req.destroy(new QiError('ERR_QI_TIMEOUT', `${uri} did not answer ${method} within ${timeoutMs} ms`)),
    );
    req.on('error', (e) =>
      reject(e instanceof QiError ? e : new QiError('ERR_QI_CONNECT', `cannot call ${method} on ${uri}: ${e.message}`)),
    );
    req.on('response', (res) => {
      readBody(res, MAX_XMLRPC_BYTES).then((text) => {
        const r = parseResponse(text);
        if ('fault' in r) reject(new QiError('ERR_QI_CALL', `${uri} answered ${method} with a fault: ${r.fault}`));
        else resolve(r.value);
      }, reject);
    });
    req.end(body);
  });
}

/** Answers one call: a value, or throws (sent as a fault). */
export type XmlRpcHandler = (method: string, params: XmlRpcValue[]) => XmlRpcValue | Promise<XmlRpcValue>;

/** An XML-RPC server on one address. */
export class XmlRpcServer {
  private constructor(
    private readonly server: http.Server,
    /** Where callers reach it: `http://127.0.0.1:PORT/`. */
    readonly uri: string,
  ) {}

  /** Listens on `host:port` (0 for any free port) with at most `maxConnections` connections. */
  static listen(host: string, port: number, handler: XmlRpcHandler, maxConnections = 64): Promise<XmlRpcServer> {
    const server = http.createServer((req, res) => void answer(req, res, handler));
    server.maxConnections = maxConnections;
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    return new Promise((resolve, reject) => {
      server.once('error', (e) =>
        reject(new QiError('ERR_QI_CONNECT', `cannot listen on ${host}:${port}: ${e.message}`)),
      );
      server.listen(port, host, () => {
        const a = server.address() as AddressInfo;
        resolve(new XmlRpcServer(server, `http://${host.includes(':') ? `[${host}]` : host}:${a.port}/`));
      });
    });
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function answer(req: http.IncomingMessage, res: http.ServerResponse, handler: XmlRpcHandler): Promise<void> {
  const send = (status: number, text: string) => {
    res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (req.method !== 'POST') return send(405, 'XML-RPC only (POST)\n');
  let text: string;
  try {
    text = await readBody(req, MAX_XMLRPC_BYTES);
  } catch {
    return void res.destroy();
  }
  try {
    const call = parseCall(text);
    send(200, encodeResponse(await handler(call.method, call.params)));
  } catch (e) {
    send(200, encodeResponse(null, { code: 1, message: (e as Error).message }));
  }
}
