/**
 * A real XMPP server for tests: Debian's ejabberd, started on loopback as a foreground Erlang node the
 * test owns (its own configuration, Mnesia spool and log folder, node name and cookie, ports chosen
 * here; no epmd daemon: the node listens for Erlang distribution on a fixed port of its own address),
 * with its proxy65 SOCKS5 proxy unless told otherwise, no rate limit unless Debian's stock shaper is
 * asked for. Accounts and cluster joins go through `ejabberd_ctl`, what `ejabberdctl register` and
 * `ejabberdctl join_cluster` run. Two nodes on 127.0.0.1 and 127.0.0.2 form a cluster
 * ({@link Ejabberd.start} with `join`). `.ci/run` installs the package (its own daemon is never started).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { freePort } from './net.js';
import {
  DOMAIN,
  endProcess,
  stockLimits,
  waitForPort,
  withResolvConf,
  type XmppServer,
  type XmppServerOptions,
} from './xmpp-server.js';

export { DOMAIN };

const ERL = '/usr/bin/erl';
const CTL = '/usr/sbin/ejabberdctl';

const running = new Set<Ejabberd>();
after(async () => {
  for (const e of running) await e.stop(true);
});
// Should the test process die first, its Erlang nodes go with it.
process.on('exit', () => {
  for (const e of running) e.killNow();
});

/** Where ejabberd's Erlang libraries are: what Debian's ejabberdctl sets as ERL_LIBS. */
function erlLibs(): string {
  const ctl = existsSync(CTL) ? readFileSync(CTL, 'utf8') : '';
  return /^ERL_LIBS='([^']+)'/m.exec(ctl)?.[1] ?? '/usr/lib/x86_64-linux-gnu';
}

/**
 * ejabberd's own modules (what a ctl node needs): on its code path alone, a ctl node starts in half the
 * time it takes with all of ERL_LIBS (Debian's is /usr/lib/<arch>, a thousand folders to scan).
 */
function ejabberdEbin(): string | undefined {
  const libs = erlLibs();
  if (!existsSync(libs)) return undefined;
  return readdirSync(libs)
    .filter((d) => d.startsWith('ejabberd-'))
    .map((d) => join(libs, d, 'ebin'))
    .find((d) => existsSync(join(d, 'ejabberd_ctl.beam')));
}

/** How to start a node. */
export interface EjabberdOptions extends XmppServerOptions {
  /** The loopback address it listens on, for clients and Erlang distribution (default 127.0.0.1). */
  host?: string;
  /** A running node whose cluster this one joins (`join_cluster`): same cookie and distribution port. */
  join?: Ejabberd;
  /** A client shaper of its own (bytes/s and burst bytes), instead of none or Debian's. */
  shaper?: { rate: number; burstSize: number };
  /** Shared roster groups (`mod_shared_roster`, and `mod_admin_extra` for `srg_create` / `srg_user_add`). */
  sharedRoster?: boolean;
  /**
   * ejabberd's ReST API (`mod_http_api` on an HTTP port of its own, every command allowed from loopback):
   * {@link Ejabberd.api} runs commands over one kept-alive connection, where each `ctl` starts an Erlang node.
   */
  api?: boolean;
  /** Its domain (default example.test). */
  domain?: string;
  /**
   * Server-to-server, for a federation (test/helpers/federation.ts): s2s on `port` of its address,
   * dialback, STARTTLS offered when `certfile` (certificate and key in one PEM) is given. `stock`:
   * Debian's s2s settings instead, `s2s_use_starttls: required` and `s2s_shaper: fast`, with `cafile`
   * as `s2s_cafile` (the CA other servers' certificates are checked against); `shaped`: its s2s
   * listener applies `s2s_shaper` (`shaper: s2s_shaper`, which Debian's listener lacks). Other domains
   * are resolved through `resolvConf` only ({@link withResolvConf}): ejabberd asks SRV records of
   * Erlang's resolver (which reads /etc/resolv.conf) and addresses of the system's getaddrinfo (p1_xmpp
   * 1.6 uses `net:getaddrinfo`: an inetrc file of the node's is not enough).
   */
  s2s?: { port: number; resolvConf: string; certfile?: string; cafile?: string; stock?: boolean; shaped?: boolean };
  /**
   * STARTTLS required on the client port, as Debian ships it (`starttls_required: true`), with this
   * certificate and key in one PEM file (`certfiles`).
   */
  c2sTls?: { certfile: string };
}

