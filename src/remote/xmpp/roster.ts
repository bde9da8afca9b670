/**
 * An account's roster as the server keeps it (RFC 6121): its contacts, their subscription state and the
 * groups they are filed in, read at each login and kept up to date by the server's roster pushes. The
 * robot uses it to let in the JIDs of a named group (an administrator files operators there, or the
 * server shares a group with every member: Prosody's `mod_groups`, ejabberd's shared roster groups); a
 * watcher uses it to list robots filed in a group while they are offline.
 */
import { xml } from './lib.js';
import type { Client, Element } from './xmpp-types.js';

const ROSTER_NS = 'jabber:iq:roster';
/** Most contacts kept, and most groups per contact (a roster is the server's, but bounded all the same). */
const MAX_CONTACTS = 200_000;
const MAX_GROUPS = 32;

/** One contact of the roster. */
export interface RosterContact {
  /** Bare JID, lowercased. */
  jid: string;
  /** `none`, `to` (we follow it), `from` (it follows us), `both`. */
  subscription: string;
  groups: string[];
}

/** See the module comment. Call {@link Roster.load} once online; it reloads after each reconnection. */
export class Roster {
  private readonly contacts = new Map<string, RosterContact>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly xmpp: Client) {
    xmpp.iqCallee.set(ROSTER_NS, 'query', ({ stanza }) => {
      // Pushes come from our own account (no from, or our bare JID) only: anyone else is lying.
      const from = stanza.attrs.from;
      const own = this.xmpp.jid?.bare().toString().toLowerCase();
      if (from !== undefined && from.toLowerCase() !== own) return false;
      for (const item of stanza.getChild('query', ROSTER_NS)?.getChildren('item') ?? []) this.apply(item);
      this.changed();
      return true;
    });
    xmpp.on('online', () => void this.load().catch(() => {}));
  }

  /** Reads the whole roster from the server (again). */
  async load(timeoutMs = 10_000): Promise<void> {
    const r = await this.xmpp.iqCaller.request(
      xml('iq', { type: 'get' }, xml('query', { xmlns: ROSTER_NS })),
      timeoutMs,
    );
    this.contacts.clear();
    for (const item of r.getChild('query', ROSTER_NS)?.getChildren('item') ?? []) this.apply(item);
    this.changed();
  }

  private apply(item: Element): void {
    const jid = item.attrs.jid?.split('/')[0].toLowerCase();
    if (!jid) return;
    const subscription = item.attrs.subscription ?? 'none';
    if (subscription === 'remove') {
      this.contacts.delete(jid);
      return;
    }
    if (!this.contacts.has(jid) && this.contacts.size >= MAX_CONTACTS) return;
    const groups = item
      .getChildren('group')
      .slice(0, MAX_GROUPS)
      .map((g) => g.text());
    this.contacts.set(jid, { jid, subscription, groups });
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** Calls `f` whenever the roster changed (loaded or pushed). */
  onChange(f: () => void): void {
    this.listeners.add(f);
  }

  /** The contact `jid` (bare, any case), if in the roster. */
  get(jid: string): RosterContact | undefined {
    return this.contacts.get(jid.split('/')[0].toLowerCase());
  }

  /** Whether `jid` is filed in `group` (names compare exactly, as the server stores them). */
  inGroup(jid: string, group: string): boolean {
    return this.get(jid)?.groups.includes(group) ?? false;
  }

  /** Every contact. */
  all(): RosterContact[] {
    return [...this.contacts.values()];
  }
}
