/**
 * One XMPP account logged in to a server, with its In-Band Bytestreams. Robots and clients each use one;
 * the server may be a company's own (any XMPP server: the tests use Prosody).
 */
import { randomBytes } from 'node:crypto';
import { QI_ROBOT_NS } from './identity.js';
import { destroySocket, loadXmpp, xml, type XmppSocket } from './lib.js';
import type { Client, Element } from './xmpp-types.js';
import { QiAuthError } from '../../channel/index.js';
import type { QiError } from '../../errors/index.js';
import { QiClosedError, QiConnectError, QiTlsError } from '../../transport/index.js';
import { IbbEndpoint, type IbbOptions, type IbbStream } from './ibb.js';
import { XMPP_RECONNECT, XmppKeeper, reconnectPace, type XmppKeepOptions } from './keeper.js';
import { Backoff } from '../../session/index.js';
import { secureConnections, tlsFailure, type XmppTlsOptions } from './tls.js';

/** Robots whose login a link remembers. */
const MAX_LOGINS = 10_000;

/** An XMPP account to log in with. */
export interface XmppAccount {
  /** The server: `xmpp://host:5222` (STARTTLS when the server offers it) or `xmpps://host:5223` (TLS). */
  service: string;
  /**
   * Other addresses of the same service (the nodes of a cluster serving this domain): the first login
   * tries them in turn when `service` does not answer, and each login again after a loss goes to the next
   * one, so that a node stopping does not cut its robots off.
   */
  alternates?: string[];
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
  /**
   * How the server's certificate is checked (STARTTLS on `xmpp://`, TLS on `xmpps://`): Node's CAs by
   * default, against the account's domain; see {@link XmppTlsOptions} for a company CA or a pinned fingerprint.
   */
  tls?: XmppTlsOptions;
}

/** Options of a link (liveness and reconnection: {@link XmppKeepOptions}). */
export interface XmppLinkOptions extends XmppKeepOptions {
  /** Decides on each stream a peer opens; without it, peers cannot open streams to us. */
  accept?: (stream: IbbStream) => boolean;
  ibb?: IbbOptions;
  /** Give up logging in after this long, the first time and each time again (default 10,000 ms). */
  timeoutMs?: number;
  /**
   * Try the first login again while no server answers (a server still starting, or busy with a fleet's
   * logins), paced like logins after a loss (`reconnect`), until it succeeds or the server refuses the
   * account (default false: {@link XmppLink.open} fails at the first). `onRetry` hears each failure.
   */
  waitForServer?: boolean;
  /** With `waitForServer`: told of each failed first login, and of the wait before the next. */
  onRetry?: (error: Error, retryInMs: number) => void;
  /**
   * Told when a login after a loss fails on TLS (the server's certificate changed and is not trusted,
   * its TLS broke): the link goes on trying, but someone must act. {@link XmppLink.whenOnline} names it too.
   */
  onLoginError?: (error: QiTlsError) => void;
  /** Called each time the link is online (again, after a reconnection). */

  onOnline?: (link: XmppLink) => void;
  /**
   * Called once if the server refuses the account after the first login (it was removed, its password
   * changed, it was disabled): the link then stops logging in and its sessions end with this error.
   */
  onRefused?: (error: QiAuthError) => void;
}

/**
 * Whether an error of the connection means the server refuses the account for good: a failed
 * authentication, or a stream error `not-authorized` (Prosody's `Account deleted`). A stream `reset`
 * (Prosody's `Password changed`) is not: the login again then fails authentication.
 */
function refusal(e: unknown): string | undefined {
  const { name, condition, text } = (e ?? {}) as { name?: string; condition?: string; text?: string };
  const said = `${condition}${text ? `: ${text}` : ''}`;
  if (name === 'SASLError') return `authentication failed, ${said}`;
  if (name === 'StreamError' && condition === 'not-authorized') return `the server ended the session, ${said}`;
  return undefined;
}

