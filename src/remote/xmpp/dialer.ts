/**
 * The client side of `xmpp://robot@server[/resource]`: logs in with the caller's own XMPP account (shared
 * by every connection of that account), opens an In-Band Bytestream to the robot and speaks qi in it.
 */
import { randomUUID } from 'node:crypto';
import {
  MessageStream,
  QiConnectError,
  QiUrlError,
  formatEndpoint,
  type DialOptions,
  type Endpoint,
} from '../../transport/index.js';
import type { IbbOptions } from './ibb.js';
import type { XmppKeepOptions } from './keeper.js';
import { xml } from './lib.js';
import { XmppLink, type XmppAccount } from './link.js';
import { findProxy, openSocks5, type StreamHost } from './socks5.js';

const links = new Map<string, Promise<XmppLink>>();
/** Streams open per link: a link with none left logs out after a short grace period. */
const users = new Map<Promise<XmppLink>, { streams: number; timer?: NodeJS.Timeout }>();
const IDLE_LOGOUT_MS = 1000;

function hold(p: Promise<XmppLink>): void {
  const u = users.get(p) ?? { streams: 0 };
  clearTimeout(u.timer);
  u.streams++;
  users.set(p, u);
}

function release(key: string, p: Promise<XmppLink>): void {
  const u = users.get(p);
  if (u === undefined) return;
  u.streams--;
  if (u.streams > 0) return;
  u.timer = setTimeout(() => {
    if (u.streams > 0) return;
    users.delete(p);
    if (links.get(key) === p) links.delete(key);
    void p.then((l) => l.close()).catch(() => {});
  }, IDLE_LOGOUT_MS);
}

function accountOf(options: DialOptions, target: string): XmppAccount {
  const given = options.xmpp as Partial<XmppAccount> | undefined;
  const a = {
    service: given?.service ?? process.env.QI_XMPP_SERVICE,
    jid: given?.jid ?? process.env.QI_XMPP_JID,
    password: given?.password ?? process.env.QI_XMPP_PASSWORD,
    resource: given?.resource,
    alternates: given?.alternates,
    tls: given?.tls,
  };
  if (!a.service || !a.jid || a.password === undefined) {
    throw new QiUrlError(
      target,
      'reaching a robot through XMPP needs your own XMPP account: { transports: { xmpp: { service: "xmpp://server:5222", jid: "you@server", password } } }, or QI_XMPP_SERVICE, QI_XMPP_JID and QI_XMPP_PASSWORD',
    );
  }
  return a as XmppAccount;
}

/**
 * The shared link of an account (logged in once, again after it closed; while its connection is down it
 * logs in again by itself, with the liveness and pace of `keep`).
 */
function linkOf(a: XmppAccount, timeoutMs: number, keep: XmppKeepOptions, ibb?: IbbOptions): Promise<XmppLink> {
  const key = `${a.service} ${a.jid}`;
  let p = links.get(key);
  if (p === undefined) {
    // Available (at the lowest priority: no chat message is routed here), so that the server tells us
    // when a robot we have sessions with goes offline, whether it is in our roster or not; again after
    // each reconnection.
    p = XmppLink.open(
      a,
      {
        ...keep,
        ibb,
        timeoutMs,
        onOnline: (l) => void l.xmpp.send(xml('presence', {}, xml('priority', {}, '-1'))).catch(() => {}),
      },
      `qi-${randomUUID().slice(0, 8)}`,
    );
    links.set(key, p);
    p.then(
      (l) => l.xmpp.on('offline', () => links.get(key) === p && links.delete(key)),
      () => links.get(key) === p && links.delete(key),
    );
  }
  return p;
}

const proxies = new WeakMap<XmppLink, Promise<StreamHost | undefined>>();

/** The server's bytestream proxy, asked once per link. */
function proxyOf(link: XmppLink, timeoutMs: number): Promise<StreamHost | undefined> {
  let p = proxies.get(link);
  if (p === undefined) {
    p = findProxy(link.xmpp, link.jid.split('@')[1].split('/')[0], timeoutMs);
    proxies.set(link, p);
  }
  return p;
}

const warned = new Set<string>();

/**
 * Says once per proxy and robot why 'auto' went on with In-Band Bytestreams after SOCKS5 failed (once
 * IBB worked: a robot that cannot be reached at all gets the dialer's error instead).
 */
function fellBack(proxy: StreamHost, robot: string, e: unknown): void {
  const key = `${proxy.jid} ${robot}`;
  if (warned.has(key) || typeof process.emitWarning !== 'function') return;
  warned.add(key);
  const why = (e as { text?: string }).text || (e as Error).message;
  process.emitWarning(
    `SOCKS5 to ${robot} through the bytestream proxy ${proxy.jid} (${proxy.host}:${proxy.port}) failed: ${why}. Using In-Band Bytestreams (slower for bulk data). Make the proxy's address reachable from the robot (Prosody: proxy65_address), or use bytestreams: 'ibb' to skip the attempt.`,
    { code: 'QI_XMPP_SOCKS5_FALLBACK' },
  );
}

