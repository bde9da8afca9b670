/**
 * The robot side of remote access through XMPP: the robot logs in to an XMPP server as its own JID,
 * announces its presence, and accepts qi sessions (In-Band Bytestreams) from allowed JIDs only; each
 * session then goes through a {@link Gateway} like any outside connection (its users, tokens and
 * permissions apply on top).
 */
import type { Gateway } from '../../gateway/index.js';
import { MessageStream, type QiTlsError } from '../../transport/index.js';
import { xml } from './lib.js';
import type { Element } from './xmpp-types.js';
import type { IbbOptions, IbbStream } from './ibb.js';
import type { XmppKeepOptions } from './keeper.js';
import { XmppLink, type XmppAccount } from './link.js';
import { robotElement, type RobotIdentity } from './identity.js';
import { Roster } from './roster.js';
import { acceptSocks5 } from './socks5.js';
import type { QiAuthError } from '../../channel/index.js';

/** Options of {@link XmppGateway.start}. */
export interface XmppGatewayOptions {
  /** The robot's XMPP account (its resource defaults to `qi`, which clients address by default). */
  account: XmppAccount;
  /** Bare JIDs (`name@server`) allowed to open qi sessions; everyone else is refused. */
  allow: string[];
  /**
   * Groups of the robot's own roster whose contacts are allowed too (for fleets: the server files the
   * operators there, e.g. Prosody's `mod_groups`; the roster is read at each login and followed as the
   * server changes it). Default: none.
   */
  allowGroups?: string[];
  /**
   * What the robot announces of itself in its presence (name, model, version; bounded to 64 characters
   * each). Default: the name is the JID's local part.
   */
  identity?: RobotIdentity;
  /**
   * Called once if the server refuses the robot's account after it was online (removed, password
   * changed): the robot is then offline for good, its sessions ended with this error.
   */
  onRefused?: (error: QiAuthError) => void;
  /** The gateway the sessions go through. */
  gateway: Gateway;
  /** Presence status text (default: `qi robot: N services`). */
  status?: string;
  ibb?: IbbOptions;
  /**
   * How the robot notices a dead XMPP connection and logs in again (ping after 10 s of silence, dead
   * 10 s later; again after 0.5 s, doubling up to 30 s, jitter 0.5): docs/remote.md.
   */
  keep?: XmppKeepOptions;
  /**
   * Keep trying the first login while no XMPP server answers (one starting, or busy with a fleet's
   * logins), paced as logins after a loss (`keep.reconnect`); `start` then resolves once the robot is
   * online, and still fails at once on refused credentials. Default false (`qi xmpp-gateway`: true).
   */
  waitForServer?: boolean;
  /** With `waitForServer`: told of each failed first login and of the wait before the next. */
  onRetry?: (error: Error, retryInMs: number) => void;
  /**
   * Told when a login after a loss fails on TLS (the server's certificate changed and is not trusted):
   * the robot goes on trying, but someone must act.
   */
  onLoginError?: (error: QiTlsError) => void;
}

/** A robot reachable through XMPP; see the module comment. */
export class XmppGateway {
  /** Sessions accepted (by bytestream kind), and opening attempts refused (not in the allowlist). */
  readonly metrics = { sessions: 0, ibb: 0, socks5: 0, refused: 0 };

  private constructor(
    readonly link: XmppLink,
    private readonly options: XmppGatewayOptions,
  ) {}

  /** Logs in, announces presence and starts accepting sessions. */
  static async start(options: XmppGatewayOptions): Promise<XmppGateway> {
    const listed = new Set(options.allow.map((j) => j.toLowerCase()));
    const groups = options.allowGroups ?? [];
    let roster: Roster | undefined;
    // Decided on the first stanza of a session (its bytestream offer), before any qi byte flows.
    const allowed = (peer: string): boolean => {
      const bare = peer.split('/')[0].toLowerCase();
      return listed.has(bare) || (roster !== undefined && groups.some((g) => roster!.inGroup(bare, g)));
    };
    let self: XmppGateway | undefined;
    const accept = (s: IbbStream): boolean => {
      if (self === undefined || !allowed(s.peer)) {
        if (self) self.metrics.refused++;
        return false;
      }
      self.metrics.sessions++;
      self.metrics.ibb++;
      self.opened(s.peer, s);
      options.gateway.acceptStream(new MessageStream(s, `xmpp://${s.peer}`, `xmpp://${self.link.jid}`));
      return true;
    };
    // Presence again after every reconnection: the server forgot it (and the clients it was directed to).
    const link = await XmppLink.open(options.account, {
      accept,
      ibb: options.ibb,
      ...options.keep,
      onOnline: () => void self?.announce().catch(() => {}),
      onRefused: options.onRefused,
      waitForServer: options.waitForServer,
      onRetry: options.onRetry,
      onLoginError: options.onLoginError,
    });
    if (groups.length > 0) {
      roster = new Roster(link.xmpp);
      await roster.load();
    }
    self = new XmppGateway(link, options);
    // Bulk-friendly sessions through the server's SOCKS5 proxy, for the same JIDs.
    acceptSocks5(
      link.xmpp,
      (peer) => {
        const ok = allowed(peer);
        if (!ok) self.metrics.refused++;
        return ok;
      },
      (peer, socket) => {
        self.metrics.sessions++;
        self.metrics.socks5++;
        self.opened(peer, socket);
        options.gateway.acceptStream(new MessageStream(socket, `xmpp://${peer}`, `xmpp://${link.jid}`));
      },
    );
    // Allowed JIDs may follow the robot's presence; others are told no.
    link.xmpp.on('stanza', (st: Element) => {
      if (!st.is('presence') || st.attrs.type !== 'subscribe' || !st.attrs.from) return;
      const from = st.attrs.from.split('/')[0];
      const ok = allowed(from);
      void link.xmpp.send(xml('presence', { type: ok ? 'subscribed' : 'unsubscribed', to: from })).catch(() => {});
    });
    await self.announce();
    return self;
  }

  /**
   * A session opened by `peer`: its stream ends with our XMPP connection, and `peer` gets our presence
   * directly, so that the server tells it when we go offline (lost network, reconnection elsewhere)
   * and its session reconnects at once instead of waiting for its heartbeat.
   */
  private opened(peer: string, stream: { destroy(e?: Error): void; once(ev: 'close', f: () => void): unknown }): void {
    this.link.track(peer, stream);
    void this.link.presence(this.statusText(), this.element(), peer).catch(() => {});
  }

  /** Announces the robot's presence now (with its current number of services). */
  announce(): Promise<void> {
    return this.link.presence(this.statusText(), this.element());
  }

  private element() {
    const name = this.options.identity?.name ?? this.link.jid.split('@')[0];
    return robotElement(this.options.gateway.serviceCount, { ...this.options.identity, name }, this.link.loginId);
  }

  private statusText(): string {
    return this.options.status ?? `qi robot: ${this.options.gateway.serviceCount} services`;
  }

  /** The robot's full JID. */
  get jid(): string {
    return this.link.jid;
  }

  /** Announces absence and logs out (the gateway itself stays up). */
  close(): Promise<void> {
    return this.link.close();
  }
}
