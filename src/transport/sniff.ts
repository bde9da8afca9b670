/**
 * What answers on a port that does not speak qi messages, found once a qi handshake there has failed:
 * TLS (use `tcps://`) or HTTP (use `ws://…/path`), so that the error names the URL to use instead.
 * Only a failed connection pays for it: at most one more connection, bounded in time.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { QiProtocolError } from '../message/index.js';
import { QiConnectError } from './errors.js';
import type { MessageStream } from './message-stream.js';
import { formatEndpoint, socketHost, type Endpoint } from './url.js';

type Direct = Endpoint & { scheme: 'tcp' | 'tcps' };

/** Client streams dialled straight to a tcp/tcps endpoint (not through a proxy): the ones that can be explained. */
const dialled = new WeakMap<MessageStream, Direct>();

/** Remembers where a client stream was dialled, for {@link explainNotQi}. */
export function rememberDialled(stream: MessageStream, ep: Endpoint): void {
  if (ep.scheme === 'tcp' || ep.scheme === 'tcps') dialled.set(stream, ep as Direct);
}

/**
 * Explains a handshake that failed because the peer closed (`error`: why it closed, if known): a
 * {@link QiConnectError} saying what the port speaks and which URL to use, or `undefined` when it
 * looks like a qi peer that refused us (or the stream was not dialled directly).
 */
export async function explainNotQi(
  stream: MessageStream,
  error: Error | undefined,
  timeoutMs = 2000,
): Promise<QiConnectError | undefined> {
  const ep = dialled.get(stream);
  if (ep === undefined) return undefined;
  const url = formatEndpoint(ep);
  const head = error instanceof QiProtocolError && error.fault === 'bad-magic' ? error.received : undefined;
  const hostPort = `${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
  if (head !== undefined && head.toString('latin1', 0, 5) === 'HTTP/') {
    const path = await qiPathOf(ep, hostPort, timeoutMs);
    const ws = ep.scheme === 'tcps' ? 'wss' : 'ws';
    if (path === undefined) {
      const advice = `that port is an HTTP server, not a qi endpoint. If it carries qi messages over WebSocket, use ${ws}://${hostPort}/PATH with the path it serves them on`;
      return new QiConnectError(url, 'connect to', error, { found: 'http', advice });
    }
    const suggestedUrl = `${ws}://${hostPort}${path}`;
    return new QiConnectError(url, 'connect to', error, {
      found: 'http',
      suggestedUrl,
      advice: `that port is an HTTP server that carries qi messages over WebSocket at ${path}. Use ${suggestedUrl}`,
    });
  }
  const tlsRecord = head !== undefined && (head[0] === 0x15 || head[0] === 0x16) && head[1] === 0x03;
  if (
    tlsRecord ||
    (head === undefined &&
      ep.scheme === 'tcp' &&
      !(error instanceof QiProtocolError) &&
      (await speaksTls(ep, timeoutMs)))
  ) {
    const suggestedUrl = `tcps://${hostPort}`;
    return new QiConnectError(url, 'connect to', error, {
      found: 'tls',
      suggestedUrl,
      advice: `that port speaks TLS, not plain qi messages. Use ${suggestedUrl} (NAOqi 2.9 robots serve tcps on port 9503)`,
    });
  }
  return undefined;
}

/** True when a TLS handshake with the endpoint gets a TLS answer (a certificate, or a TLS alert). */
function speaksTls(ep: Direct, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const host = socketHost(ep);
    const s = tls.connect({
      host,
      port: ep.port,
      servername: net.isIP(ep.host) ? undefined : ep.host,
      rejectUnauthorized: false,
    });
    const done = (yes: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(yes);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('secureConnect', () => done(true));
    s.once('error', (e: NodeJS.ErrnoException) => done(/ALERT/.test(e.code ?? '')));
    s.once('close', () => done(false));
  });
}

/**
 * The path of an HTTP server's qi WebSocket, asked with an upgrade to a path it does not serve: a qi
 * listener answers "qi messages are at /path". `undefined` when the answer says nothing of the kind.
 */
function qiPathOf(ep: Direct, hostPort: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const host = socketHost(ep);
    const s =
      ep.scheme === 'tcps'
        ? tls.connect({
            host,
            port: ep.port,
            servername: net.isIP(ep.host) ? undefined : ep.host,
            rejectUnauthorized: false,
          })
        : net.connect({ host, port: ep.port });
    let got = '';
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(/qi messages are at (\/\S*)/.exec(got)?.[1]);
    };
    const timer = setTimeout(done, timeoutMs);
    s.once(ep.scheme === 'tcps' ? 'secureConnect' : 'connect', () => {
      const key = randomBytes(16).toString('base64');
      s.write(
        `GET /.qi-probe HTTP/1.1\r\nHost: ${hostPort}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
      );
    });
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      // A qi listener answers 400 with the path in its body; any other answer has said enough with its head.
      const headDone = got.includes('\r\n\r\n') && !/^HTTP\/1\.[01] 400/.test(got);
      if (headDone || got.length > 4096 || /qi messages are at \S+\n/.test(got)) done();
    });
    s.once('error', done);
    s.once('close', done);
  });
}
