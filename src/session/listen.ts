/**
 * Where a session listens: the URLs it is given and, beside TCP, a unix socket for clients on the same
 * machine (in a per-user folder of the temporary directory, named after the session).
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listen, sweepStaleSockets, type Listener, type MessageStream } from '../transport/index.js';
import type { SessionOptions } from './options.js';

let swept = false;

/**
 * Listens on each URL, adding the session's unix socket after the first non-unix listener (unless
 * `ipc: false`, or `listeners` already has one). New listeners are pushed onto `listeners`.
 */
export async function listenAll(
  urls: string[],
  sessionId: string,
  options: SessionOptions,
  accept: (stream: MessageStream) => void,
  listeners: Listener[],
): Promise<void> {
  for (const url of urls) {
    const l = await listen(url, accept, {
      tls: options.listenTls,
      maxPayload: options.maxPayload,
      maxConnections: options.maxConnections,
    });
    listeners.push(l);
    if (l.endpoint.scheme !== 'unix' && options.ipc !== false && !listeners.some((x) => x.endpoint.scheme === 'unix')) {
      const dir = join(tmpdir(), `qi-${process.getuid?.() ?? 'user'}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Killed processes leave their socket files behind: clear them once per process, in the background.
      if (!swept) {
        swept = true;
        void sweepStaleSockets(dir);
      }
      listeners.push(
        await listen(`unix:${join(dir, `${sessionId}.sock`)}`, accept, {
          maxPayload: options.maxPayload,
          maxConnections: options.maxConnections,
        }),
      );
    }
  }
}
