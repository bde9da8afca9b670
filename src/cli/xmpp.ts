/**
 * `qi xmpp-gateway`: makes the robot behind an SD reachable through an XMPP server, until Ctrl-C.
 * `qi xmpp-robots`: lists the robots your XMPP account follows, and which are online.
 */
import { Gateway, loadAccessConfig, type AccessConfig } from '../index.js';
import { RobotWatcher, XmppGateway } from '../remote/index.js';
import { UsageError, print, run, sessionOptions, type GlobalOptions } from './common.js';

/** The XMPP account options every XMPP verb takes (defaults: QI_XMPP_SERVICE, QI_XMPP_JID, QI_XMPP_PASSWORD). */
export interface XmppVerbOptions extends GlobalOptions {
  xmppService?: string;
  xmppJid?: string;
  xmppPassword?: string;
}

function account(o: XmppVerbOptions) {
  const service = o.xmppService ?? process.env.QI_XMPP_SERVICE;
  const jid = o.xmppJid ?? process.env.QI_XMPP_JID;
  const password = o.xmppPassword ?? process.env.QI_XMPP_PASSWORD;
  if (!service || !jid || password === undefined)
    throw new UsageError(
      'an XMPP account is needed: --xmpp-service xmpp://server:5222 --xmpp-jid name@server --xmpp-password … (or QI_XMPP_SERVICE, QI_XMPP_JID, QI_XMPP_PASSWORD)',
    );
  return { service, jid, password };
}

const untilStopped = () =>
  new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });

export async function xmppGateway(
  o: XmppVerbOptions & { sd?: string; allow: string[]; config?: string; open?: boolean },
): Promise<void> {
  await run(o, async () => {
    const acct = account(o);
    if (o.allow.length === 0)
      throw new UsageError('--allow JID… names the XMPP accounts that may open qi sessions (everyone else is refused)');
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
    const x = await XmppGateway.start({ account: acct, allow: o.allow, gateway: gw });
    if (o.json) console.log(JSON.stringify({ jid: x.jid, sd: o.sd ?? o.url }));
    else
      console.log(`Robot online as ${x.jid} (XMPP ${acct.service}), serving ${o.sd ?? o.url} to ${o.allow.join(', ')}`);
    await untilStopped();
    await x.close();
    await gw.close();
  });
}

export async function xmppRobots(o: XmppVerbOptions & { follow: string[]; time: string }): Promise<void> {
  await run(o, async () => {
    const w = await RobotWatcher.start(account(o), o.follow);
    await new Promise((r) => setTimeout(r, Number(o.time) * 1000));
    const list = w.list();
    await w.close();
    if (o.json) return print(o, list);
    if (list.length === 0) console.log('no robot seen (follow one with --follow robot@server; it must allow your JID)');
    for (const r of list)
      console.log(
        `${r.online ? 'online ' : 'offline'} ${r.jid}${r.online ? `  ${r.services ?? '?'} services  xmpp://${r.address}` : ''}`,
      );
  });
}
