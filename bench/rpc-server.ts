/**
 * Child-process fixture of the RPC benchmark (bench/rpc.bench.ts). Never run by hand.
 *
 *   node dist/bench/rpc-server.js qi <sdUrl>      two Echo services in this process, connected to the SD at sdUrl:
 *                                                 "EchoTcp" (session with ipc: false, reachable over TCP only) and
 *                                                 "EchoIpc" (default session: same-machine clients get the unix socket)
 *   node dist/bench/rpc-server.js floor <sockPath> bare echo server on tcp://127.0.0.1:0 and on unix:<sockPath>
 *
 * When ready it prints one line `READY <json>` on stdout. It exits (cleanly, so that `--cpu-prof` can write its
 * profile) when its stdin is closed, i.e. when the parent closes the pipe or dies.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { LocalObject, Session, defineObject, method, t } from '../src/index.js';

const Echo = defineObject({
  methods: {
    echo: method([t.string], t.string),
    echoRaw: method([t.raw], t.raw),
  },
});

const HEADER = 28;

/**
 * The floor's server side: parses only the 28-byte header (size at offset 8) and echoes every frame back
 * unchanged once it has fully arrived. All frames completed by one `data` chunk go out in one vectored write
 * (cork/uncork around the chunk; runs of whole frames inside the chunk are written as one slice, no copy).
 */
function echoFrames(sock: Socket): void {
  sock.setNoDelay?.(true);
  const head = Buffer.allocUnsafe(HEADER);
  let headLen = 0;
  let inFrame = false;
  let need = 0; // bytes still missing from the frame in progress
  let parts: Buffer[] = [];
  sock.on('data', (chunk: Buffer) => {
    sock.cork();
    const n = chunk.length;
    let p = 0;
    let run = -1; // start of a run of whole frames inside this chunk
    const flushRun = (end: number) => {
      if (run >= 0 && end > run) sock.write(chunk.subarray(run, end));
      run = -1;
    };
    while (p < n) {
      if (inFrame) {
        const take = Math.min(need, n - p);
        parts.push(chunk.subarray(p, p + take));
        need -= take;
        p += take;
        if (need === 0) {
          for (const b of parts) sock.write(b);
          parts = [];
          inFrame = false;
        }
        continue;
      }
      if (headLen === 0 && n - p >= HEADER) {
        const total = HEADER + chunk.readUInt32LE(p + 8);
        if (n - p >= total) {
          if (run < 0) run = p;
          p += total;
          continue;
        }
        flushRun(p);
        parts = [chunk.subarray(p)];
        need = total - (n - p);
        inFrame = true;
        p = n;
        continue;
      }
      flushRun(p);
      const take = Math.min(HEADER - headLen, n - p);
      chunk.copy(head, headLen, p, p + take);
      headLen += take;
      p += take;
      if (headLen === HEADER) {
        headLen = 0;
        parts = [Buffer.from(head)];
        need = head.readUInt32LE(8);
        inFrame = need > 0;
        if (!inFrame) {
          sock.write(parts[0]);
          parts = [];
        }
      }
    }
    flushRun(n);
    sock.uncork();
  });
  sock.on('error', () => sock.destroy());
}

function listenNet(server: Server, opts: { port?: number; host?: string; path?: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts, () => resolve());
  });
}

async function main(): Promise<void> {
  const [mode, arg] = process.argv.slice(2);
  const cleanups: Array<() => unknown> = [];
  process.stdin.on('end', async () => {
    const t = setTimeout(() => process.exit(0), 1000);
    for (const c of cleanups)
      await Promise.resolve()
        .then(c)
        .catch(() => {});
    clearTimeout(t);
    process.exit(0);
  });
  process.stdin.resume();

  if (mode === 'qi') {
    const impl = { echo: (s: string) => s, echoRaw: (r: Uint8Array) => r };
    const tcpOnly = new Session({ ipc: false });
    cleanups.push(() => tcpOnly.close());
    await tcpOnly.connect(arg);
    await tcpOnly.listen('tcp://127.0.0.1:0');
    await tcpOnly.registerService('EchoTcp', new LocalObject(Echo, impl));
    const withIpc = new Session();
    cleanups.push(() => withIpc.close());
    await withIpc.connect(arg);
    await withIpc.listen('tcp://127.0.0.1:0');
    await withIpc.registerService('EchoIpc', new LocalObject(Echo, impl));
    process.stdout.write(`READY ${JSON.stringify({ tcp: tcpOnly.endpoints, ipc: withIpc.endpoints })}\n`);
  } else if (mode === 'floor') {
    const tcp = createServer(echoFrames);
    const unix = createServer(echoFrames);
    cleanups.push(
      () => tcp.close(),
      () => unix.close(),
    );
    await listenNet(tcp, { host: '127.0.0.1', port: 0 });
    if (existsSync(arg)) unlinkSync(arg);
    await listenNet(unix, { path: arg });
    const port = (tcp.address() as { port: number }).port;
    process.stdout.write(`READY ${JSON.stringify({ tcp: `tcp://127.0.0.1:${port}`, unix: `unix:${arg}` })}\n`);
  } else {
    throw new Error(`usage: rpc-server.js qi <sdUrl> | floor <socketPath> (got ${mode})`);
  }
}

main().catch((e) => {
  process.stderr.write(`rpc-server: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
