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
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Netns, sh, stop } from './netns.js';
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

/** A running TURN server. */
export interface Turn {
  /** `stun:` and `turn:` URLs (with the credentials) to give peers. */
  stun: string;
  turn: string;
  stop(): Promise<void>;
  log(): string;
}

type Role = 'pub' | 'natA' | 'natB' | 'a' | 'b';

/** The namespaces, links and processes of one test file; see the module comment. */
export class NatLab {
  private mode: NatMode | undefined;

  private constructor(private readonly net: Netns<Role>) {}

  /** The namespace of each host. */
  get ns(): Record<Role, string> {
    return this.net.ns;
  }

  /** A temporary folder, deleted on close. */
  get dir(): string {
    return this.net.dir;
  }

  /** Builds the lab; returns why it cannot where the kernel refuses network namespaces. */
  static create(mode: NatMode = 'cone'): NatLab | string {
    const net = Netns.create<Role>(['pub', 'natA', 'natB', 'a', 'b']);
    if (typeof net === 'string') return net;
    const lab = new NatLab(net);
    try {
      lab.wire();
      lab.setNat(mode);
    } catch (e) {
      net.killNow();
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
   * Starts `node script args…` in namespace `ns` (one of {@link ns}; `ip netns exec` execs it). Its stdin
   * is closed unless `stdin` is `'pipe'` (then `child.stdin` writes to it).
   */
  run(
    ns: string,
    script: string,
    args: string[] = [],
    env: Record<string, string> = {},
    stdin: 'ignore' | 'pipe' = 'ignore',
  ): Running {
    return this.net.run(this.role(ns), script, args, env, stdin);
  }

  private role(ns: string): Role {
    const r = (Object.keys(this.ns) as Role[]).find((k) => this.ns[k] === ns);
    if (r === undefined) throw new Error(`${ns} is not a namespace of this lab`);
    return r;
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
    const p = this.net.spawn('pub', 'turnserver', ['-c', conf]);
    return {
      stun: `stun:${ADDR.pub}:3478`,
      turn: `turn:${encodeURIComponent(user)}:${encodeURIComponent(password)}@${ADDR.pub}:3478?transport=udp`,
      log: () => p.out() + p.err(),
      stop: () => stop(p.child),
    };
  }

  /** Stops every process (SIGTERM, then SIGKILL), deletes the namespaces and the temporary files. */
  close(): Promise<void> {
    return this.net.close();
  }
}
