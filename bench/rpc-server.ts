/**
 * Child-process fixture of the RPC benchmark (bench/rpc.bench.ts). Never run by hand.
 *
 *   node dist/bench/rpc-server.js qi <sdUrl>      two Echo services in this process, connected to the SD at sdUrl:
 *                                                 "EchoTcp" (session with ipc: false, reachable over TCP only) and
 *                                                 "EchoIpc" (default session: same-machine clients get the unix socket)
 *   node dist/bench/rpc-server.js floor <sockPath> bare echo server on tcp://127.0.0.1:0 and on unix:<sockPath>
 *   node dist/bench/rpc-server.js relay <tcpUrl>   raw byte relay on tcp://127.0.0.1:0 to tcpUrl (the gateway's floor)
 *
 * When ready it prints one line `READY <json>` on stdout. It exits (cleanly, so that `--cpu-prof` can write its
 * profile) when its stdin is closed, i.e. when the parent closes the pipe or dies.
 */
import { Session } from '../src/index.js';
import { exitWithParent } from './children.js';
import { newEcho } from './echo.js';
import { serveEchoFloor, serveRelayFloor } from './floor.js';

async function main(): Promise<void> {
  const [mode, arg] = process.argv.slice(2);
  const cleanups: Array<() => unknown> = [];
  exitWithParent(cleanups, 1000);

  if (mode === 'qi') {
    const tcpOnly = new Session({ ipc: false });
    cleanups.push(() => tcpOnly.close());
    await tcpOnly.connect(arg);
    await tcpOnly.listen('tcp://127.0.0.1:0');
    await tcpOnly.registerService('EchoTcp', newEcho());
    const withIpc = new Session();
    cleanups.push(() => withIpc.close());
    await withIpc.connect(arg);
    await withIpc.listen('tcp://127.0.0.1:0');
    await withIpc.registerService('EchoIpc', newEcho());
    process.stdout.write(`READY ${JSON.stringify({ tcp: tcpOnly.endpoints, ipc: withIpc.endpoints })}\n`);
  } else if (mode === 'floor') {
    const floor = await serveEchoFloor(arg);
    cleanups.push(() => floor.close());
    process.stdout.write(`READY ${JSON.stringify({ tcp: floor.tcp, unix: floor.unix })}\n`);
  } else if (mode === 'relay') {
    const relay = await serveRelayFloor(arg);
    cleanups.push(() => relay.close());
    process.stdout.write(`READY ${JSON.stringify({ tcp: relay.tcp })}\n`);
  } else {
    throw new Error(`usage: rpc-server.js qi <sdUrl> | floor <socketPath> | relay <tcpUrl> (got ${mode})`);
  }
}

main().catch((e) => {
  process.stderr.write(`rpc-server: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
