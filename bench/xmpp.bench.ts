/**
 * Calls and bulk data through an XMPP server (Debian's Prosody on loopback, In-Band Bytestreams) beside
 * the same through direct TCP, in one run:
 *
 *   npm run bench:xmpp [-- --seconds N]
 *
 * Rows: sequential calls (calls/s and µs), 16 calls in flight, and a 4 MiB raw echo (MB/s each way).
 * Needs /usr/bin/prosody (apt-get install prosody).
 */
import { Gateway, Session, listenStandalone, type AnyProxy } from '../src/index.js';
import { XmppGateway, closeXmppLinks } from '../src/remote/index.js';
import { calculator } from '../test/object/fixtures.js';
import { DOMAIN, Prosody } from '../test/helpers/prosody.js';
import { num } from './harness.js';
import { measurePath, printPaths } from './paths.js';

const SECONDS = num('seconds', 2);

const server = await Prosody.start();
if (typeof server === 'string') {
  console.error(`xmpp bench skipped: ${server}`);
  process.exit(0);
}
server.register('robot', 'robot-pw');
server.register('alice', 'alice-pw');
const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
await sd.registerService('Calculator', calculator());
const gw = await Gateway.start({
  sd: sd.endpoints[0],
  listen: 'tcp://127.0.0.1:0',
  access: { anonymous: { allow: ['*'] } },
});
const robot = await XmppGateway.start({
  account: { service: server.service, jid: `robot@${DOMAIN}`, password: 'robot-pw' },
  allow: [`alice@${DOMAIN}`],
  gateway: gw,
});

const direct = await Session.connect(gw.url, { ipc: false, lpc: false });
const via = (bytestreams: string) =>
  Session.connect(`xmpp://robot@${DOMAIN}`, {
    transports: { xmpp: { service: server.service, jid: `alice@${DOMAIN}`, password: 'alice-pw', bytestreams } },
  });
const viaIbb = await via('ibb');
const viaSocks = await via('socks5');
const d = await measurePath((await direct.service('Calculator')) as AnyProxy, SECONDS);
const x = await measurePath((await viaIbb.service('Calculator')) as AnyProxy, SECONDS);
const y = await measurePath((await viaSocks.service('Calculator')) as AnyProxy, SECONDS);

console.log(
  `XMPP benchmark: node ${process.version}, Prosody on loopback, ${SECONDS} s per cell; every path goes through the same qi gateway`,
);
printPaths([
  { label: 'direct TCP', short: 'direct', figures: d },
  { label: 'Prosody IBB', short: 'IBB', figures: x },
  { label: 'Prosody SOCKS5', short: 'SOCKS5', figures: y },
]);

await viaIbb.close();
await viaSocks.close();
await direct.close();
await closeXmppLinks();
await robot.close();
await gw.close();
await sd.close();
await server.stop(true);
process.exit(0);
