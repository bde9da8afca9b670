/**
 * Transports of higher layers that `Session.connect` reaches by URL, registered lazily: importing the
 * package describes their URLs (parse, print, route cost) in the scheme registry of transport/, and their
 * code, with its optional dependencies, is loaded on the first connection to one of them: `xmpp://`
 * (src/remote/xmpp, which needs `@xmpp/client`) and `ice:<link-id>` (a direct link opened by this process,
 * src/remote/ice/dialer.ts). A program that opens a direct link has a Session, hence this module loaded.
 *
 * This table sits at the root because it is the one place that may name both the registry (transport/)
 * and the transports (remote/): transport/ and session/ are below remote/ and must not import it.
 */
import { QiUrlError, registerDialer, registerScheme, type Dialer } from './transport/index.js';

declare module './transport/url.js' {
  interface PluggedEndpoints {
    /** A robot reached through an XMPP server (src/remote/xmpp). */
    xmpp: { readonly scheme: 'xmpp'; readonly jid: string };
    /** An open direct link of this process, by id (src/remote/ice/dialer.ts). */
    ice: { readonly scheme: 'ice'; readonly link: string };
  }
}

/** A dialer that loads the real one on first use. */
function lazyDialer(load: () => Promise<Dialer>): Dialer {
  let dialer: Promise<Dialer> | undefined;
  return async (endpoint, options) => (await (dialer ??= load()))(endpoint, options);
}

registerScheme('xmpp', {
  reach: 'relay',
  parse: (rest, url) => {
    const jid = decodeURIComponent(rest.startsWith('//') ? rest.slice(2) : rest);
    if (!/^[^@/\s]+@[^@/\s]+(\/.+)?$/.test(jid))
      throw new QiUrlError(url, 'an xmpp endpoint names a robot as xmpp://name@server[/resource]');
    return { scheme: 'xmpp', jid };
  },
  format: (e) => `xmpp://${(e as { jid: string }).jid}`,
  listenRefusal: 'an xmpp endpoint is served by an XmppGateway (qi xmpp-gateway), not by a listener',
});
registerDialer(
  'xmpp',
  lazyDialer(async () => (await import('./remote/xmpp/dialer.js')).dialXmpp),
);

registerScheme('ice', {
  // A link reaches another machine: ranked with the remote routes, never before a local one.
  reach: 'relay',
  parse: (rest, url) => {
    if (rest.startsWith('//'))
      throw new QiUrlError(
        url,
        'ice://address:port names one end of a direct link in messages and per-address limits; it cannot be dialled. A link of this process is dialled as ice:<link-id>',
      );
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(rest))
      throw new QiUrlError(url, 'an ice endpoint is ice:<link-id>, the id of an open DirectLink');
    return { scheme: 'ice', link: rest };
  },
  format: (e) => `ice:${(e as { link: string }).link}`,
  listenRefusal:
    'an ice: endpoint is a direct link opened by DirectLink.open; links are accepted by a DirectLinkHost, not by a listener',
});
registerDialer(
  'ice',
  lazyDialer(async () => (await import('./remote/ice/dialer.js')).dialIce),
);