/** A running ejabberd node. */
export class Ejabberd implements XmppServer {
  readonly kind = 'ejabberd';
  private child: ChildProcess | undefined;
  /** Seen as /etc/resolv.conf by the node (a federation's). */
  private resolvConf: string | undefined;

  private constructor(
    readonly domain: string,
    readonly dir: string,
    readonly host: string,
    readonly port: number,
    readonly proxyPort: number,
    /** Erlang distribution: every node of a cluster listens on this port of its own address. */
    readonly distPort: number,
    readonly cookie: string,
    /** The ReST API's port (0: none). */
    readonly apiPort: number,
  ) {}

  /** The node's process id while it runs (its beam.smp: memory and CPU in /proc). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The Erlang node name (`qi-ejabberd@HOST`). */
  get node(): string {
    return `qi-ejabberd@${this.host}`;
  }

  /** `xmpp://HOST:PORT`, for XmppAccount.service. */
  get service(): string {
    return `xmpp://${this.host}:${this.port}`;
  }

  private get config(): string {
    return join(this.dir, 'ejabberd.yml');
  }

  /** Starts a node (and joins `options.join`'s cluster), or says why it cannot run here. */
  static async start(options: EjabberdOptions = {}): Promise<Ejabberd | string> {
    if (!existsSync(CTL) || !existsSync(ERL))
      return 'ejabberd is not installed (apt-get install ejabberd; .ci/run does it)';
    const dir = mkdtempSync(join(tmpdir(), 'qi-ejabberd-'));
    const host = options.host ?? '127.0.0.1';
    const e = new Ejabberd(
      options.domain ?? DOMAIN,
      dir,
      host,
      await freePort(),
      await freePort(),
      options.join?.distPort ?? (await freePort()),
      options.join?.cookie ?? randomBytes(12).toString('hex'),
      options.api ? await freePort() : 0,
    );
    mkdirSync(join(dir, 'spool'));
    const stock = stockLimits().ejabberd;
    const shaper = options.shaper ?? (options.stockLimits ? stock : undefined);
    const s2s = options.s2s;
    const certfiles = [s2s?.certfile, options.c2sTls?.certfile].filter((f): f is string => f !== undefined);
    e.resolvConf = s2s?.resolvConf;
    writeFileSync(
      e.config,
      `# generated by the qimessaging tests
hosts:
  - ${e.domain}
loglevel: warning
${certfiles.length > 0 ? `certfiles:\n${certfiles.map((f) => `  - "${f}"\n`).join('')}` : ''}${s2s ? `s2s_use_starttls: ${s2s.stock ? 'required' : s2s.certfile ? 'optional' : 'false'}\n${s2s.cafile ? `s2s_cafile: "${s2s.cafile}"\n` : ''}outgoing_s2s_families: [ipv4]\n` : ''}listen:
${s2s ? `  -\n    port: ${s2s.port}\n    ip: "${host}"\n    module: ejabberd_s2s_in\n${s2s.shaped ? '    shaper: s2s_shaper\n' : ''}` : ''}  -
    port: ${e.port}
    ip: "${host}"
    module: ejabberd_c2s
    max_stanza_size: ${stock.maxStanzaSize}
    shaper: c2s_shaper
    access: c2s
${options.c2sTls ? '    starttls_required: true\n' : ''}${
        options.api
          ? `  -
    port: ${e.apiPort}
    ip: "${host}"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
api_permissions:
  "loopback, every command":
    from: [mod_http_api, ejabberd_ctl]
    who:
      ip: 127.0.0.0/8
    what: "*"
`
          : ''
      }auth_password_format: scram
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
shaper:
  # Debian's stock values are rate: ${stock.rate}, burst_size: ${stock.burstSize} (its /etc/ejabberd/ejabberd.yml)
  normal:
    rate: ${shaper?.rate ?? stock.rate}
    burst_size: ${shaper?.burstSize ?? stock.burstSize}
  fast: ${stockLimits().ejabberdS2s.rate}
shaper_rules:
  c2s_shaper: ${shaper ? 'normal' : 'none'}
${s2s?.stock ? '  s2s_shaper: fast\n' : ''}modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
${options.sharedRoster ? '  mod_admin_extra: {}\n  mod_shared_roster: {}\n' : ''}${options.api ? '  mod_http_api: {}\n' : ''}${s2s ? '  mod_s2s_dialback: {}\n' : ''}${
        options.proxy65 === false
          ? ''
          : `  mod_proxy65:
    ip: "${host}"
    hostname: "${host}"
    port: ${e.proxyPort}
`
      }`,
    );
    running.add(e);
    await e.run();
    if (options.join) {
      // Its listener opens before ejabberd has finished starting: joining then fails (already_started).
      for (let i = 0; i < 30 && !/is running in that node/.test(e.status()); i++)
        await new Promise((r) => setTimeout(r, 200));
      e.ctl('join_cluster', options.join.node);
    }
    return e;
  }