/** A logged-in account; see the module comment. */
export class XmppLink {
  readonly ibb: IbbEndpoint;
  /** Liveness and reconnection of the connection (its `counts` say how often it was lost and back). */
  readonly keeper: XmppKeeper;
  private closed = false;
  /** Set once the server refused the account (see {@link XmppLinkOptions.onRefused}). */
  refused: QiAuthError | undefined;
  /** Why the last login after a loss failed on TLS, until one succeeds (see {@link XmppLinkOptions.onLoginError}). */
  loginError: QiTlsError | undefined;
  /** Streams of qi sessions by peer (full JID): they end with this connection, or when the peer goes. */
  private readonly tracked = new Map<string, Set<{ destroy(e?: Error): void }>>();
  /** The login of each robot heard of, as its presence said (see {@link loginId}). */
  private readonly logins = new Map<string, string>();
  /**
   * Changes each time this link is online again: robots announce it in their presence, so that peers
   * tell a robot that logged in again (its sessions ended) from one announcing a change, even when the
   * server never said it went offline (a cluster node stopped or crashed).
   */
  loginId = '';

  private constructor(
    readonly xmpp: Client,
    readonly service: string,
    account: string,
    options: XmppLinkOptions,
    services: string[],
  ) {
    this.ibb = new IbbEndpoint(xmpp, options.ibb, options.accept);
    // Streams do not survive their XMPP connection: their owners reconnect.
    this.keeper = new XmppKeeper(xmpp, options, options.timeoutMs ?? 10_000, services, {
      lost: (why) =>
        this.endAll(
          new QiClosedError(
            `the XMPP connection to ${service} was lost (${why}); sessions through it ended, and it logs in again by itself`,
          ),
        ),
    });
    xmpp.on('offline', () => this.endAll(this.refused ?? new QiClosedError('the XMPP link was closed')));
    // Requests sent on a connection that is gone never get their answer (not on the next one either):
    // they fail now, instead of holding their timer (30 s) and their caller.
    xmpp.on('disconnect', () => {
      const pending = (xmpp.iqCaller as { handlers?: Map<string, { reject(e: Error): void }> }).handlers;
      if (pending === undefined || pending.size === 0) return;
      const e = new QiClosedError(`the XMPP connection to ${service} was lost before the answer came`);
      for (const d of pending.values()) d.reject(e);
      pending.clear();
    });
    xmpp.on('error', (e: unknown) => {
      if (e instanceof QiTlsError && this.keeper.isStarted && !this.closed) {
        this.loginError = e;
        options.onLoginError?.(e);
      }
      const why = refusal(e);
      if (why === undefined || this.refused !== undefined || !this.keeper.isStarted) return;
      const bare = (xmpp.jid?.bare().toString() ?? '') || account;
      this.refused = new QiAuthError(
        `The XMPP server ${service} refused ${bare} (${why}): the account was removed, disabled or its password changed. It no longer logs in; check the account on the server (docs/remote.md, Provisioning) and start again`,
      );
      this.keeper.refuse(why);
      this.endAll(this.refused);
      options.onRefused?.(this.refused);
      // Offline for good once the connection is down (stopping while it still closes races its parser).
      const stop = () => void stopSoon(xmpp);
      if (xmpp.status === 'disconnect') stop();
      else xmpp.once('disconnect', stop);
    });
    xmpp.on('online', () => {
      this.loginId = randomBytes(6).toString('hex');
      this.loginError = undefined;
    });
    // A peer whose presence we hold (directed to us) went offline, or logged in again: its sessions'
    // streams are dead.
    xmpp.on('stanza', (st: Element) => {
      if (!st.is('presence') || !st.attrs.from) return;
      const peer = st.attrs.from;
      if (st.attrs.type === 'unavailable') {
        this.logins.delete(peer);
        return this.peerGone(
          peer,
          'went offline (the XMPP server ended its presence: its network or process went away)',
        );
      }
      const login = st.attrs.type === undefined ? st.getChild('qi', QI_ROBOT_NS)?.attrs.login : undefined;
      if (login === undefined) return;
      const before = this.logins.get(peer);
      this.logins.delete(peer);
      this.logins.set(peer, login);
      // Robots we hear of: as many as a roster holds, at most (the oldest heard of go first).
      if (this.logins.size > MAX_LOGINS) this.logins.delete(this.logins.keys().next().value!);
      if (before !== undefined && before !== login)
        this.peerGone(
          peer,
          'logged in again (it had lost its XMPP server: a server node stopped, or its network went away)',
        );
    });
  }

