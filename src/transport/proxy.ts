/**
 * Reaching an endpoint through an HTTP proxy with `CONNECT` (RFC 9110 §9.3.6): the proxy opens a TCP
 * tunnel to the endpoint, and qi (or TLS, or WebSocket) runs inside it unchanged. Proxy URL:
 * `http://[user:password@]host:port`; credentials go in `Proxy-Authorization: Basic`.
 */
import net from 'node:net';
import { QiConnectError } from './errors.js';

const MAX_RESPONSE_HEAD = 16 * 1024;

/**
 * Opens a tunnel through `proxyUrl` to `host:port`.
 * @throws {@link QiConnectError} naming the proxy and what it answered.
 */
export function tunnel(
  proxyUrl: string,
  host: string,
  port: number,
  timeoutMs: number,
  target: string,
): Promise<net.Socket> {
  let proxy: URL;
  try {
    proxy = new URL(proxyUrl);
  } catch {
    return Promise.reject(
      new QiConnectError(
        target,
        'connect to',
        new Error(`the proxy URL ${JSON.stringify(proxyUrl)} is not valid (write http://host:port)`),
      ),
    );
  }
  if (proxy.protocol !== 'http:')
    return Promise.reject(
      new QiConnectError(target, 'connect to', new Error(`only http:// proxies are supported (got ${proxy.protocol})`)),
    );
  const authority = net.isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  const auth = proxy.username
    ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n`
    : '';
  const via = `through the HTTP proxy ${proxy.host}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(proxy.port || 80) });
    const timer = setTimeout(
      () => fail(Object.assign(new Error(`the proxy did not answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    let head = Buffer.alloc(0);
    function fail(e: Error) {
      clearTimeout(timer);
      socket.destroy();
      const wrapped = new QiConnectError(target, 'connect to', e);
      reject(Object.assign(wrapped, { message: `${wrapped.message.replace(/\.$/, '')} (${via})` }));
    }
    socket.once('error', fail);
    socket.once('connect', () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`));
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_RESPONSE_HEAD) fail(new Error('the proxy sent an over-long response'));
        return;
      }
      socket.removeListener('data', onData);
      const status = /^HTTP\/1\.[01] (\d{3})([^\r\n]*)/.exec(head.toString('latin1', 0, end));
      if (status === null) return fail(new Error('the proxy did not answer in HTTP'));
      if (status[1] !== '200') {
        const hint =
          status[1] === '407'
            ? ': it wants credentials (http://user:password@host:port)'
            : status[1] === '403'
              ? ': it does not allow tunnels to that port'
              : '';
        return fail(new Error(`the proxy refused the tunnel with HTTP ${status[1]}${status[2]}${hint}`));
      }
      clearTimeout(timer);
      socket.removeListener('error', fail);
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}
