/**
 * Calls and bulk data over a direct link (werift ICE/DTLS/SCTP, DataChannels) beside the same through
 * the gateway over TCP, in one run, on this machine:
 *
 *   npm run bench:ice [-- --seconds N]
 *
 * A child process plays the robot: a ServiceDirectory with Calculator, a gateway on loopback TCP, and a
 * DirectLinkHost registered on the SD whose links go to that gateway. This process opens both paths to
 * the same gateway. Rows: sequential calls (calls/s), 16 calls in flight, and a 4 MiB raw echo (MB/s
 * each way). No STUN/TURN: the link uses host candidates, so it measures the transport, not a network.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DirectLink, DirectLinkHost, Gateway, Session, listenStandalone, type AnyProxy } from '../src/index.js';
import { calculator } from '../test/object/fixtures.js';

const arg = (name: string, def: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const SECONDS = arg('seconds', 2);

if (process.argv.includes('--serve')) {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
  const gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
  });
  await DirectLinkHost.register(sd, { accept: gw });
  console.log(JSON.stringify({ sd: sd.endpoints[0], gateway: gw.url }));
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
} else {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const urls = await new Promise<{ sd: string; gateway: string }>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      // (the test fixtures it imports load node:test, which prints a TAP header first)
      const line = out.split('\n').find((l) => l.startsWith('{') && l.endsWith('}'));
      if (line !== undefined) resolve(JSON.parse(line) as { sd: string; gateway: string });
    });
    child.once('exit', (code) => reject(new Error(`the robot process exited (${code})`)));
  });

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

  const viaGateway = await Session.connect(urls.gateway, { ipc: false });
  const signaling = await Session.connect(urls.sd, { ipc: false });
  const link = await DirectLink.open(signaling);
  if (link.path === 'gateway') throw new Error(`no link: ${link.reason}`);
  const g = await measure((await viaGateway.service('Calculator')) as AnyProxy);
  const l = await measure((await link.session.service('Calculator')) as AnyProxy);

  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: n < 100 ? 1 : 0 });
  const c = (v: string) => v.padStart(16);
  console.log(
    `ICE link benchmark: node ${process.version}, two processes on one machine, ${SECONDS} s per cell; both paths end at the same qi gateway`,
  );
  console.log(
    `link: ${link.path}, ${link.local?.type} ${link.local?.address} ↔ ${link.remote?.type} ${link.remote?.address}, set up in ${link.setupMs} ms`,
  );
  console.log(`row                 ${c('gateway TCP')} ${c('direct link')}   link/gateway`);
  const row = (name: string, k: 'seq' | 'par' | 'mbps', unit: string) =>
    console.log(
      `${name.padEnd(19)} ${c(`${f(g[k])} ${unit}`)} ${c(`${f(l[k])} ${unit}`)}   ${(l[k] / g[k]).toFixed(3).padStart(12)}`,
    );
  row('sequential add', 'seq', '/s');
  row('16 in flight add', 'par', '/s');
  row('4 MiB raw echo', 'mbps', 'MB/s');
  console.log(`µs per sequential call: ${f(1e6 / g.seq)} gateway, ${f(1e6 / l.seq)} link`);

  await link.close();
  await signaling.close();
  await viaGateway.close();
  child.stdin.end();
  process.exit(0);
}
