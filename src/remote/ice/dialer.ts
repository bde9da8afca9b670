/**
 * The `ice:<link-id>` transport: a qi connection over an open direct link of this process, in a
 * DataChannel of its own, with no socket in between. A {@link DirectLink} adds itself to the registry
 * here when it opens and removes itself when it closes; `link.session` is `Session.connect('ice:<id>')`,
 * so its reconnection dials again and gets a fresh DataChannel while the link lives. The URL is private
 * to this process: the scheme is registered in src/plugged.ts (reach `relay`, not listenable), and this
 * module is loaded on the first dial or with the link code.
 */
import type { Duplex } from 'node:stream';
import {
  MessageStream,
  QiConnectError,
  formatEndpoint,
  type DialOptions,
  type Endpoint,
} from '../../transport/index.js';

/** Opens one more DataChannel on a link, as a byte stream. */
export type ChannelOpener = () => Promise<Duplex>;

const open = new Map<string, ChannelOpener>();
/** Why links of this process closed, for the error of a late dial; the oldest are forgotten first. */
const closed = new Map<string, string>();
const REMEMBERED = 64;

/**
 * Makes `ice:<id>` dialable while the link is open.
 * @returns the function that removes it, with the reason the link closed when it was not closed by its owner
 */
export function registerLink(id: string, opener: ChannelOpener): (why?: Error) => void {
  open.set(id, opener);
  return (why) => {
    if (open.get(id) !== opener) return;
    open.delete(id);
    closed.set(id, why?.message ?? 'closed by DirectLink.close()');
    if (closed.size > REMEMBERED) closed.delete(closed.keys().next().value as string);
  };
}

/** The error of a dial to a link that is not (or no longer) open. */
function notOpen(url: string, id: string): QiConnectError {
  const why = closed.get(id);
  return new QiConnectError(
    url,
    'connect to',
    new Error(
      why === undefined
        ? 'no direct link with that id is open in this process (an ice: URL names a link opened by DirectLink.open in the same process)'
        : `the direct link is closed (${why}); open a new one with DirectLink.open`,
    ),
  );
}

/** The dialer registered for `ice:`. */
export async function dialIce(ep: Endpoint, options: DialOptions): Promise<MessageStream> {
  if (ep.scheme !== 'ice') throw new Error('not an ice endpoint');
  const url = formatEndpoint(ep);
  const opener = open.get(ep.link);
  if (opener === undefined) throw notOpen(url, ep.link);
  let duplex: Duplex;
  try {
    duplex = await within(opener(), options);
  } catch (e) {
    throw open.has(ep.link) ? new QiConnectError(url, 'connect to', e) : notOpen(url, ep.link);
  }
  if (!open.has(ep.link)) {
    duplex.destroy();
    throw notOpen(url, ep.link);
  }
  return new MessageStream(duplex, url, url, { maxPayload: options.maxPayload });
}

/** `opening`, or an error once `timeoutMs` has passed or `signal` aborted; a stream opened too late is destroyed. */
function within(opening: Promise<Duplex>, options: DialOptions): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (settle: () => void) => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      settle();
      return true;
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no DataChannel opened within ${options.timeoutMs} ms`))),
      options.timeoutMs,
    );
    const onAbort = () => finish(() => reject(options.signal?.reason ?? new Error('aborted')));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    opening.then(
      (d) => finish(() => resolve(d)) || d.destroy(),
      (e: Error) => finish(() => reject(e)),
    );
  });
}
