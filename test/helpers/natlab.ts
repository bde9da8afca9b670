/**
 * A small internet in network namespaces, for direct-link tests: two private networks, each behind a
 * NAT (nftables masquerade), and a public network with a server host (STUN/TURN, signaling).
 *
 *   a (10.1.0.2) ── lan0 natA wan0 (203.0.113.10) ─┐
 *                                                  ├── br0 pub (203.0.113.1)
 *   b (10.2.0.2) ── lan0 natB wan0 (203.0.113.20) ─┘     (default routes: 203.0.113.254, which never answers)
 *
 * The NATs forward only what their private side started (established/related back in), and route
 * nothing else: the private networks cannot reach each other except through the NATs' public
 * addresses. `cone` NATs masquerade keeping the source port (one mapping for every destination);
 * `symmetric` ones pick a random port for each new destination (endpoint-dependent mapping), which
 * defeats hole punching. Every name carries the test's pid; {@link NatLab.close} deletes everything,
 * and an exit hook does it too should the test die.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished, jsonLines, ready, type Running } from './running.js';

export { finished, jsonLines, ready, type Running };

export const ADDR = {
  pub: '203.0.113.1',
  natA: '203.0.113.10',
  natB: '203.0.113.20',
  a: '10.1.0.2',
  b: '10.2.0.2',
  lanA: '10.1.0.1',
  lanB: '10.2.0.1',
} as const;

/** The public network's router: an address nobody has. */
const ROUTER = '203.0.113.254';

export type NatMode = 'cone' | 'symmetric';

const sh = (cmd: string, args: string[], input?: string) =>
  execFileSync(cmd, args, { stdio: 'pipe', timeout: 5000, input }).toString();

/** A running TURN server. */
export interface Turn {
  /** `stun:` and `turn:` URLs (with the credentials) to give peers. */
  stun: string;
  turn: string;
  stop(): Promise<void>;
  log(): string;
}

/** The namespaces, links and processes of one test file; see the module comment. */
export class NatLab {
  readonly ns: { pub: string; natA: string; natB: string; a: string; b: string };
  readonly dir = mkdtempSync(join(tmpdir(), 'qi-natlab-'));
  private readonly created: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private mode: NatMode | undefined;
  private readonly onExit = () => this.killNow();

  private constructor() {
    const id = process.pid;
    this.ns = { pub: `qi-pub-${id}`, natA: `qi-nata-${id}`, natB: `qi-natb-${id}`, a: `qi-a-${id}`, b: `qi-b-${id}` };
    process.on('exit', this.onExit);
  }

  /** Builds the lab; returns why it cannot where the kernel refuses network namespaces. */
  static create(mode: NatMode = 'cone'): NatLab | string {
    const lab = new NatLab();
    for (const ns of Object.values(lab.ns)) {
      try {
        sh('ip', ['netns', 'add', ns]);
        lab.created.push(ns);
      } catch (e) {
        lab.killNow();
        const why = String((e as { stderr?: Buffer }).stderr ?? '').trim() || (e as Error).message.split('\n')[0];
        return `network namespaces are not available here (ip netns add ${ns}: ${why})`;
      }
    }
    try {
      lab.wire();
      lab.setNat(mode);
    } catch (e) {
      lab.killNow();
      throw e;
    }
    return lab;
  }

  private ip(ns: string, ...args: string[]): void {
    sh('ip', ['-n', ns, ...args]);
  }

