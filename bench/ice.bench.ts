/**
 * Calls and bulk data over a direct link (ICE/DTLS/SCTP, DataChannels) on each WebRTC stack beside the
 * same through the gateway over TCP, in one run, on this machine:
 *
 *   npm run bench:ice [-- --seconds N] [-- --stack=libdatachannel,werift] [-- --lab]
 *
 * A child process plays the robot: a ServiceDirectory with Calculator, a gateway on loopback TCP, and
 * one DirectLinkHost per stack registered on the SD (`DirectLink-<stack>`), whose links go to that
 * gateway. This process opens the gateway path and one link per stack (both ends on that stack) to the
 * same gateway. Rows: sequential calls (calls/s), 16 calls in flight, and a 4 MiB raw echo (MB/s each
 * way), each link over the gateway's. No STUN/TURN: the links use loopback host candidates, so they
 * measure the transport, not a network. With `--lab` (root), the same rows on the namespace NAT lab's direct
 * path instead (cone NATs; see ice-lab.ts), where issue 19's targets are measured. Every row also gives the
 * CPU time of the processes per operation.
 */
import { fileURLToPath } from 'node:url';
import { Gateway, Session, listenStandalone, type AnyProxy } from '../src/index.js';
import { DirectLink, DirectLinkHost, type IceStackName } from '../src/remote/index.js';
import { calculator } from '../test/object/calculator.js';
import { exitWithParent, spawnChild } from './children.js';
import { flag, num } from './harness.js';
import { runLab } from './ice-lab.js';
import { measurePath, printPaths, type PathColumn } from './paths.js';

const SECONDS = num('seconds', 2);
const STACKS = (flag('stack') || 'libdatachannel,werift').split(',') as IceStackName[];

if (flag('lab') !== undefined) {
  await runLab(STACKS, SECONDS);
  process.exit(0);
} else if (process.argv.includes('--serve')) {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService('Calculator', calculator());
  const gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
  });
  for (const stack of STACKS)
    await DirectLinkHost.register(sd, { name: `DirectLink-${stack}`, accept: gw, hostAddress: '127.0.0.1', stack });
  console.log(`READY ${JSON.stringify({ sd: sd.endpoints[0], gateway: gw.url })}`);
  exitWithParent([], 1000);
} else {
  const robot = await spawnChild(fileURLToPath(import.meta.url), ['--serve', `--stack=${STACKS.join(',')}`]);
  const urls = robot.ready as { sd: string; gateway: string };
  const watch = [process.pid, robot.child.pid!];

  const viaGateway = await Session.connect(urls.gateway, { ipc: false });
  const signaling = await Session.connect(urls.sd, { ipc: false });
  const columns: PathColumn[] = [
    {
      label: 'gateway TCP',
      short: 'gateway',
      figures: await measurePath((await viaGateway.service('Calculator')) as AnyProxy, SECONDS, watch),
    },
  ];
  const setups: string[] = [];
  for (const stack of STACKS) {
    const link = await DirectLink.open(signaling, { service: `DirectLink-${stack}`, hostAddress: '127.0.0.1', stack });
    if (link.path === 'gateway') throw new Error(`no link on ${stack}: ${link.reason}`);
    setups.push(
      `${link.stack}: ${link.path}, ${link.local?.type} ${link.local?.address} ↔ ${link.remote?.type} ${link.remote?.address}, set up in ${link.setupMs} ms`,
    );
    const figures = await measurePath((await link.session.service('Calculator')) as AnyProxy, SECONDS, watch);
    columns.push({ label: `link ${link.stack}`, short: link.stack === 'libdatachannel' ? 'ldc' : link.stack, figures });
    await link.close();
  }

  console.log(
    `ICE link benchmark: node ${process.version}, two processes on one machine, ${SECONDS} s per cell; every path ends at the same qi gateway; libdatachannel mtu ${process.env.QI_ICE_MTU || '1280 (default; QI_ICE_MTU sets it)'}`,
  );
  for (const s of setups) console.log(`link on ${s}`);
  printPaths(columns);

  await signaling.close();
  await viaGateway.close();
  robot.child.stdin?.end();
  process.exit(0);
}
