/**
 * What the XMPP servers of the tests share (Prosody: prosody.ts, ejabberd: ejabberd.ts): the shape of a
 * running server, the wait for its port, the stop of its process, and Debian's stock rate limits read
 * from the packages' own configuration files.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';

/** The test domain both servers serve. */
export const DOMAIN = 'example.test';

/** A server the tests started (Prosody or ejabberd). */
export interface XmppServer {
  /** `prosody` or `ejabberd`, for test names and messages. */
  readonly kind: string;
  /** Its client port (c2s) and `xmpp://HOST:PORT` for XmppAccount.service. */
  readonly port: number;
  readonly service: string;
  /** The domain its accounts live in. */
  readonly domain: string;
  /** Creates an account `name@domain`. */
  register(name: string, password: string): void;
  /** Stops the server (its accounts stay, for a restart); `removeData` deletes its folder too. */
  stop(removeData?: boolean): Promise<void>;
  /** Stops and starts again on the same ports, with the same accounts. */
  restart(): Promise<void>;
}

/** How a test wants its server. */
export interface XmppServerOptions {
  /** Offer a SOCKS5 bytestream proxy (XEP-0065; default true; neither Debian package enables one). */
  proxy65?: boolean;
  /** Debian's stock client rate limits ({@link stockLimits}) instead of none (default false). */
  stockLimits?: boolean;
}

/** Waits until something listens on `host:port` (inside `netns` when given: `ss` there). */
export async function waitForPort(
  what: string,
  port: number,
  ms: number,
  where: { netns?: string; host?: string } = {},
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok =
      where.netns !== undefined
        ? execFileSync('ss', ['-N', where.netns, '-Hltn', `sport = :${port}`])
            .toString()
            .trim() !== ''
        : await new Promise<boolean>((r) => {
            const s = net.connect(port, where.host ?? '127.0.0.1', () => (s.destroy(), r(true)));
            s.on('error', () => r(false));
          });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The command that runs `command` (a program and its arguments) with `resolvConf` seen as
 * /etc/resolv.conf: in a mount namespace of its own (`unshare -m`, where the file is bind-mounted), so
 * that a server of a federation asks the test's DNS server and no system file is touched. `unshare`
 * and `sh` exec the program: the child's pid is the server's. Needs root.
 */
export function withResolvConf(command: string[], resolvConf: string | undefined): string[] {
  if (resolvConf === undefined) return command;
  return ['unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolvConf, ...command];
}

/** Ends a server's process: SIGTERM, then SIGKILL after `graceMs`. */
export async function endProcess(c: ChildProcess | undefined, graceMs = 3000): Promise<void> {
  if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (c.exitCode === null && c.signalCode === null) {
    c.kill('SIGKILL');
    await exited;
  }
}

/** Debian's client rate limits, as its packages ship them. */
export interface StockLimits {
  /** Prosody's `limits.c2s.rate` (mod_limits is enabled), in bytes/s, and its burst in seconds. */
  prosody: { rate: string; bytesPerSecond: number; burstSeconds: number };
  /** Prosody's `limits.s2sin.rate`, for what comes from other servers (a federation), in bytes/s. */
  prosodyS2s: { rate: string; bytesPerSecond: number };
  /** ejabberd's `normal` shaper applied to clients (`c2s_shaper`), and its c2s `max_stanza_size`. */
  ejabberd: { rate: number; burstSize: number; maxStanzaSize: number };
  /**
   * ejabberd's `fast` shaper (bytes/s), which its `shaper_rules` name as `s2s_shaper` (used only where a
   * listener says `shaper: s2s_shaper`: Debian's s2s listener does not).
   */
  ejabberdS2s: { rate: number };
}

const PROSODY_CFG = '/etc/prosody/prosody.cfg.lua';
const EJABBERD_YML = '/etc/ejabberd/ejabberd.yml';

/**
 * The rate limits of Debian's stock configurations, read from the installed files when they are there
 * (Debian 12: Prosody `c2s = { rate = "10kb/s" }` and `s2sin = { rate = "30kb/s" }` with mod_limits' 2 s
 * burst; ejabberd's `normal` shaper `rate: 3000, burst_size: 20000` for every client and
 * `max_stanza_size: 262144`; its `fast` shaper 200000 B/s as `s2s_shaper`), else those.
 */
export function stockLimits(): StockLimits {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  const p = read(PROSODY_CFG);
  const limit = (kind: string, fallback: string) => {
    const rate = new RegExp(`${kind}\\s*=\\s*\\{[^}]*rate\\s*=\\s*"([^"]+)"`).exec(p)?.[1] ?? fallback;
    const [, n, unit] = /^(\d+) ?([bkmg])b?\/s$/i.exec(rate) ?? /^(\d+)([bkmg])/.exec(fallback)!;
    return { rate, bytesPerSecond: Number(n) * 10 ** { b: 0, k: 3, m: 6, g: 9 }[unit.toLowerCase() as 'b'] };
  };
  const e = read(EJABBERD_YML);
  const normal = /\n {2}normal:\s*\n\s+rate: (\d+)\s*\n\s+burst_size: (\d+)/.exec(e);
  return {
    prosody: { ...limit('c2s', '10kb/s'), burstSeconds: 2 },
    prosodyS2s: limit('s2sin', '30kb/s'),
    ejabberd: {
      rate: Number(normal?.[1] ?? 3000),
      burstSize: Number(normal?.[2] ?? 20000),
      maxStanzaSize: Number(/module: ejabberd_c2s\s*\n\s+max_stanza_size: (\d+)/.exec(e)?.[1] ?? 262144),
    },
    ejabberdS2s: { rate: Number(/\n {2}fast: (\d+)/.exec(e)?.[1] ?? 200000) },
  };
}