  private wire(): void {
    const { pub, natA, natB, a, b } = this.ns;
    // Links are made inside the lab's namespaces: the host's own interfaces are never touched.
    this.ip(pub, 'link', 'add', 'br0', 'type', 'bridge');
    for (const [nat, port, lan, host, wan, gw] of [
      [natA, 'pa', a, ADDR.a, ADDR.natA, ADDR.lanA],
      [natB, 'pb', b, ADDR.b, ADDR.natB, ADDR.lanB],
    ] as const) {
      this.ip(pub, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'wan0', 'netns', nat);
      this.ip(pub, 'link', 'set', port, 'master', 'br0');
      this.ip(pub, 'link', 'set', port, 'up');
      this.ip(nat, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan);
      this.ip(nat, 'addr', 'add', `${wan}/24`, 'dev', 'wan0');
      this.ip(nat, 'addr', 'add', `${gw}/24`, 'dev', 'lan0');
      for (const dev of ['lo', 'wan0', 'lan0']) this.ip(nat, 'link', 'set', dev, 'up');
      this.ip(lan, 'addr', 'add', `${host}/24`, 'dev', 'eth0');
      for (const dev of ['lo', 'eth0']) this.ip(lan, 'link', 'set', dev, 'up');
      this.ip(lan, 'route', 'add', 'default', 'via', gw);
      sh('ip', ['netns', 'exec', nat, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    }
    this.ip(pub, 'addr', 'add', `${ADDR.pub}/24`, 'dev', 'br0');
    for (const dev of ['lo', 'br0']) this.ip(pub, 'link', 'set', dev, 'up');
    // Every host of the internet has a default route: packets to private addresses (host candidates)
    // leave and are lost, rather than failing at once with ENETUNREACH (coturn drops an allocation
    // whose relay gets that error). The upstream router, ROUTER, never answers.
    for (const ns of [pub, natA, natB]) this.ip(ns, 'route', 'add', 'default', 'via', ROUTER);
  }

  /** Makes both NATs cone (port-preserving) or symmetric (a random port per destination). */
  setNat(mode: NatMode): void {
    for (const nat of [this.ns.natA, this.ns.natB]) {
      const masq = mode === 'cone' ? 'masquerade' : 'masquerade random,fully-random';
      const rules = `
        table ip qinat
        delete table ip qinat
        table ip qinat {
          chain post { type nat hook postrouting priority srcnat; policy accept; oifname "wan0" ${masq}; }
          chain in {
            # As home routers do: nothing unsolicited from outside. Dropped here, such a packet leaves no
            # conntrack entry behind (entries are confirmed only when a packet gets through), which would
            # otherwise take the port the NAT keeps for the private host's own outgoing packets.
            type filter hook input priority filter; policy drop;
            ct state established,related accept
            iifname != "wan0" accept
          }
          chain filt {
            type filter hook forward priority filter; policy drop;
            ct state established,related accept
            iifname "lan0" oifname "wan0" accept
          }
        }`;
      sh('ip', ['netns', 'exec', nat, 'nft', '-f', '-'], rules);
      // Mappings made under the previous rules must not outlive them.
      try {
        sh('ip', ['netns', 'exec', nat, 'conntrack', '-F']);
      } catch {
        // no conntrack tool: new sockets get new mappings anyway
      }
    }
    this.mode = mode;
  }

  get natMode(): NatMode | undefined {
    return this.mode;
  }

  /** The nftables ruleset of one NAT, for diagnostics. */
  rules(nat: 'natA' | 'natB'): string {
    return sh('ip', ['netns', 'exec', this.ns[nat], 'nft', 'list', 'table', 'ip', 'qinat']);
  }

  /**
   * Starts `node script args…` in namespace `ns` (the same process: `ip netns exec` execs it). Its stdin is
   * closed unless `stdin` is `'pipe'` (then `child.stdin` writes to it).
   */
  run(
    ns: string,
    script: string,
    args: string[] = [],
    env: Record<string, string> = {},
    stdin: 'ignore' | 'pipe' = 'ignore',
  ): Running {
    return this.spawn(ns, process.execPath, [script, ...args], env, stdin);
  }

  private spawn(
    ns: string,
    cmd: string,
    args: string[],
    env: Record<string, string> = {},
    stdin: 'ignore' | 'pipe' = 'ignore',
  ): Running {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      stdio: [stdin, 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    return { child, out: () => out, err: () => err };
  }

  /**
   * Starts coturn (`turnserver`, not as a daemon) on the public host with a generated configuration:
   * STUN and TURN on UDP 3478, long-term credentials for one static user, no TLS, no CLI.
   */
  startTurn(user = 'qi', password = 'turn-secret', realm = 'qi.test'): Turn {
    const conf = join(this.dir, 'turnserver.conf');
    writeFileSync(
      conf,
      [
        'listening-port=3478',
        `listening-ip=${ADDR.pub}`,
        `relay-ip=${ADDR.pub}`,
        'min-port=49152',
        'max-port=49407',
        `realm=${realm}`,
        'lt-cred-mech',
        `user=${user}:${password}`,
        'fingerprint',
        'no-tls',
        'no-dtls',
        'no-cli',
        'no-multicast-peers',
        'no-software-attribute',
        `userdb=${join(this.dir, 'turndb')}`,
        `pidfile=${join(this.dir, 'turnserver.pid')}`,
        'log-file=stdout',
        'simple-log',
        'verbose',
      ].join('\n') + '\n',
    );
    const p = this.spawn(this.ns.pub, 'turnserver', ['-c', conf]);
    return {
      stun: `stun:${ADDR.pub}:3478`,
      turn: `turn:${encodeURIComponent(user)}:${encodeURIComponent(password)}@${ADDR.pub}:3478?transport=udp`,
      log: () => p.out() + p.err(),
      stop: () => stop(p.child),
    };
  }

  /** Kills every process at once (synchronous: also used from the exit hook). */
  private killNow(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of this.created.splice(0)) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops every process (SIGTERM, then SIGKILL), deletes the namespaces and the temporary files. */
  async close(): Promise<void> {
    await Promise.all([...this.children].map((c) => stop(c)));
    this.killNow();
    process.off('exit', this.onExit);
  }
}

/** SIGTERM, and SIGKILL if the process is still there 1.5 s later. */
function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => c.kill('SIGKILL'), 1500);
    c.once('exit', () => (clearTimeout(timer), resolve()));
    c.kill('SIGTERM');
  });
}
