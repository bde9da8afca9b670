/**
 * What every `qi` verb shares: global options, connecting, printing values, and exit codes that
 * scripts can rely on.
 */
import { readFileSync } from 'node:fs';
import { QiError, Session, type AnyProxy, type SessionOptions, type Signature } from '../index.js';
import { globRegExp } from '../type/index.js';
import { cliMessage } from './hints.js';
import { explainLookup } from './names.js';
import { UsageError } from './usage-error.js';
import { toJson, toText } from './values.js';

export { UsageError, toJson };

/**
 * Exit codes: 0 ok, 1 the remote side failed (or a watched connection was lost), 2 bad usage or
 * arguments, 3 cannot connect or authenticate (whatever the reason: refused, silent, TLS, timed out).
 */
export const Exit = { Ok: 0, Remote: 1, Usage: 2, Connect: 3 } as const;

/** Global options of every verb. */
export interface GlobalOptions {
  url: string;
  json?: boolean;
  user?: string;
  token?: string;
  fingerprint?: string;
  insecure?: boolean;
  /**
   * Milliseconds: bounds connecting (TCP, TLS and the qi handshake together), then each call (default: 10,000 to
   * connect, calls unbounded).
   */
  timeout?: string;
  /** Wait up to this many seconds for services that are not there yet. */
  wait?: string;
  /** HTTP proxy to connect through. */
  proxy?: string;
  /** XMPP account for xmpp:// URLs. */
  xmppService?: string;
  xmppJid?: string;
  xmppPassword?: string;
  /** Other addresses of the same XMPP service (a cluster's nodes), tried in turn (`--xmpp-alternate`, repeatable). */
  xmppAlternate?: string[];
  /** A PEM file: the CA of the XMPP server's certificate (`--xmpp-ca`; default `QI_XMPP_CA`). */
  xmppCa?: string;
  /** The XMPP server certificate's SHA-256 fingerprint, to pin (`--xmpp-fingerprint`; default `QI_XMPP_FINGERPRINT`). */
  xmppFingerprint?: string;
}

/**
 * The XMPP account of the options (flags, else `QI_XMPP_*`), its service, JID and password as given (a
 * verb checks they are there), with the cluster's other addresses and how to check the server's certificate.
 */
export function xmppAccount(o: GlobalOptions) {
  let ca: string | undefined;
  if (o.xmppCa !== undefined) {
    try {
      ca = readFileSync(o.xmppCa, 'utf8');
    } catch (e) {
      throw new UsageError(`--xmpp-ca ${o.xmppCa} cannot be read (${(e as Error).message}): give a PEM file`);
    }
  }
  return {
    service: o.xmppService ?? process.env.QI_XMPP_SERVICE,
    jid: o.xmppJid ?? process.env.QI_XMPP_JID,
    password: o.xmppPassword ?? process.env.QI_XMPP_PASSWORD,
    alternates: xmppAlternates(o),
    tls: { ca, fingerprint: o.xmppFingerprint },
  };
}

/**
 * The other addresses of the XMPP service: `--xmpp-alternate URL` (repeatable), else `QI_XMPP_ALTERNATES`
 * (comma-separated), else none.
 */