const domainOf = (jid: string) => jid.replace(/^[^@/]*@/, '').replace(/\/.*$/, '');

/**
 * Why a robot on another domain cannot be reached when our server says its server could not be
 * (`remote-server-not-found` / `remote-server-timeout`): the server-to-server (s2s) link between the
 * two was not set up. Seen with Debian's Prosody (`s2s_secure_auth = true`) and a certificate it does
 * not trust (docs/remote.md, "Federation").
 */
function unreachableServer(ours: string, robot: string, condition: string, detail: string | undefined): string {
  const [here, there] = [domainOf(ours), domainOf(robot)];
  return (
    `${here}'s XMPP server could not reach ${there}'s over server-to-server (s2s) (${condition}${detail ? `: ${detail}` : ''}). ` +
    `Check the s2s settings of both servers (their logs say which side refused): each server's certificate must be valid for its domain and signed by a CA the other trusts when it checks certificates ` +
    `(Prosody's s2s_secure_auth = true, as Debian ships it; or list the domain in s2s_insecure_domains), STARTTLS must be possible both ways (ejabberd's s2s_use_starttls: required), ` +
    `and ${there} must resolve (DNS SRV _xmpp-server._tcp.${there}) to an s2s port that ${here}'s server can reach`
  );
}

/** The dialer registered for `xmpp:`. */
export async function dialXmpp(ep: Endpoint, options: DialOptions): Promise<MessageStream> {
  if (ep.scheme !== 'xmpp') throw new Error('not an xmpp endpoint');
  const text = formatEndpoint(ep);
  const a = accountOf(options, text);
  const key = `${a.service} ${a.jid}`;
  const given = options.xmpp as (XmppKeepOptions & { ibb?: IbbOptions }) | undefined;
  const p = linkOf(
    a,
    options.timeoutMs,
    { pingMs: given?.pingMs, pingTimeoutMs: given?.pingTimeoutMs, reconnect: given?.reconnect },
    given?.ibb,
  );
  hold(p);
  const robot = ep.jid.includes('/') ? ep.jid : `${ep.jid}/qi`;
  const mode = (options.xmpp as { bytestreams?: string } | undefined)?.bytestreams ?? 'auto';
  try {
    const link = await p;
    // Our own network or the server went away: the link is logging in again.
    await link.whenOnline(options.timeoutMs);
    let socks5Failed: (() => void) | undefined;
    if (mode !== 'ibb') {
      // Raw bytes through the server's SOCKS5 proxy when it has one; In-Band Bytestreams otherwise.
      const proxy = await proxyOf(link, options.timeoutMs);
      if (proxy !== undefined) {
        try {
          const socket = await openSocks5(link.xmpp, link.jid, robot, proxy, options.timeoutMs);
          socket.once('close', () => release(key, p));
          link.track(robot, socket);
          return new MessageStream(socket, `xmpp://${robot}`, `xmpp://${link.jid}`, { maxPayload: options.maxPayload });
        } catch (e) {
          if (
            mode === 'socks5' ||
            /forbidden/.test(String((e as { condition?: string }).condition ?? (e as Error).message))
          )
            throw e;
          socks5Failed = () => fellBack(proxy, robot, e);
        }
      } else if (mode === 'socks5') {
        throw new Error(
          `the XMPP server offers no SOCKS5 bytestream proxy (XEP-0065); use bytestreams: 'ibb' or 'auto'`,
        );
      }
    }
    const s = await link.ibb.open(robot, options.timeoutMs);
    socks5Failed?.();
    s.once('close', () => release(key, p));
    link.track(robot, s);
    return new MessageStream(s, `xmpp://${robot}`, `xmpp://${link.jid}`, { maxPayload: options.maxPayload });
  } catch (e) {
    release(key, p);
    const link = await p.catch(() => undefined);
    if (link === undefined) throw e;
    const condition = (e as { condition?: string }).condition ?? (e as Error).message;
    const why =
      condition === 'forbidden'
        ? `the robot refused ${link.jid.split('/')[0]}: it is not in the robot's allowlist`
        : condition === 'service-unavailable' || condition === 'item-not-found' || condition === 'recipient-unavailable'
          ? `${robot} is not online (is its xmpp-gateway running and logged in?)`
          : condition === 'remote-server-not-found' || condition === 'remote-server-timeout'
            ? unreachableServer(link.jid, robot, condition, (e as { text?: string }).text)
            : condition;
    throw new QiConnectError(text, 'connect to', new Error(why));
  }
}

/** Logs out every account the dialer logged in (for tests and clean shutdowns). */
export async function closeXmppLinks(): Promise<void> {
  const all = [...links.values()];
  links.clear();
  await Promise.allSettled(all.map(async (p) => (await p).close()));
}
