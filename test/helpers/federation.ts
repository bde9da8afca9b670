/**
 * A federation for tests (issue 23): one server per domain (e.g. a.test and b.test), Prosody or
 * ejabberd, on loopback with their own ports and data folders, joined by server-to-server (s2s)
 * connections.
 *
 * How a server finds another domain, without touching a system file: Prosody resolves a domain with
 * DNS only (SRV `_xmpp-server._tcp.DOMAIN`, then A/AAAA; no hosts file), asking the servers of
 * /etc/resolv.conf (its own resolver, net.dns, when lua-unbound is not installed — Debian's prosody does
 * not pull it in). So the test runs a DNS server of its own (test/helpers/dns.ts, on port 53 of a
 * 127.53.x.y address) holding an SRV record per domain (target the domain, port its s2s port) and an A
 * record (127.0.0.1), writes a resolv.conf naming it, and starts each Prosody in a mount namespace of
 * its own (`unshare -m`) with that file bind-mounted on /etc/resolv.conf. Tried and set aside:
 * /etc/hosts (not read), IP-literal domains (Prosody connects to them directly, but always on port
 * 5269, and JIDs like robot@127.0.0.2 test nothing real), lua-unbound's `hoststxt` (one more Debian
 * package, and SRV questions would still go out). Needs root (mount, port 53); otherwise a reason.
 * ejabberd runs the same way (its SRV questions go to Erlang's resolver, its address questions to
 * the system's getaddrinfo: both read /etc/resolv.conf).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { domainCertificate, testCerts } from './certs.js';
import { startDns, type Dns } from './dns.js';
import { freePort } from './net.js';
import { Ejabberd } from './ejabberd.js';
import { Prosody } from './prosody.js';

/** How the servers of a federation are set up. */
export interface FederationOptions {
  /** TLS on s2s with dialback, as Debian ships Prosody (self-signed certificates; default true). */
  tls?: boolean;
  /** Prosody's mod_limits rate for incoming s2s (e.g. Debian's "30kb/s"; default none). */
  s2sinRate?: string;
  /** SOCKS5 bytestream proxies (default true). */
  proxy65?: boolean;
  /** The address the proxies announce, e.g. one the robots cannot reach (default: where they listen). */
  proxyAddress?: string;
  /**
   * Debian's stock s2s security instead of dialback over self-signed certificates: each domain's
   * certificate signed by a test CA (test/helpers/certs.ts) that every server trusts; Prosody with
   * `s2s_secure_auth = true` (`s2s_ssl`'s `cafile`), ejabberd with `s2s_use_starttls: required`,
   * `s2s_cafile` and `s2s_shaper: fast` (default false).
   */
  stockSecurity?: boolean;
  /** Domains whose certificate is self-signed instead (with `stockSecurity`: servers that nobody trusts). */
  untrusted?: string[];
  /** ejabberd's s2s listener applies `s2s_shaper` (`shaper: s2s_shaper`, which Debian's file lacks). */
  s2sShaped?: boolean;
}

/** A running federation: a server per domain, the DNS server they ask. */
export interface Federation {
  servers: Record<string, Prosody | Ejabberd>;
  dns: Dns;
}

/** Which server runs a domain. */
export type ServerKind = 'prosody' | 'ejabberd';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** Why a federation cannot run here, or undefined. */
function cannot(): string | undefined {
  const r = spawnSync('unshare', ['-m', 'true'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? undefined : `no mount namespace for Prosody's resolv.conf (unshare -m: ${r.stderr.trim()})`;
}

/** Starts a server per domain (Prosody unless told) and the DNS server that joins them; or says why it cannot run here. */
export async function startFederation(
  kinds: Record<string, ServerKind>,
  options: FederationOptions = {},
): Promise<Federation | string> {
  const domains = Object.keys(kinds);
  const why = cannot();
  if (why !== undefined) return why;
  const tls = options.tls ?? true;
  const ports = Object.fromEntries(await Promise.all(domains.map(async (d) => [d, await freePort()] as const)));
  // ejabberd nodes each on an address of their own, in a block of this federation's (127.24.x.*):
  // their Erlang node names differ, and no other server listens there (their ports are chosen free on
  // 127.0.0.1 only).
  const block = `127.24.${Math.floor(Math.random() * 250) + 1}`;
  const hosts = Object.fromEntries(
    domains.map((d, i) => [d, kinds[d] === 'ejabberd' ? `${block}.${i + 2}` : '127.0.0.1']),
  );
  let dns: Dns;
  try {
    dns = await startDns({
      a: hosts,
      srv: Object.fromEntries(domains.map((d) => [`_xmpp-server._tcp.${d}`, { target: d, port: ports[d] }])),
    });
  } catch (e) {
    return (e as Error).message;
  }
  const dir = mkdtempSync(join(tmpdir(), 'qi-federation-'));
  cleanups.push(async () => {
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const resolvConf = join(dir, 'resolv.conf');
  writeFileSync(resolvConf, `nameserver ${dns.address}\n`);
  const servers: Record<string, Prosody | Ejabberd> = {};
  const stock = options.stockSecurity ?? false;
  const cafile = join(dir, 'ca.pem');
  if (stock) writeFileSync(cafile, testCerts().ca);
  for (const domain of domains) {
    const signed = stock && !(options.untrusted ?? []).includes(domain);
    const cert = tls ? domainCertificate(domain, signed) : undefined;
    if (cert) {
      writeFileSync(join(dir, `${domain}.crt`), cert.cert);
      writeFileSync(join(dir, `${domain}.key`), cert.key);
    }
    if (kinds[domain] === 'ejabberd') {
      const certfile = join(dir, `${domain}.pem`);
      if (cert) writeFileSync(certfile, cert.cert + cert.key);
      const e = await Ejabberd.start({
        domain,
        host: hosts[domain],
        proxy65: options.proxy65,
        s2s: {
          port: ports[domain],
          resolvConf,
          certfile: cert ? certfile : undefined,
          ...(stock ? { stock, cafile, shaped: options.s2sShaped } : {}),
        },
      });
      if (typeof e === 'string') return e;
      servers[domain] = e;
      continue;
    }
    // mod_limits has its own c2s default (10 KiB/s): lifted, so that only s2s is limited.
    const limits =
      options.s2sinRate === undefined
        ? ''
        : `limits = { c2s = { rate = "100mb/s" }; s2sin = { rate = "${options.s2sinRate}" } }`;
    const p = await Prosody.start(
      {
        domain,
        proxyAddress: options.proxyAddress,
        s2s: { port: ports[domain], resolvConf, tls, secureAuth: stock },
        modules: options.s2sinRate === undefined ? [] : ['limits'],
        // A certificate for s2s only. Robots and clients log in without TLS, as on the other test
        // servers (they would not trust a self-signed certificate): a c2s certificate that does not
        // exist leaves mod_tls without a c2s context, so it offers clients no STARTTLS (and logs it).
        config: `${tls ? `s2s_ssl = { certificate = "${dir}/${domain}.crt"; key = "${dir}/${domain}.key"${stock ? `; cafile = "${cafile}"` : ''} }\nc2s_ssl = { certificate = "${dir}/none.crt"; key = "${dir}/none.key" }` : ''}\n${limits}`,
      },
      { proxy65: options.proxy65 },
    );
    if (typeof p === 'string') return p;
    servers[domain] = p;
  }
  return { servers, dns };
}

/** A Prosody per domain (see {@link startFederation}). */
export const prosodyFederation = (domains: string[], options: FederationOptions = {}) =>
  startFederation(Object.fromEntries(domains.map((d) => [d, 'prosody' as const])), options);
