/**
 * Fleet simulator: many robots and clients through a real XMPP service on loopback: Debian's Prosody, one
 * ejabberd node, or a 2-node ejabberd cluster (robots on node A, clients and watcher on node B; `--mixed`:
 * robot processes alternate between the nodes). scripts/fleet/servers.ts starts them, with accounts and groups.
 *
 *   npm run fleet -- --robots N --clients M --minutes T [--server prosody|ejabberd|ejabberd-cluster] [--mixed]
 *                    [--procs P] [--churn F] [--calls-seconds D] [--json]
 *
 * N robots (each its own account, presence and XMPP session, with a small qi service: scripts/fleet/robots.ts)
 * spread over P child processes; M clients (scripts/fleet/clients.ts), each its own account, calling random
 * robots and watching their signal; a watcher following every robot's presence. Phases: every robot logs
 * in (time until all are online, and until the watcher saw them all); calls for D seconds through the
 * server (In-Band Bytestreams), then the same calls for D seconds over the robots' gateways' TCP; then churn
 * for the rest of T: a fraction F of the robots per minute (default 0.1) has its connection cut and logs in
 * again, while the clients go on calling. At the end every robot must be seen online, and the watcher must
 * have seen each robot come back exactly as many times as the robot logged in again (no lost, no stale
 * presence). Prints those times, calls/s and p50/p99 latency each way, server RSS per robot (all its
 * nodes), our robot-side memory per session, CPU per 1k calls (server, robots, clients); exit code 1 when
 * a check fails.
 *
 * The generated server configurations have no rate limit; the npm script raises `ulimit -n` to the hard
 * limit for every process (the servers included).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { RobotWatcher } from '../src/remote/index.js';
import { parseArgs } from 'node:util';
import { DOMAIN } from '../test/helpers/xmpp-server.js';
import { runClients } from './fleet/clients.js';
import { runRobots } from './fleet/robots.js';
import { report, type Run } from './fleet/report.js';
import { SERVERS, serverCpu, serverRss, startServer, type ServerKind } from './fleet/servers.js';
import type { CallFigures, FromRobots, Usage } from './fleet/spec.js';

function child(r: 'robots' | 'clients', args: object): ChildProcess {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // run from a test: node:test (imported by the helpers) must not report there
  const c = fork(new URL(import.meta.url), [`--role=${r}`, JSON.stringify(args)], {
    env,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: ['--expose-gc'],
  });
  return c;
}

function next<T>(c: ChildProcess, type: string, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${type}' from a child within ${ms} ms`)), ms);
    const on = (m: { type: string }) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      c.off('message', on);
      resolve(m as T);
    };
    c.on('message', on);
  });
}

const { values: opts } = parseArgs({
  options: {
    ...(Object.fromEntries(
      ['robots', 'clients', 'minutes', 'seconds', 'procs', 'churn', 'calls-seconds', 'role', 'server'].map((n) => [
        n,
        { type: 'string' },
      ]),
    ) as Record<string, { type: 'string' }>),
    json: { type: 'boolean' },
    mixed: { type: 'boolean' },
  },
  allowPositionals: true,
  strict: false,
});
/** The number given as `--name N` (or `--name=N`), else `dflt`. */
const num = (name: string, dflt: number): number => {
  const v = opts[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(n) || n < 0)
    throw new Error(`--${name} takes a number, not ${String(v)}`);
  return n;
};

