/**
 * Child-process fixture of the gateway benchmark (bench/gateway.bench.ts). Never run by hand.
 *
 *   node dist/bench/gateway-server.js service              a ServiceDirectory on tcp://127.0.0.1:0 (ipc: false) hosting
 *                                                          the "Echo" service itself: clients reach it over TCP only
 *   node dist/bench/gateway-server.js gateway <sdUrl>      a Gateway to the SD at sdUrl, listening on tcp://127.0.0.1:0,
 *                                                          access { anonymous: { allow: ['*'] } }
 *   node dist/bench/gateway-server.js hold                 a bare net server on tcp://127.0.0.1:0 that only holds the
 *                                                          sockets it accepts (the memory floor of an idle connection)
 *   node dist/bench/gateway-server.js caller <url> <k>       one qi client of url keeping k Echo.echo calls in flight
 *                                                          for `run <ms>` (answers `RAN {"calls"}`)
 *   node dist/bench/gateway-server.js clients qi|raw <url> <n>
 *                                                          n idle clients of url: qi sessions (`Session.connect(url,
 *                                                          { ipc: false })`) or bare sockets
 *
 * When ready it prints one line `READY <json>` on stdout. It then answers lines on stdin:
 *   `mem`    -> `MEM {"rss","heapUsed","external","arrayBuffers","conns"}` after forcing GC (when run with --expose-gc);
 *               conns = outside clients of a gateway, sockets held by `hold`, open clients of `clients`, -1 if unknown
 *   `close`  -> (clients) closes every client, then `CLOSED {"ms"}`
 * It exits (cleanly) when its stdin is closed, i.e. when the parent closes the pipe or dies.
 */
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { setImmediate as tick } from 'node:timers/promises';
import { Gateway, Session, listenStandalone } from '../src/index.js';
import { exitWithParent } from './children.js';
import { STRING, newEcho, type Echo } from './echo.js';

const gc = (globalThis as { gc?: () => void }).gc;

async function memory(conns: number): Promise<string> {
  if (gc !== undefined) {
    // A few full collections with turns of the event loop in between (weak refs, finalizers, sockets' last callbacks).
    for (let i = 0; i < 4; i++) {
      gc();
      await tick();
    }
  }
  const m = process.memoryUsage();
  return JSON.stringify({
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    conns,
    gc: gc !== undefined,
  });
}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const [mode, ...args] = process.argv.slice(2);
  const cleanups: Array<() => unknown> = [];
  let conns: () => number = () => -1;
  let closeAll: (() => Promise<void>) | undefined;
  let run: ((ms: number) => Promise<number>) | undefined;

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'mem') void memory(conns()).then((j) => out(`MEM ${j}`));
    else if (cmd.startsWith('run ') && run !== undefined)
      void run(Number(cmd.slice(4))).then((calls) => out(`RAN ${JSON.stringify({ calls })}`));
    else if (cmd === 'close' && closeAll !== undefined) {
      const t0 = Date.now();
      void closeAll().then(() => out(`CLOSED ${JSON.stringify({ ms: Date.now() - t0 })}`));
    }
  });
  exitWithParent(cleanups, 3000);

  if (mode === 'service') {
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    cleanups.push(() => sd.close());
    await sd.registerService('Echo', newEcho());
    out(`READY ${JSON.stringify({ sd: sd.endpoints.find((e) => e.startsWith('tcp://')) })}`);
  } else if (mode === 'gateway') {
    const gw = await Gateway.start({
      sd: args[0],
      listen: 'tcp://127.0.0.1:0',
      access: { anonymous: { allow: ['*'] } },
      maxConnectionsPerAddress: 100_000,
      maxConnections: 100_000,
    }); // every bench client comes from 127.0.0.1
    cleanups.push(() => gw.close());
    conns = () => gw.metrics.clients;
    out(`READY ${JSON.stringify({ url: gw.url })}`);
  } else if (mode === 'hold') {
    const held = new Set<Socket>();
    const server = createServer((s) => {
      held.add(s);
      s.on('error', () => {});
      s.on('close', () => held.delete(s));
    });
    cleanups.push(() => {
      for (const s of held) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    conns = () => held.size;
    out(`READY ${JSON.stringify({ url: `tcp://127.0.0.1:${(server.address() as { port: number }).port}` })}`);
  } else if (mode === 'clients') {
    const [kind, url, count] = args;
    const n = Number(count);
    const sessions: Session[] = [];
    const sockets: Socket[] = [];
    const one = async () => {
      if (kind === 'qi') {
        sessions.push(await Session.connect(url, { ipc: false }));
        return;
      }
      const u = new URL(url);
      const s = netConnect({ host: u.hostname, port: Number(u.port) });
      s.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        s.once('connect', resolve);
        s.once('error', reject);
      });
      sockets.push(s);
    };
    closeAll = async () => {
      await Promise.allSettled(sessions.splice(0).map((s) => s.close()));
      for (const s of sockets.splice(0)) s.destroy();
    };
    cleanups.push(closeAll);
    conns = () => sessions.length + sockets.length;
    const t0 = Date.now();
    // 50 connections at a time: no connect storm (the listen backlog stays small).
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(50, n) }, async () => {
        while (next < n) {
          next++;
          await one();
        }
      }),
    );
    out(`READY ${JSON.stringify({ connected: conns(), ms: Date.now() - t0 })}`);
  } else if (mode === 'caller') {
    // One busy client of args[0]: `run <ms>` keeps args[1] echo calls in flight for ms, answers RAN {calls}.
    const session = await Session.connect(args[0], { ipc: false });
    cleanups.push(() => session.close());
    const echo = await session.service<typeof Echo>('Echo');
    run = async (ms) => {
      const end = Date.now() + ms;
      let calls = 0;
      await Promise.all(
        Array.from({ length: Number(args[1]) }, async () => {
          for (; Date.now() < end; calls++) await echo.echo(STRING);
        }),
      );
      return calls;
    };
    await run(200);
    out(`READY ${JSON.stringify({ url: args[0] })}`);
  } else {
    throw new Error(
      `usage: gateway-server.js service | gateway <sdUrl> | hold | clients qi|raw <url> <n> | caller <url> <inFlight> (got ${mode})`,
    );
  }
}

main().catch((e) => {
  process.stderr.write(`gateway-server: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
