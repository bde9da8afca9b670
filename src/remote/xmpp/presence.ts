/**
 * Which robots are online: robots announce an XMPP presence carrying a `<qi xmlns="urn:qimessaging:robot"/>`
 * element (./identity.ts: name, model, version, services); a client subscribed to a robot's presence (the
 * robot approves allowed JIDs by itself), or sharing a roster group with it on the server, learns when it
 * comes and goes. Standard XMPP presence and roster, so any server (or a cluster) carries it.
 */
import { EventEmitter } from 'node:events';
import { xml } from './lib.js';
import type { Element } from './xmpp-types.js';
import { QI_ROBOT_NS, STATUS_MAX, cleanText, readRobotElement, type RobotIdentity } from './identity.js';
import type { XmppKeepOptions } from './keeper.js';
import { XmppLink, type XmppAccount } from './link.js';
import { Roster } from './roster.js';

export { QI_ROBOT_NS, robotElement } from './identity.js';

/** A robot as its presence describes it (announced fields bounded and cleaned: ./identity.ts). */
export interface RobotPresence extends RobotIdentity {
  /** Its bare JID, e.g. `pepper@example.org`. */
  jid: string;
  /** Its full JID (the one to connect to), while online. */
  address?: string;
  online: boolean;
  /** Number of services it offers, as announced. */
  services?: number;
  /** Its status text. */
  status?: string;
  /** Changes each time the robot logs in (again): seen changed, it was away meanwhile. */
  login?: string;
}

/** Options of {@link RobotWatcher.start} besides the account. */
export interface RobotWatchOptions {
  /** Also list the contacts of these roster groups, online or not (e.g. the group robots are filed in). */
  groups?: string[];
}

/** Watches the presence of robots from a client account. Events: `change` (RobotPresence). */
export class RobotWatcher extends EventEmitter {
  private readonly robots = new Map<string, RobotPresence>();
  /** JIDs asked to follow: listed even before they answer. */
  private readonly followed = new Set<string>();

  private constructor(
    readonly link: XmppLink,
    private readonly roster: Roster,
    private readonly options: RobotWatchOptions,
  ) {
    super();
    link.xmpp.on('stanza', (st: Element) => this.onStanza(st));
    // Logged in again after a loss: the server forgot our presence; announcing it again brings the
    // presence of every robot followed, as it is now.
    link.xmpp.on('online', () => void link.xmpp.send(xml('presence')).catch(() => {}));
  }

  /**
   * Logs in with `account`, reads its roster and asks to follow each robot of `subscribe` (the robot
   * approves JIDs it allows); robots already followed (in the roster) are reported too.
   */
  static async start(
    account: XmppAccount,
    subscribe: string[] = [],
    keep: XmppKeepOptions = {},
    options: RobotWatchOptions = {},
  ): Promise<RobotWatcher> {
    const link = await XmppLink.open(account, keep, 'qi-watch');
    const roster = new Roster(link.xmpp);
    await roster.load();
    const w = new RobotWatcher(link, roster, options);
    for (const j of subscribe) {
      const bare = j.split('/')[0].toLowerCase();
      w.followed.add(bare);
      if (roster.get(bare)?.subscription === 'to' || roster.get(bare)?.subscription === 'both') continue;
      await link.xmpp.send(xml('presence', { type: 'subscribe', to: bare }));
    }
    await link.xmpp.send(xml('presence')); // initial presence: the server sends those of our contacts
    return w;
  }

  /** Presence is trusted from the robots we follow (roster, or asked) only: not from any stranger. */
  private follows(bare: string): boolean {
    const c = this.roster.get(bare);
    return this.followed.has(bare) || (c !== undefined && (c.subscription === 'to' || c.subscription === 'both'));
  }

  private onStanza(st: Element): void {
    if (!st.is('presence')) return;
    const from = st.attrs.from ?? '';
    const bare = from.split('/')[0].toLowerCase();
    const type = st.attrs.type;
    const known = this.robots.get(bare);
    // A robot seen online revokes our subscription: its presence no longer comes to us (its account was
    // removed: ejabberd then says only this, after a roster push that already dropped it).
    const revoked = type === 'unsubscribed' && known?.online === true;
    if (!revoked && !this.follows(bare)) return;
    const qi = st.getChild('qi', QI_ROBOT_NS);
    if (type === 'unavailable' || revoked) {
      if (known === undefined || !known.online) return;
      // Another resource of the robot's account going away leaves the robot online.
      if (!revoked && known.address !== undefined && known.address !== from) return;
      const r: RobotPresence = { ...known, jid: bare, online: false, address: undefined, status: undefined };
      this.robots.set(bare, r);
      this.emit('change', r);
      return;
    }
    if (type !== undefined || qi === undefined) return; // subscription traffic, or not a robot
    // Logged in again while we thought it online: the server never said it went (a cluster node stopped).
    const said = readRobotElement(qi);
    if (known?.online && known.login !== undefined && said.login !== known.login) {
      const gone: RobotPresence = { ...known, jid: bare, online: false, address: undefined, status: undefined };
      this.robots.set(bare, gone);
      this.emit('change', gone);
    }
    const r: RobotPresence = {
      jid: bare,
      address: from,
      online: true,
      ...said,
      status: cleanText(st.getChildText('status'), STATUS_MAX),
    };
    this.robots.set(bare, r);
    this.emit('change', r);
  }

  /**
   * Robots seen so far, online or not, with the JIDs followed and the contacts of the watched roster
   * groups not seen yet (offline).
   */
  list(): RobotPresence[] {
    const all = new Map(this.robots);
    const unseen = [...this.followed];
    for (const g of this.options.groups ?? [])
      for (const c of this.roster.all()) if (c.groups.includes(g)) unseen.push(c.jid);
    for (const jid of unseen) if (!all.has(jid)) all.set(jid, { jid, online: false });
    return [...all.values()].sort((a, b) => a.jid.localeCompare(b.jid));
  }

  /** Resolves once `jid` is seen with `online` as given, or rejects after `ms`. */
  waitFor(jid: string, online: boolean, ms: number): Promise<RobotPresence> {
    const bare = jid.split('/')[0].toLowerCase();
    const now = this.robots.get(bare);
    if (now !== undefined && now.online === online) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => (
          this.off('change', on),
          reject(new Error(`${bare} was not seen ${online ? 'online' : 'offline'} within ${ms} ms`))
        ),
        ms,
      );
      const on = (r: RobotPresence) => {
        if (r.jid !== bare || r.online !== online) return;
        clearTimeout(timer);
        this.off('change', on);
        resolve(r);
      };
      this.on('change', on);
    });
  }

  /** Logs out. */
  close(): Promise<void> {
    return this.link.close();
  }
}
