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
import { fileURLToPath } from 'node:url';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../src/index.js';
import { DirectLink, DirectLinkHost } from '../src/remote/index.js';
import { calculator } from '../test/object/fixtures.js';
import { exitWithParent, spawnChild } from './children.js';
import { num } from './harness.js';
import { measurePath, printPaths } from './paths.js';

const SECONDS = num('seconds', 2);

if (process.argv.includes('--serve')) {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
  const gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
  });
  await DirectLinkHost.register(sd, { accept: gw, hostAddress: '127.0.0.1' });
  console.log(`READY ${JSON.stringify({ sd: sd.endpoints[0], gateway: gw.url })}`);
  exitWithParent([], 1000);
} else {
  // quiet: the test fixtures it imports load node:test, which prints a TAP header.
  const robot = await spawnChild(fileURLToPath(import.meta.url), ['--serve'], { quiet: true });
  const urls = robot.ready as { sd: string; gateway: string };

  const viaGateway = await Session.connect(urls.gateway, { ipc: false });
  const signaling = await Session.connect(urls.sd, { ipc: false });
  const link = await DirectLink.open(signaling, { hostAddress: '127.0.0.1' });
  if (link.path === 'gateway') throw new Error(`no link: ${link.reason}`);
  const g = await measurePath((await viaGateway.service('Calculator')) as AnyProxy, SECONDS);
  const l = await measurePath((await link.session.service('Calculator')) as AnyProxy, SECONDS);

  console.log(
    `ICE link benchmark: node ${process.version}, two processes on one machine, ${SECONDS} s per cell; both paths end at the same qi gateway`,
  );
  console.log(
    `link: ${link.path}, ${link.local?.type} ${link.local?.address} ↔ ${link.remote?.type} ${link.remote?.address}, set up in ${link.setupMs} ms`,
  );
  printPaths([
    { label: 'gateway TCP', short: 'gateway', figures: g },
    { label: 'direct link', short: 'link', figures: l },
  ]);

  await link.close();
  await signaling.close();
  await viaGateway.close();
  robot.child.stdin?.end();
  process.exit(0);
}