  private async run(): Promise<void> {
    const ip = `{${this.host.split('.').join(',')}}`;
    // What `ejabberdctl foreground` runs, minus epmd: distribution on our own fixed port.
    const args = [
      '-name',
      this.node,
      '-setcookie',
      this.cookie,
      '-start_epmd',
      'false',
      '-erl_epmd_port',
      String(this.distPort),
      '-kernel',
      'inet_dist_use_interface',
      ip,
      '-noinput',
      '-mnesia',
      'dir',
      `"${join(this.dir, 'spool')}"`,
      '-s',
      'ejabberd',
    ];
    const command = withResolvConf([ERL, ...args], this.resolvConf);
    this.child = spawn(command[0], command.slice(1), {
      cwd: this.dir,
      stdio: 'ignore',
      env: {
        ...process.env,
        EJABBERD_CONFIG_PATH: this.config,
        EJABBERD_LOG_PATH: join(this.dir, 'ejabberd.log'),
        ERL_LIBS: erlLibs(),
        ERL_CRASH_DUMP: join(this.dir, 'erl_crash.dump'),
        ERL_CRASH_DUMP_BYTES: '0',
      },
    });
    try {
      await waitForPort('ejabberd', this.port, 30_000, { host: this.host });
    } catch (e) {
      const log = existsSync(join(this.dir, 'ejabberd.log'))
        ? readFileSync(join(this.dir, 'ejabberd.log'), 'utf8')
        : '';
      throw new Error(`${(e as Error).message}: ${log.slice(-2000)}`, { cause: e });
    }
  }

  /** Runs an ejabberdctl command against this node (as `ejabberdctl CMD ARGS…` would); returns its output. */
  ctl(...command: string[]): string {
    const ebin = ejabberdEbin();
    const r = spawnSync(
      ERL,
      [
        '-name',
        `qi-ctl-${randomBytes(4).toString('hex')}@${this.host}`,
        '-setcookie',
        this.cookie,
        '-start_epmd',
        'false',
        '-erl_epmd_port',
        String(this.distPort),
        '-dist_listen',
        'false',
        '-hidden',
        '-noinput',
        ...(ebin === undefined ? [] : ['-pa', ebin]),
        '-s',
        'ejabberd_ctl',
        '-extra',
        this.node,
        ...command,
      ],
      {
        encoding: 'utf8',
        timeout: 30_000,
        env: { ...process.env, ...(ebin === undefined ? { ERL_LIBS: erlLibs() } : {}) },
      },
    );
    if (r.status !== 0)
      throw new Error(`ejabberdctl ${command.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** What `ejabberdctl status` says (never throws: a node still starting answers with an error). */
  status(): string {
    try {
      return this.ctl('status');
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** Creates an account (`name@DOMAIN`, example.test unless started in another domain). */
  register(name: string, password: string): void {
    this.ctl('register', name, this.domain, password);
  }

  /**
   * Runs commands through the ReST API (started with `api`), `parallel` at a time over kept-alive
   * connections: `POST /api/COMMAND` with the arguments as JSON, what `ejabberdctl COMMAND` takes. Throws
   * with the first refusal.
   */
  async api(commands: [command: string, args: Record<string, string>][], parallel = 8): Promise<void> {
    if (!this.apiPort) throw new Error('this node was started without api: true');
    const queue = [...commands];
    const one = async (): Promise<void> => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        const r = await fetch(`http://${this.host}:${this.apiPort}/api/${c[0]}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(c[1]),
        });
        const body = await r.text();
        if (!r.ok || body.startsWith('{"status":"error"'))
          throw new Error(`ejabberd API ${c[0]} ${JSON.stringify(c[1])}: ${r.status} ${body}`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, one));
  }

  /** Stops the node (SIGTERM: Erlang's orderly shutdown); its accounts stay, for a restart. */
  async stop(removeData = false): Promise<void> {
    const c = this.child;
    this.child = undefined;
    await endProcess(c, 5000);
    if (removeData) {
      running.delete(this);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Kills the node at once (SIGKILL), as a crash would. */
  killNow(): void {
    this.child?.kill('SIGKILL');
  }

  /** Stops and starts again on the same ports, with the same accounts. */
  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }
}
