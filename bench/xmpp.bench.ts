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

const arg = (name: string, def: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
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
  const seq = await rate(() => p.add(1, 2), 1);
  const par = await rate(() => p.add(1, 2), 16);
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
const d = await measure((await direct.service('Calculator')) as AnyProxy);
const x = await measure((await viaIbb.service('Calculator')) as AnyProxy);
const y = await measure((await viaSocks.service('Calculator')) as AnyProxy);

const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: n < 100 ? 1 : 0 });
const c = (v: string) => v.padStart(16);
console.log(
  `XMPP benchmark: node ${process.version}, Prosody on loopback, ${SECONDS} s per cell; every path goes through the same qi gateway`,
);
console.log(
  `row                 ${c('direct TCP')} ${c('Prosody IBB')} ${c('Prosody SOCKS5')}   IBB/direct  SOCKS5/direct`,
);
const row = (name: string, k: 'seq' | 'par' | 'mbps', unit: string) =>
  console.log(
    `${name.padEnd(19)} ${c(`${f(d[k])} ${unit}`)} ${c(`${f(x[k])} ${unit}`)} ${c(`${f(y[k])} ${unit}`)}   ${(x[k] / d[k]).toFixed(3).padStart(10)}  ${(y[k] / d[k]).toFixed(3).padStart(13)}`,
  );
row('sequential add', 'seq', '/s');
row('16 in flight add', 'par', '/s');
row('4 MiB raw echo', 'mbps', 'MB/s');
console.log(`µs per sequential call: ${f(1e6 / d.seq)} direct, ${f(1e6 / x.seq)} IBB, ${f(1e6 / y.seq)} SOCKS5`);

await viaIbb.close();
await viaSocks.close();
await direct.close();
await closeXmppLinks();
await robot.close();
await gw.close();
await sd.close();
await server.stop(true);
process.exit(0);
