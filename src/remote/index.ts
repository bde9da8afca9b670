/**
 * Remote access: robots reached through a third-party XMPP server (In-Band Bytestreams carrying qi), and
 * direct links (ICE). `xmpp://` URLs work in `Session.connect` without this module: the package's entry
 * registers them (src/plugged.ts), and loads ./xmpp/dialer.js on the first such connection.
 * `@xmpp/client`, `node-datachannel` and `werift` are optional dependencies, loaded on first use.
 *
 * @packageDocumentation
 */

export { XmppGateway, type XmppGatewayOptions } from './xmpp/gateway.js';
export { XmppLink, type XmppAccount, type XmppLinkOptions } from './xmpp/link.js';
export type { XmppTlsOptions } from './xmpp/tls.js';
export { XmppKeeper, XMPP_RECONNECT, type XmppKeepOptions } from './xmpp/keeper.js';
export { closeXmppLinks } from './xmpp/dialer.js';
export { RobotWatcher, QI_ROBOT_NS, type RobotPresence, type RobotWatchOptions } from './xmpp/presence.js';
export { IDENTITY_MAX, type RobotIdentity } from './xmpp/identity.js';
export type { IbbOptions } from './xmpp/ibb.js';
export * from './ice/index.js';
