/**
 * qi through XMPP servers as Debian ships them: each server with its stock client rate limit (Prosody's
 * mod_limits c2s `10kb/s`, ejabberd's `normal` shaper 3,000 B/s, read from /etc when installed) and no
 * SOCKS5 proxy, a client with the defaults (`bytestreams: 'auto'`, the default heartbeat) calling a robot
 * with a large argument, then asking for a large answer. Minutes per server: outside the suite.
 *
 *   npm run build && node dist/scripts/xmpp-stock.js [--kib 256] [--servers prosody,ejabberd]
 *
 * Prints, per server and direction, the time, the rate, and the error when it failed.
 */
import { parseArgs } from 'node:util';
import {
  Gateway,
  LocalObject,
  Session,
  defineObject,
  listenStandalone,
  method,
  t,
  type AnyProxy,
} from '../src/index.js';
import { XmppGateway, closeXmppLinks } from '../src/remote/index.js';
import { Ejabberd } from '../test/helpers/ejabberd.js';
import { Prosody } from '../test/helpers/prosody.js';
import { DOMAIN, stockLimits, type XmppServer, type XmppServerOptions } from '../test/helpers/xmpp-server.js';

const { values } = parseArgs({
  options: { kib: { type: 'string', default: '256' }, servers: { type: 'string', default: 'prosody,ejabberd' } },
});
const BYTES = Number(values.kib) * 1024;

const Bulk = defineObject({
  methods: { take: method([t.raw], t.int32), give: method([t.int32], t.raw) },
});

const starters: Record<string, (o: XmppServerOptions) => Promise<XmppServer | string>> = {
  prosody: (o) => Prosody.start({}, o),
  ejabberd: (o) => Ejabberd.start(o),
};

async function run(kind: string): Promise<void> {
  const server = await starters[kind]({ stockLimits: true, proxy65: false });
  if (typeof server === 'string') return void console.log(`${kind}: skipped (${server})`);
  for (const n of ['robot', 'alice']) server.register(n, `${n}-pw`);
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Bulk', new LocalObject(Bulk, { take: (r) => r.length, give: (n) => Buffer.alloc(n, 7) }));
  const gw = await Gateway.start({ sd: sd.endpoints[0], listen: [], access: { anonymous: { allow: ['*'] } } });
  const robot = await XmppGateway.start({
    account: { service: server.service, jid: `robot@${DOMAIN}`, password: 'robot-pw' },
    allow: [`alice@${DOMAIN}`],
    gateway: gw,
  });
  try {
    const s = await Session.connect(`xmpp://robot@${DOMAIN}`, {
      transports: { xmpp: { service: server.service, jid: `alice@${DOMAIN}`, password: 'alice-pw' } },
      reconnect: false,
    });
    const bulk = (await s.service('Bulk')) as AnyProxy;
    for (const [what, call] of [
      [`${values.kib} KiB argument`, () => bulk.take(Buffer.alloc(BYTES, 3), { timeoutMs: 600_000 })],
      [`${values.kib} KiB answer`, () => bulk.give(BYTES, { timeoutMs: 600_000 })],
    ] as const) {
      const t0 = Date.now();
      try {
        await call();
        const ms = Date.now() - t0;
        console.log(`${kind}: ${what}: ${ms} ms, ${Math.round(BYTES / (ms / 1000))} B/s of qi bytes`);
      } catch (e) {
        console.log(`${kind}: ${what}: FAILED after ${Date.now() - t0} ms: ${(e as Error).message}`);
      }
    }
    await s.close();
  } finally {
    await closeXmppLinks();
    await robot.close();
    await gw.close();
    await sd.close();
    await server.stop(true);
  }
}

console.log(`Debian stock limits: ${JSON.stringify(stockLimits())}; no SOCKS5 proxy; ${BYTES} bytes each way`);
for (const kind of values.servers!.split(',')) await run(kind);