  private peerGone(peer: string, what: string): void {
    const set = this.tracked.get(peer);
    if (set === undefined) return;
    this.tracked.delete(peer);
    const e = new QiClosedError(`${peer} ${what}; the session reconnects once it is back`);
    for (const s of set) s.destroy(e);
  }

  /**
   * Ends `stream` (a session's IBB stream or SOCKS5 socket with `peer`) when this connection is lost or
   * `peer` goes offline; forgotten once it closes.
   */
  track(peer: string, stream: { destroy(e?: Error): void; once(ev: 'close', f: () => void): unknown }): void {
    let set = this.tracked.get(peer);
    if (set === undefined) this.tracked.set(peer, (set = new Set()));
    set.add(stream);
    stream.once('close', () => {
      set.delete(stream);
      if (set.size === 0 && this.tracked.get(peer) === set) this.tracked.delete(peer);
    });
  }

  /** Number of streams tracked (for tests: flat across reconnections). */
  get trackedCount(): number {
    let n = 0;
    for (const s of this.tracked.values()) n += s.size;
    return n;
  }

  private endAll(e: Error): void {
    this.logins.clear();
    this.ibb.closeAll(e);
    const all = [...this.tracked.values()].flatMap((s) => [...s]);
    this.tracked.clear();
    for (const s of all) s.destroy(e);
  }

  /**
   * Logs in, to `account.service` or, when it does not answer, to each of `account.alternates` in turn.
   * @throws QiAuthError (refused credentials) or QiConnectError (no server reachable).
   */
  static async open(account: XmppAccount, options: XmppLinkOptions = {}, defaultResource = 'qi'): Promise<XmppLink> {
    const services = [account.service, ...(account.alternates ?? [])];
    // `reconnect: false` is about logins after a loss: a first login asked to wait still takes the default pace.
    const pace = reconnectPace(options.reconnect) ?? XMPP_RECONNECT;
    const backoff = new Backoff(pace.minMs, pace.maxMs, pace.jitter);
    for (let i = 0; ; i = (i + 1) % services.length) {
      try {
        return await XmppLink.openOne({ ...account, service: services[i] }, options, defaultResource, services);
      } catch (e) {
        // Refused credentials, a certificate not trusted, a setting that is wrong: trying again, or
        // elsewhere, would not help.
        if (e instanceof QiAuthError || e instanceof QiTlsError || (e as QiError).code === 'ERR_QI_CONFIG') throw e;
        if (i < services.length - 1) continue;
        if (options.waitForServer !== true) throw e;
        const ms = backoff.next();
        options.onRetry?.(e as Error, ms);
        await new Promise((r) => setTimeout(r, ms));
      }
    }
  }

