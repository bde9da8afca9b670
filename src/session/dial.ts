/** Opening one connection for a session: the transport, then the qi handshake, within one time budget. */
import { openChannel, type Channel } from '../channel/index.js';
import { connect } from '../transport/index.js';
import type { SessionOptions } from './options.js';

/**
 * Connects to `url` and completes the handshake (capabilities, authentication) with the session's
 * options. One budget (`connectTimeoutMs`, default 10,000 ms) covers the TCP/TLS connection and the
 * handshake: a port that accepts and stays silent fails in time.
 */
export async function dial(url: string, options: SessionOptions): Promise<Channel> {
  const startedAt = Date.now();
  const timeoutMs = options.connectTimeoutMs ?? 10_000;
  const stream = await connect(url, {
    tls: options.tls,
    timeoutMs,
    maxPayload: options.maxPayload,
    proxy: options.proxy,
    transports: options.transports,
  });
  return openChannel(stream, {
    auth: options.auth,
    capabilities: options.capabilities,
    limits: options.limits,
    timeoutMs,
    startedAt,
  });
}
