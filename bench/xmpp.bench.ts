/**
 * Calls and bulk data through an XMPP server (Debian's Prosody on loopback, In-Band Bytestreams) beside
 * the same through direct TCP, in one run:
 *
 *   npm run bench:xmpp [-- --seconds N]
 *
 * Rows: sequential calls (calls/s and µs), 16 calls in flight, and a 4 MiB raw echo (MB/s each way).
 * Needs /usr/bin/prosody (apt-get install prosody).
 */
import { Gateway, Session, XmppGateway, closeXmppLinks, listenStandalone, type AnyProxy } from '../src/index.js';
import { calculator } from '../test/object/fixtures.js';
import { DOMAIN, Prosody } from '../test/helpers/prosody.js';

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const SECONDS = arg('seconds', 2);

async function rate(fn: () => Promise<unknown>, parallel: number): Promise<number> {
  const end = Date.now() + SECONDS * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (Date.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  return n / SECONDS;
}

async function measure(p: AnyProxy) {
  await p.add(1, 1);
  const seq = await rate(() => p.add(1, 2) as Promise<unknown>, 1);
  const par = await rate(() => p.add(1, 2) as Promise<unknown>, 16);
  const big = Buffer.alloc(4 * 1024 * 1024, 7);
  const t0 = process.hrtime.bigint();
  const rounds = 3;
  for (let i = 0; i < rounds; i++) await p.echoRaw(big);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seq, par, mbps: (rounds * big.length) / 1e6 / s };
}

const server = await Prosody.start();
if (typeof server === 'string') {
  console.error(`xmpp bench skipped: ${server}`);
  process.exit(0);
}
server.register('robot', 'robot-pw');
server.register('alice', 'alice-pw');
const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
await sd.registerService('Calculator', calculator());
const gw = await Gateway.start({ sd: sd.endpoints[0], listen: 'tcp://127.0.0.1:0', access: { anonymous: { allow: ['*'] } } });
const robot = await XmppGateway.start({ account: { service: server.service, jid: `robot@${DOMAIN}`, password: 'robot-pw' }, allow: [`alice@${DOMAIN}`], gateway: gw });

const direct = await Session.connect(gw.url, { ipc: false, lpc: false });
const viaXmpp = await Session.connect(`xmpp://robot@${DOMAIN}`, { transports: { xmpp: { service: server.service, jid: `alice@${DOMAIN}`, password: 'alice-pw' } } });
const d = await measure((await direct.service('Calculator')) as AnyProxy);
const x = await measure((await viaXmpp.service('Calculator')) as AnyProxy);

const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: n < 100 ? 1 : 0 });
console.log(`XMPP benchmark: node ${process.version}, Prosody on loopback, ${SECONDS} s per cell; both paths go through the same qi gateway`);
console.log('row                      direct TCP          through Prosody (IBB)   ratio');
console.log(`sequential add           ${f(d.seq).padStart(8)} calls/s    ${f(x.seq).padStart(8)} calls/s      ${(x.seq / d.seq).toFixed(3)}`);
console.log(`16 in flight add         ${f(d.par).padStart(8)} calls/s    ${f(x.par).padStart(8)} calls/s      ${(x.par / d.par).toFixed(3)}`);
console.log(`4 MiB raw echo           ${f(d.mbps).padStart(8)} MB/s       ${f(x.mbps).padStart(8)} MB/s         ${(x.mbps / d.mbps).toFixed(3)}`);
console.log(`µs per sequential call:  ${f(1e6 / d.seq)} direct, ${f(1e6 / x.seq)} through Prosody`);

await viaXmpp.close();
await direct.close();
await closeXmppLinks();
await robot.close();
await gw.close();
await sd.close();
await server.stop(true);
process.exit(0);
