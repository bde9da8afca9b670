/**
 * Remote access through Debian's ejabberd on loopback (test/helpers/ejabberd.ts): the same key scenarios
 * as with Prosody (test/helpers/xmpp-suite.ts): calls, a signal, a property, 5 MiB through In-Band
 * Bytestreams and through ejabberd's proxy65, the allowlist, the server restarted mid-session, presence.
 */
import { Ejabberd } from '../helpers/ejabberd.js';
import { xmppSuite } from '../helpers/xmpp-suite.js';

xmppSuite('ejabberd', () => Ejabberd.start());
