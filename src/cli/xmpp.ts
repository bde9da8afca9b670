/**
 * `qi xmpp-gateway`: makes the robot behind an SD reachable through an XMPP server, until Ctrl-C.
 * `qi xmpp-robots`: lists the robots your XMPP account follows, and which are online.
 */
import { Gateway, loadAccessConfig, type AccessConfig } from '../index.js';
import { RobotWatcher, XmppGateway } from '../remote/index.js';
import { UsageError, print, run, sessionOptions, xmppAccount, type GlobalOptions } from './common.js';
import { cliMessage } from './hints.js';
import { printable } from './log-format.js';
import { robotIdentity } from './robot-identity.js';

/** The XMPP account options every XMPP verb takes (defaults: QI_XMPP_SERVICE, QI_XMPP_JID, QI_XMPP_PASSWORD). */
export interface XmppVerbOptions extends GlobalOptions {
  xmppService?: string;
  xmppJid?: string;
  xmppPassword?: string;
}

function account(o: XmppVerbOptions) {
  const { service, jid, password, alternates, tls } = xmppAccount(o);
  if (!service || !jid || password === undefined)
    throw new UsageError(
      'an XMPP account is needed: --xmpp-service xmpp://server:5222 --xmpp-jid name@server --xmpp-password … (or QI_XMPP_SERVICE, QI_XMPP_JID, QI_XMPP_PASSWORD)',
    );
  return { service, jid, password, alternates, tls };
}

const untilStopped = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });

export async function xmppGateway(
  o: XmppVerbOptions & {
    sd?: string;
    allow: string[];
    allowGroup: string[];
    config?: string;
    open?: boolean;
    name?: string;
    model?: string;
  },
): Promise<void> {
  await run(o, async () => {
    const acct = account(o);
    if (o.allow.length === 0 && o.allowGroup.length === 0)
      throw new UsageError(
        "--allow JID… names the XMPP accounts that may open qi sessions, --allow-group NAME… the groups of the robot's roster whose contacts may (everyone else is refused)",
      );
    const access: AccessConfig = o.config ? loadAccessConfig(o.config) : o.open ? { anonymous: { allow: ['*'] } } : {};
    if (!o.config && !o.open)
      throw new UsageError(
        'who may use what: --config FILE (users, tokens, rules, as for qi gateway), or --open to let every allowed JID use every service',
      );
    const gw = await Gateway.start({
      sd: o.sd ?? o.url,
      listen: [],
      access,
      upstream: sessionOptions(o),
      waitForSd: true,
    });
    const identity = await robotIdentity(o.sd ?? o.url, sessionOptions(o), o);
    let refused: ((e: Error) => void) | undefined;
    const cutOff = new Promise<never>((_, reject) => (refused = reject));
    const x = await XmppGateway.start({
      account: acct,
      allow: o.allow,
      allowGroups: o.allowGroup,
      gateway: gw,
      identity,
      onRefused: (e) => refused?.(e),
      // A robot started before its XMPP server (or while the server is busy) waits for it, as for its SD.
      waitForServer: true,
      onRetry: (e, ms) => console.error(`${e.message} Trying again in ${(ms / 1000).toFixed(1)} s (Ctrl-C to stop).`),
      onLoginError: (e) => console.error(`${cliMessage(e)} Trying again (Ctrl-C to stop).`),
    });
    const who = [...o.allow, ...o.allowGroup.map((g) => `roster group "${g}"`)].join(', ');
    if (o.json) console.log(JSON.stringify({ jid: x.jid, sd: o.sd ?? o.url, ...identity }));
    else console.log(`Robot online as ${x.jid} (XMPP ${acct.service}), serving ${o.sd ?? o.url} to ${who}`);
    try {
      // Until Ctrl-C, or until the server refuses the robot's account (removed, password changed).
      await Promise.race([untilStopped(), cutOff]);
    } finally {
      await x.close();
      await gw.close();
    }
  });
  // Stanzas in flight when the connection went (IBB acknowledgements) keep @xmpp/client's timers for
  // up to 30 s after everything closed: the gateway is done, so is the process.
  process.exit();
}

export async function xmppRobots(
  o: XmppVerbOptions & { follow: string[]; group: string[]; time: string },
): Promise<void> {
  await run(o, async () => {
    const w = await RobotWatcher.start(account(o), o.follow, {}, { groups: o.group });
    await new Promise((r) => setTimeout(r, Number(o.time) * 1000));
    const list = w.list();
    await w.close();
    if (o.json) return print(o, list);
    if (list.length === 0)
      console.log(
        'no robot seen (follow one with --follow robot@server, which must allow your JID, or list a roster group with --group NAME)',
      );
    // Everything a robot announced is cleaned when read; printable() keeps the terminal safe all the same.
    for (const r of list) {
      const about = [r.name, r.model, r.version].filter((v) => v !== undefined).join(', ');
      const live = r.online ? `  ${r.services ?? '?'} services  xmpp://${r.address}` : '';
      console.log(printable(`${r.online ? 'online ' : 'offline'} ${r.jid}${live}${about ? `  (${about})` : ''}`));
    }
  });
}