export function xmppAlternates(o: GlobalOptions): string[] {
  if (o.xmppAlternate?.length) return o.xmppAlternate;
  return (process.env.QI_XMPP_ALTERNATES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function sessionOptions(o: GlobalOptions, reconnect?: boolean): SessionOptions {
  const user = o.user ?? process.env.QI_USER;
  const token = o.token ?? process.env.QI_TOKEN;
  return {
    auth: user !== undefined && token !== undefined ? { user, token } : undefined,
    tls: { fingerprint: o.fingerprint, insecure: o.insecure },
    connectTimeoutMs: o.timeout === undefined ? undefined : Number(o.timeout),
    ...(reconnect === undefined ? {} : { reconnect }),
    proxy: o.proxy,
    transports:
      o.xmppService || o.xmppJid || xmppAlternates(o).length
        ? {
            xmpp: xmppAccount(o),
          }
        : undefined,
  };
}

/** Errors of reaching the robot, whatever their type (a silent port times out): they exit with code 3. */
const unreachable = new WeakSet<object>();

/**
 * Connects to the ServiceDirectory named by the options, showing progress only on a terminal. Any
 * failure here is a failure to reach the robot (exit code 3). `reconnect: false` turns the library's
 * reconnection off (for verbs that watch the connection themselves).
 */
export async function connectSession(o: GlobalOptions, reconnect?: boolean): Promise<Session> {
  const tty = process.stderr.isTTY && !o.json;
  if (tty) process.stderr.write(`connecting to ${o.url}…`);
  try {
    return await Session.connect(o.url, sessionOptions(o, reconnect));
  } catch (e) {
    const usage = e instanceof QiError && (e.code === 'ERR_QI_URL' || e.code === 'ERR_QI_CONFIG');
    if (!usage && e !== null && typeof e === 'object') unreachable.add(e);
    throw e;
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
  }
}

/** A proxy of `name`; with `--wait`, waits for the service to appear, showing progress on a terminal. */
export async function serviceOf(session: Session, name: string, o: GlobalOptions): Promise<AnyProxy> {
  const timeoutMs = o.timeout === undefined ? undefined : Number(o.timeout);
  if (o.wait === undefined)
    return session
      .service(name, { timeoutMs })
      .catch(async (e: unknown) => Promise.reject(await explainLookup(session, name, e)));
  const tty = process.stderr.isTTY && !o.json;
  if (tty) process.stderr.write(`waiting for ${name}…`);
  try {
    return await session.waitForService(name, Number(o.wait) * 1000);
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
  }
}

/** True when a service name matches a pattern with `*` and `?` wildcards (or equals it). */
export function matches(name: string, pattern: string): boolean {
  return globRegExp(pattern).test(name);
}

/** Prints a result of qi type `sig` (when known): JSON with `--json`, else a readable form. */
export function print(o: GlobalOptions, value: unknown, sig?: Signature): void {
  if (o.json) console.log(JSON.stringify(toJson(value, sig)));
  else if (value === undefined)
    return; // a void result prints nothing
  else console.log(toText(value, sig, { colors: process.stdout.isTTY }));
}

/**
 * Parses a command-line argument as a JSON-like literal: JSON when it parses (`3`, `"a"`, `[1,2]`,
 * `{"x":1}`, `true`), else the text itself as a string (so `qi call TTS.say hello` works).
 */
export function parseArg(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Splits `SERVICE.MEMBER` (the service name may contain dots; the member is after the last one). */
export function splitTarget(spec: string, form: string, example: string): [string, string] {
  const dot = spec.lastIndexOf('.');
  if (dot <= 0 || dot === spec.length - 1) throw new UsageError(`expected ${form}, got "${spec}" (e.g. ${example})`);
  return [spec.slice(0, dot), spec.slice(dot + 1)];
}

/** Runs a verb: maps errors to messages on stderr and to exit codes. */
export async function run(o: GlobalOptions, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    process.exitCode = Exit.Ok;
  } catch (e) {
    const code =
      e instanceof UsageError ||
      (e instanceof QiError && (e.code === 'ERR_QI_VALUE' || e.code === 'ERR_QI_URL' || e.code === 'ERR_QI_CONFIG')) ||
      e instanceof TypeError
        ? Exit.Usage
        : unreachable.has(e as object) ||
            (e instanceof QiError && ['ERR_QI_CONNECT', 'ERR_QI_TLS', 'ERR_QI_AUTH'].includes(e.code))
          ? Exit.Connect
          : Exit.Remote;
    const message = cliMessage(e);
    if (o.json) console.error(JSON.stringify({ error: message, code: (e as QiError).code ?? 'ERR_QI_USAGE' }));
    else console.error(`qi: ${message}`);
    process.exitCode = code;
  }
}
