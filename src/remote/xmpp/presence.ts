/**
 * Which robots are online: robots announce an XMPP presence carrying a `<qi xmlns="urn:qimessaging:robot"/>`
 * element; a client subscribed to a robot's presence (the robot approves allowed JIDs by itself) learns
 * when it comes and goes. Standard XMPP presence and roster, so any server (or a cluster) carries it.
 */
import { EventEmitter } from 'node:events';
import { xml } from './lib.js';
import type { Element } from './xmpp-types.js';
import type { XmppKeepOptions } from './keeper.js';
import { XmppLink, type XmppAccount } from './link.js';

/** The namespace of the element robots put in their presence. */
export const QI_ROBOT_NS = 'urn:qimessaging:robot';

/** A robot as its presence describes it. */
export interface RobotPresence {
  /** Its bare JID, e.g. `pepper@example.org`. */
  jid: string;
  /** Its full JID (the one to connect to), while online. */
  address?: string;
  online: boolean;
  /** Number of services it offers, as announced. */
  services?: number;
  /** Its status text. */
  status?: string;
}

/** The `<qi/>` element of a robot's presence. */
export function robotElement(services: number): Element {
  return xml('qi', { xmlns: QI_ROBOT_NS, services });
}

/** Watches the presence of robots from a client account. Events: `change` (RobotPresence). */
export class RobotWatcher extends EventEmitter {
  private readonly robots = new Map<string, RobotPresence>();

  private constructor(readonly link: XmppLink) {
    super();
    link.xmpp.on('stanza', (st: Element) => this.onStanza(st));
    // Logged in again after a loss: the server forgot our presence; announcing it again brings the
    // presence of every robot followed, as it is now.
    link.xmpp.on('online', () => void link.xmpp.send(xml('presence')).catch(() => {}));
  }

  /**
   * Logs in with `account` and asks to follow each robot of `subscribe` (the robot approves JIDs it
   * allows); robots already followed are reported too.
   */
  static async start(
    account: XmppAccount,
    subscribe: string[] = [],
    keep: XmppKeepOptions = {},
  ): Promise<RobotWatcher> {
    const link = await XmppLink.open(account, keep, 'qi-watch');
    const w = new RobotWatcher(link);
    for (const j of subscribe) await link.xmpp.send(xml('presence', { type: 'subscribe', to: j.split('/')[0] }));
    await link.xmpp.send(xml('presence')); // initial presence: the server sends those of our contacts
    return w;
  }

  private onStanza(st: Element): void {
    if (!st.is('presence')) return;
    const from = st.attrs.from ?? '';
    const bare = from.split('/')[0];
    const type = st.attrs.type;
    const qi = st.getChild('qi', QI_ROBOT_NS);
    const known = this.robots.get(bare);
    if (type === 'unavailable') {
      if (known === undefined || !known.online) return;
      const r: RobotPresence = { jid: bare, online: false };
      this.robots.set(bare, r);
      this.emit('change', r);
      return;
    }
    if (type !== undefined || qi === undefined) return; // subscription traffic, or not a robot
    const services = Number(qi.attrs.services);
    const r: RobotPresence = {
      jid: bare,
      address: from,
      online: true,
      services: Number.isFinite(services) ? services : undefined,
      status: st.getChildText('status') ?? undefined,
    };
    this.robots.set(bare, r);
    this.emit('change', r);
  }

  /** Robots seen so far, online or not. */
  list(): RobotPresence[] {
    return [...this.robots.values()].sort((a, b) => a.jid.localeCompare(b.jid));
  }

  /** Resolves once `jid` is seen with `online` as given, or rejects after `ms`. */
  waitFor(jid: string, online: boolean, ms: number): Promise<RobotPresence> {
    const bare = jid.split('/')[0];
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
