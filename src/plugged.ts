/**
 * Transports of higher layers that `Session.connect` reaches by URL, registered lazily: importing the
 * package describes their URLs (parse, print, route cost) in the scheme registry of transport/, and their
 * code, with its optional dependencies, is loaded on the first connection to one of them. `xmpp://` for
 * now (src/remote/xmpp, which needs `@xmpp/client`).
 *
 * This table sits at the root because it is the one place that may name both the registry (transport/)
 * and the transports (remote/): transport/ and session/ are below remote/ and must not import it.
 */
import { QiUrlError, registerDialer, registerScheme, type Dialer } from './transport/index.js';

declare module './transport/url.js' {
  interface PluggedEndpoints {
    /** A robot reached through an XMPP server (src/remote/xmpp). */
    xmpp: { readonly scheme: 'xmpp'; readonly jid: string };
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