  private static async openOne(
    account: XmppAccount,
    options: XmppLinkOptions,
    defaultResource: string,
    services: string[],
  ): Promise<XmppLink> {
    const [bare, jidResource] = account.jid.split('/', 2);
    const at = bare.indexOf('@');
    if (at <= 0)
      throw new QiConnectError(
        account.service,
        'connect to',
        new Error(`"${account.jid}" is not an XMPP account (name@domain)`),
      );
    const { client } = await loadXmpp();
    const timeoutMs = options.timeoutMs ?? 10_000;
    const xmpp = client({
      // @xmpp's own wait for each step of a login (the server's stream header, each SASL/bind answer), 2 s by
      // default: a server busy with a thousand logins took longer, and the login failed with no reason (fleet runs).
      timeout: timeoutMs,
      service: account.service,
      domain: bare.slice(at + 1),
      username: bare.slice(0, at),
      password: account.password,
      resource: account.resource ?? jidResource ?? defaultResource,
    });
    xmpp.on('error', () => {}); // reported through start() or 'offline'
    await secureConnections(xmpp, account.tls, account.service, bare.slice(at + 1));
    // Bytes that arrive once the stream is closing (its parser gone: a stream error, then our own close)
    // are dropped: @xmpp/connection would throw on them in a socket handler, which ends the process.
    const conn = xmpp as unknown as {
      parser: unknown;
      socket: XmppSocket | null;
      _onData(d: Buffer): void;
      _detachSocket(): void;
    };
    const onData = conn._onData;
    conn._onData = function (this: typeof conn, d: Buffer) {
      if (this.parser) onData.call(this, d);
    };
    // A socket it gives up on (a server too slow to close, under load) loses its listeners but stays open:
    // a reset arriving then (fleet runs: Prosody at 1,000 logins) would end the process. It goes now.
    const detach = conn._detachSocket;
    conn._detachSocket = function (this: typeof conn) {
      const socket = this.socket;
      detach.call(this);
      socket?.on('error', () => {});
      destroySocket(socket);
    };
    // Stanzas are small and answered at once: Nagle's delay would cost tens of ms per round trip.
    xmpp.on('status', () =>
      (xmpp as unknown as { socket?: { setNoDelay?(b: boolean): void } }).socket?.setNoDelay?.(true),
    );
    const link = new XmppLink(xmpp, account.service, bare, options, services);
    if (options.onOnline) xmpp.on('online', () => options.onOnline!(link));
    let timer: NodeJS.Timeout | undefined;
    const tlsFailed = tlsFailure(xmpp, account.service);
    try {
      await Promise.race([
        xmpp.start(),
        tlsFailed.failed,
        new Promise(
          (_, reject) =>
            (timer = setTimeout(
              () => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
              timeoutMs,
            )),
        ),
      ]);
    } catch (e) {
      link.keeper.close();
      await stopSoon(xmpp);
      if (e instanceof QiTlsError) throw e;
      // @xmpp's TimeoutError has no message.
      const text =
        (e as Error).message ||
        ((e as Error).name === 'TimeoutError' ? `a step of the login took over ${timeoutMs} ms` : String(e));
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
      tlsFailed.stop();
    }
    link.keeper.start();
    return link;
  }

  /**
   * Resolves once the connection is online (at once when it is); while it is down and logging in again,
   * waits, for at most `ms`.
   * @throws QiClosedError when it stays down that long, or the link is closed.
   */
  whenOnline(ms: number): Promise<void> {
    if (this.xmpp.status === 'online') return Promise.resolve();
    const down = () =>
      this.refused ??
      new QiClosedError(
        this.closed
          ? 'the XMPP link was closed'
          : `the XMPP connection to ${this.service} is down${this.keeper.downSince === undefined ? '' : ` since ${Date.now() - this.keeper.downSince} ms`} and not back within ${ms} ms (it keeps logging in again by itself: ${this.loginError ? `the last login failed: ${this.loginError.message}` : "check this machine's network and the server"})`,
      );
    if (this.closed || this.refused) return Promise.reject(down());
    return new Promise((resolve, reject) => {
      const done = (e?: Error) => {
        clearTimeout(timer);
        this.xmpp.off('online', on);
        this.xmpp.off('offline', off);
        if (e) reject(e);
        else resolve();
      };
      const on = () => done();
      const off = () => done(down());
      const timer = setTimeout(() => done(down()), ms);
      this.xmpp.on('online', on);
      this.xmpp.on('offline', off);
    });
  }

  /** The full JID this link is logged in as. */
  get jid(): string {
    return this.xmpp.jid?.toString() ?? '';
  }

  /** Announces presence, with a status text and an extra element, to everyone (or only to the full JID `to`). */
  presence(status: string, extra?: Element, to?: string): Promise<void> {
    return this.xmpp.send(xml('presence', { to }, xml('status', {}, status), ...(extra ? [extra] : [])));
  }

  /** Logs out (and stops logging in again). */
  async close(): Promise<void> {
    this.closed = true;
    this.keeper.close();
    this.ibb.closeAll(new Error('the XMPP link was closed'));
    if (this.xmpp.status === 'online') await this.xmpp.send(xml('presence', { type: 'unavailable' })).catch(() => {});
    await stopSoon(this.xmpp);
  }
}

/** Logs out, waiting for the server's goodbye 2 s at most (not a login's budget: a hung server holds nothing up). */
function stopSoon(xmpp: Client): Promise<void> {
  (xmpp as unknown as { timeout: number }).timeout = 2000;
  return xmpp.stop().then(
    () => {},
    () => {},
  );
}