async function coordinate(): Promise<void> {
  const N = num('robots', 100);
  const M = num('clients', 10);
  const total = opts.seconds !== undefined ? num('seconds', 60) : num('minutes', 1) * 60;
  const P = num('procs', Math.max(2, Math.ceil(N / 250)));
  const churn = num('churn', 0.1);
  const D = num('calls-seconds', Math.max(2, Math.min(30, Math.floor(total / 4))));
  const robots = Array.from({ length: N }, (_, i) => `r${i}`);
  const clients = Array.from({ length: M }, (_, i) => `c${i}`);
  const kind = (opts.server ?? 'prosody') as ServerKind;
  if (!SERVERS.includes(kind)) throw new Error(`--server is one of ${SERVERS.join(', ')}, not ${String(kind)}`);
  const server = await startServer(kind, robots, clients, opts.mixed === true);
  const kids: ChildProcess[] = [];
  const stopAll = async () => {
    for (const k of kids) k.kill('SIGKILL');
    await server.stop();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  try {
    const watcher = await RobotWatcher.start({
      service: server.clientService,
      jid: `watcher@${DOMAIN}`,
      password: 'watcher-pw',
    });
    // Per robot, after the first login: times the watcher saw it go offline, and come back online.
    const wentOff = new Map<string, number>();
    const cameBack = new Map<string, number>();
    let counting = false;
    const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    watcher.on('change', (r: { jid: string; online: boolean }) => {
      if (!counting) return;
      if (!r.online) bump(wentOff, r.jid);
      else if (wentOff.has(r.jid)) bump(cameBack, r.jid);
    });
    const onlineCount = () => watcher.list().filter((r) => r.online).length;
    const rss0 = serverRss(server);
    // Connect: every robot process starts its share at once.
    const t0 = Date.now();
    const shares = Array.from({ length: P }, (_, p) => robots.filter((_, i) => i % P === p));
    const procs = shares.map((names, p) =>
      child('robots', {
        service: server.robotService(p),
        domain: DOMAIN,
        names,
        allow: clients.map((c) => `${c}@${DOMAIN}`),
      }),
    );
    kids.push(...procs);
    const online = await Promise.all(
      procs.map((c) => next<Extract<FromRobots, { type: 'online' }>>(c, 'online', 60_000 + N * 200)),
    );
    const connectMs = Date.now() - t0;
    for (let i = 0; onlineCount() < N - online.flatMap((o) => o.failed).length && i < 600; i++)
      await new Promise((r) => setTimeout(r, 100));
    const presenceMs = Date.now() - t0;
    const rss1 = serverRss(server);
    counting = true;
    // Calls through the server, then over TCP.
    const cl = child('clients', {
      service: server.clientService,
      domain: DOMAIN,
      clients,
      robots,
      gateways: online.map((o) => o.gateway),
    });
    kids.push(cl);
    await next(cl, 'ready', 30_000);
    const usageOf = async (): Promise<{ robots: number; clients: number }> => {
      procs.forEach((c) => c.send({ type: 'stats' }));
      const s = await Promise.all(procs.map((c) => next<Extract<FromRobots, { type: 'stats' }>>(c, 'stats', 30_000)));
      cl.send({ type: 'usage' });
      const u = await next<{ usage: Usage }>(cl, 'usage', 30_000);
      return { robots: s.reduce((a, x) => a + x.usage.cpu, 0), clients: u.usage.cpu };
    };
    const calls = async (via: 'xmpp' | 'tcp', seconds: number) => {
      const c0 = serverCpu(server);
      const u0 = await usageOf();
      cl.send({ type: 'calls', via, seconds });
      const f = (await next<{ figures: CallFigures }>(cl, 'calls', seconds * 1000 + 120_000)).figures;
      const u1 = await usageOf();
      const per1k = (us: number) => (f.calls ? (us / 1000 / f.calls) * 1000 : NaN);
      return {
        ...f,
        cpu: {
          server: per1k(serverCpu(server) - c0),
          robots: per1k(u1.robots - u0.robots),
          clients: per1k(u1.clients - u0.clients),
        },
      };
    };
    const xmpp = await calls('xmpp', D);
    const tcp = await calls('tcp', D);
    // Churn while the clients call.
    const churnSeconds = Math.max(5, total - 2 * D);
    const everyMs = 60_000 / Math.max(1e-9, churn * N);
    const churned = new Map<string, number>();
    const churner = setInterval(() => {
      const i = Math.floor(Math.random() * N);
      churned.set(robots[i], (churned.get(robots[i]) ?? 0) + 1);
      procs[i % P].send({ type: 'churn', name: robots[i] });
    }, everyMs);
    const during = await calls('xmpp', churnSeconds);
    clearInterval(churner);
    // Settle: every robot back, and seen back as often as it logged in again.
    let checks: Run['checks'] = { online: 0, mismatched: [] };
    for (let i = 0; i < 300; i++) {
      procs.forEach((c) => c.send({ type: 'stats' }));
      const s = await Promise.all(procs.map((c) => next<Extract<FromRobots, { type: 'stats' }>>(c, 'stats', 30_000)));
      const truth = Object.assign({}, ...s.map((x) => x.reconnected)) as Record<string, number>;
      const mismatched = robots.filter((r) => {
        const [off, on] = [wentOff.get(`${r}@${DOMAIN}`) ?? 0, cameBack.get(`${r}@${DOMAIN}`) ?? 0];
        return on !== (truth[r] ?? 0) || off !== on;
      });
      checks = { online: onlineCount(), mismatched, reconnects: Object.values(truth).reduce((a, b) => a + b, 0) };
      if (checks.online === N && mismatched.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const stats = await Promise.all(
      procs.map(
        async (c) => (c.send({ type: 'stats' }), next<Extract<FromRobots, { type: 'stats' }>>(c, 'stats', 30_000)),
      ),
    );
    const run: Run = {
      robots: N,
      clients: M,
      procs: P,
      seconds: total,
      churnPerMinute: churn,
      churns: [...churned.values()].reduce((a, b) => a + b, 0),
      server: server.label,
      provisioning: server.provisioning,
      fds: server.fds,
      accountsMs: server.accountsMs,
      connectMs,
      presenceMs,
      failedLogins: online.flatMap((o) => o.failed),
      retriedLogins: online.flatMap((o) => o.retried),
      serverRssPerRobot: (rss1 - rss0) / N,
      serverRss: rss1,
      robotBytesPerSession: online.reduce((a, o) => a + (o.after.rss - o.before.rss), 0) / N,
      robotHeapPerSession: online.reduce((a, o) => a + (o.after.heapUsed - o.before.heapUsed), 0) / N,
      xmpp,
      tcp,
      during,
      refused: stats.reduce((a, s) => a + s.refused, 0),
      checks,
      load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    };
    report(run, opts.json === true);
    await watcher.close();
    procs.forEach((c) => c.send({ type: 'stop' }));
    cl.send({ type: 'stop' });
    await new Promise((r) => setTimeout(r, 1000));
    process.exitCode = checks.online === N && checks.mismatched.length === 0 && run.failedLogins.length === 0 ? 0 : 1;
  } finally {
    await stopAll();
  }
}

// Last: everything above is defined by now.
const role = opts.role;
if (role !== undefined) {
  const a = JSON.parse(process.argv[process.argv.length - 1]);
  if (role === 'robots') await runRobots(a);
  else await runClients(a);
} else {
  await coordinate();
}
