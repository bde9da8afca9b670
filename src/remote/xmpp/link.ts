/**
 * One XMPP account logged in to a server, with its In-Band Bytestreams. Robots and clients each use one;
 * the server may be a company's own (any XMPP server: the tests use Prosody).
 */
import { loadXmpp, xml } from './lib.js';
import type { Client, Element } from './xmpp-types.js';
import { QiAuthError } from '../../channel/index.js';
import { QiConnectError } from '../../transport/index.js';
import { IbbEndpoint, type IbbOptions, type IbbStream } from './ibb.js';

/** An XMPP account to log in with. */
export interface XmppAccount {
  /** The server: `xmpp://host:5222` (STARTTLS when the server offers it) or `xmpps://host:5223` (TLS). */
  service: string;
  /** The account's JID, `name@domain` (a resource may follow after `/`). */
  jid: string;
  /** Its password (sent with SASL SCRAM when the server offers it). */
  password: string;
  /** The resource to bind (default: the one in `jid`, else `qi` for robots and a random one for clients). */
  resource?: string;
  /**
   * Clients: how qi bytes travel. `auto` (default): through the server's SOCKS5 proxy (XEP-0065) when it
   * offers one, else In-Band Bytestreams; `socks5` or `ibb` to insist.
   */
  bytestreams?: 'auto' | 'socks5' | 'ibb';
}

/** Options of a link. */
export interface XmppLinkOptions {
  /** Decides on each stream a peer opens; without it, peers cannot open streams to us. */
  accept?: (stream: IbbStream) => boolean;
  ibb?: IbbOptions;
  /** Give up logging in after this long (default 10,000 ms). */
  timeoutMs?: number;
  /** Called each time the link is online (again, after a reconnection). */
  onOnline?: (link: XmppLink) => void;
}

/** A logged-in account; see the module comment. */
export class XmppLink {
  readonly ibb: IbbEndpoint;

  private constructor(
    readonly xmpp: Client,
    options: XmppLinkOptions,
  ) {
    this.ibb = new IbbEndpoint(xmpp, options.ibb, options.accept);
    // Streams do not survive their XMPP connection: their owners reconnect.
    xmpp.on('offline', () => this.ibb.closeAll(new Error('the XMPP connection was lost')));
    xmpp.on('disconnect', () => this.ibb.closeAll(new Error('the XMPP connection was lost')));
  }

  /** Logs in. @throws QiAuthError (refused credentials) or QiConnectError (server unreachable). */
  static async open(account: XmppAccount, options: XmppLinkOptions = {}, defaultResource = 'qi'): Promise<XmppLink> {
    const [bare, jidResource] = account.jid.split('/', 2);
    const at = bare.indexOf('@');
    if (at <= 0)
      throw new QiConnectError(
        account.service,
        'connect to',
        new Error(`"${account.jid}" is not an XMPP account (name@domain)`),
      );
    const { client } = await loadXmpp();
    const xmpp = client({
      service: account.service,
      domain: bare.slice(at + 1),
      username: bare.slice(0, at),
      password: account.password,
      resource: account.resource ?? jidResource ?? defaultResource,
    });
    xmpp.on('error', () => {}); // reported through start() or 'offline'
    // Stanzas are small and answered at once: Nagle's delay would cost tens of ms per round trip.
    xmpp.on('status', () =>
      (xmpp as unknown as { socket?: { setNoDelay?(b: boolean): void } }).socket?.setNoDelay?.(true),
    );
    const link = new XmppLink(xmpp, options);
    if (options.onOnline) xmpp.on('online', () => options.onOnline!(link));
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        xmpp.start(),
        new Promise(
          (_, reject) =>
            (timer = setTimeout(
              () => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
              timeoutMs,
            )),
        ),
      ]);
    } catch (e) {
      xmpp.reconnect.stop();
      await xmpp.stop().catch(() => {});
      const text = (e as Error).message ?? String(e);
      if (
        /not-authorized|credentials|SASL|auth/i.test(text) ||
        (e as { condition?: string }).condition === 'not-authorized'
      ) {
        throw new QiAuthError(
          `The XMPP server ${account.service} refused the login of ${bare} (${text}). Check the account and its password.`,
        );
      }
      const code = (e as { code?: string }).code;
      throw new QiConnectError(
        account.service,
        'connect to',
        new Error(
          `the XMPP server does not answer${code ? ` (${code})` : ''}: ${text}. Check its address and port, and that it runs`,
        ),
      );
    } finally {
      clearTimeout(timer);
    }
    return link;
  }

  /** The full JID this link is logged in as. */
  get jid(): string {
    return this.xmpp.jid?.toString() ?? '';
  }

  /** Announces presence, with a status text and any extra elements. */
  presence(status: string, ...extra: Element[]): Promise<void> {
    return this.xmpp.send(xml('presence', {}, xml('status', {}, status), ...extra));
  }

  /** Logs out. */
  async close(): Promise<void> {
    this.xmpp.reconnect.stop();
    this.ibb.closeAll(new Error('the XMPP link was closed'));
    if (this.xmpp.status === 'online') await this.xmpp.send(xml('presence', { type: 'unavailable' })).catch(() => {});
    await this.xmpp.stop().catch(() => {});
  }
}
