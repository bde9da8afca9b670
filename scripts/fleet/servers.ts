/**
 * The XMPP service a fleet run goes through: one Prosody, one ejabberd node, or a 2-node ejabberd cluster
 * (robots on node A, clients and the watcher on node B; `mixed`: robot processes alternate between the
 * nodes). Each is started on loopback with its accounts and its groups:
 * - Prosody: accounts through one `prosodyctl shell`; robot i shares a `mod_groups` group with the watcher;
 * - ejabberd: accounts through the ReST API (`mod_http_api`, 8 requests in flight); two shared roster
 *   groups, `robots` displaying `watchers` and `watchers` displaying `robots`: every robot and the watcher
 *   are contacts (presence both ways, nothing to approve), no robot sees another (no N² presence).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMicros } from '../../bench/harness.js';
import { Ejabberd } from '../../test/helpers/ejabberd.js';
import { DOMAIN, Prosody } from '../../test/helpers/prosody.js';

export const SERVERS = ['prosody', 'ejabberd', 'ejabberd-cluster'] as const;
export type ServerKind = (typeof SERVERS)[number];

/** A started service, its accounts made. */
export interface FleetServer {
  /** What the report calls it. */
  label: string;
  /** How the accounts were made. */
  provisioning: string;
  /** Where robot process p logs in. */
  robotService(p: number): string;
  /** Where the clients and the watcher log in. */
  clientService: string;
  /** Its processes (one per node): RSS and CPU are summed over them. */
  pids: number[];
  /** `ulimit -n` of its (first) process. */
  fds: string;
  accountsMs: number;
  stop(): Promise<void>;
}

const rssOf = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;

/** RSS of all the server's processes (bytes). */
export const serverRss = (s: FleetServer): number => s.pids.reduce((a, p) => a + rssOf(p), 0);
/** CPU of all the server's processes (µs). */
export const serverCpu = (s: FleetServer): number => s.pids.reduce((a, p) => a + (cpuMicros(p) ?? 0), 0);

const fdsOf = (pid: number) => /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))?.[1] ?? '?';

/** Starts `kind` with accounts for every name (password `NAME-pw`); exits 2 when it cannot run here. */
export async function startServer(
  kind: ServerKind,
  robots: string[],
  others: string[],
  mixed: boolean,
): Promise<FleetServer> {
  const names = [...robots, ...others, 'watcher'];
  if (kind === 'prosody') return prosody(robots, names);
  const a = await Ejabberd.start({ api: true, sharedRoster: true, proxy65: false });
  if (typeof a === 'string') cannot(a);
  const nodes = [a];
  if (kind === 'ejabberd-cluster') {
    const b = await Ejabberd.start({ host: '127.0.0.2', join: a, sharedRoster: true, proxy65: false });
    if (typeof b === 'string') cannot(b);
    nodes.push(b);
  }
  const [nodeA, nodeB] = [nodes[0], nodes[nodes.length - 1]];
  const t0 = Date.now();
  await nodeA.api(names.map((n) => ['register', { user: n, host: DOMAIN, password: `${n}-pw` }]));
  const srg = (group: string, display: string) =>
    ['srg_create', { group, host: DOMAIN, label: group, description: group, display }] as [
      string,
      Record<string, string>,
    ];
  await nodeA.api([srg('robots', 'watchers'), srg('watchers', 'robots')], 1);
  const member = (user: string, group: string) =>
    ['srg_user_add', { user, host: DOMAIN, group, grouphost: DOMAIN }] as [string, Record<string, string>];
  await nodeA.api([member('watcher', 'watchers'), ...robots.map((r) => member(r, 'robots'))]);
  const accountsMs = Date.now() - t0;
  return {
    label: nodes.length === 2 ? `ejabberd cluster (2 nodes${mixed ? ', robots on both' : ''})` : 'ejabberd',
    provisioning: 'ejabberd ReST API: register, srg_create, srg_user_add',
    robotService: (p) => (mixed ? nodes[p % nodes.length] : nodeA).service,
    clientService: nodeB.service,
    pids: nodes.map((n) => n.pid!),
    fds: fdsOf(nodeA.pid!),
    accountsMs,
    stop: async () => {
      for (const n of nodes.reverse()) await n.stop(true);
    },
  };
}

function cannot(why: string): never {
  console.error(`fleet: ${why}`);
  process.exit(2);
}

async function prosody(robots: string[], names: string[]): Promise<FleetServer> {
  const dir = `/tmp/qi-fleet-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'groups.txt'), robots.map((r) => `[g-${r}]\nwatcher@${DOMAIN}\n${r}@${DOMAIN}\n`).join(''));
  const server = await Prosody.start({
    modules: ['admin_socket', 'admin_shell', 'groups'],
    config: `groups_file = "${join(dir, 'groups.txt')}"`,
  });
  if (typeof server === 'string') cannot(server);
  const t0 = Date.now();
  server.registerMany(names.map((n) => [n, `${n}-pw`]));
  return {
    label: 'Prosody',
    provisioning: 'prosodyctl shell',
    robotService: () => server.service,
    clientService: server.service,
    pids: [server.pid!],
    fds: fdsOf(server.pid!),
    accountsMs: Date.now() - t0,
    stop: () => server.stop(true),
  };
}
