/**
 * Remote access: robots reached through a third-party XMPP server (In-Band Bytestreams carrying qi).
 * Importing this module makes `xmpp://` URLs work in `Session.connect`.
 *
 * @packageDocumentation
 */
import { registerDialer } from '../transport/index.js';
import { dialXmpp } from './xmpp/dialer.js';

registerDialer('xmpp', dialXmpp);

export { XmppGateway, type XmppGatewayOptions } from './xmpp/gateway.js';
export { XmppLink, type XmppAccount, type XmppLinkOptions } from './xmpp/link.js';
export { closeXmppLinks } from './xmpp/dialer.js';
export { RobotWatcher, QI_ROBOT_NS, type RobotPresence } from './xmpp/presence.js';
export type { IbbOptions } from './xmpp/ibb.js';
export * from './ice/index.js';
