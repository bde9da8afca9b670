/** Errors of connecting, listening and TLS, each with advice a user can act on. */
import { QiError } from '../errors/index.js';

/** Advice per system error code, for connect and listen failures. */
const ADVICE: Record<string, string> = {
  ECONNREFUSED:
    'nothing listens there. Is the ServiceDirectory (naoqi, or `qi sd`) running, and is the port right? NAOqi 2.9 robots serve tcps on port 9503, older ones tcp on 9559',
  ETIMEDOUT:
    'no answer from that address. Check the robot is on and on this network, and that no firewall drops the port',
  EHOSTUNREACH:
    'no route to that host (the network changed, or the host is off). Check the address and the network link (Wi-Fi, cable, VPN)',
  ENETUNREACH:
    'this machine has no route to that network (the network changed, or a link is down). Check the address and the network link',
  ENOTFOUND:
    "that host name does not resolve. Check the spelling, or use the robot's IP address (press its chest button once: NAO and Pepper say it)",
  EAI_AGAIN: 'the host name could not be resolved right now (DNS). Retry, or use the IP address',
  ECONNRESET:
    'the peer reset the connection. A plain tcp client on a tcps port (or the reverse) does that: check the scheme',
  ENOENT: 'no socket file at that path: the service is not running, or uses another path',
  EADDRINUSE:
    'the address is already in use: another process listens there (another ServiceDirectory or naoqi?). Stop it or pick another port; port 0 lets the system choose',
  EADDRNOTAVAIL:
    "this machine has no such address. Listen on 0.0.0.0, 127.0.0.1, or one of this machine's own addresses",
  EACCES: 'permission denied. Ports below 1024 need privileges; pick a port above 1024',
  EINVAL: 'the address is not valid for listening here (an IPv6 zone that does not exist?)',
};

/**
 * What the user can do about a connection error, for front ends that word it their own way (the `qi`
 * command line names its flags). The error's message already holds the library's wording.
 */
export type ConnectHint =
  /** The peer wants a user and token (password). */
  | { readonly kind: 'credentials' }
  /** The peer refused the user and token given. */
  | { readonly kind: 'credentials-refused' }
  /** The peer's certificate is not trusted: pin it (its fingerprint, when it sent one) or trust its CA. */
  | { readonly kind: 'pin'; readonly fingerprint?: string }
  /** The XMPP server's certificate is not trusted: trust its CA or pin it. */
  | { readonly kind: 'pin-xmpp'; readonly fingerprint?: string };

/** An error's problem without the library's advice, and what to do about it; see {@link ConnectHint}. */
export interface Advice {
  /** What went wrong, as one or more sentences. */
  readonly problem: string;
  readonly hint: ConnectHint;
}

/** What answered on a port that does not speak qi messages (see {@link QiConnectError.found}). */
export type FoundProtocol = 'tls' | 'http';

/** Could not connect to, or listen on, an endpoint. `cause` holds the system error. */
export class QiConnectError extends QiError {
  /** The endpoint URL. */
  readonly url: string;
  /** The system error code (`ECONNREFUSED`, …), if any. */
  readonly errno?: string;
  /** What the port speaks instead of qi messages, when that is why the connection failed. */
  readonly found?: FoundProtocol;
  /** The URL to use instead, when it is known (`tcps://…` for a TLS port, `ws://…/path` for a qi WebSocket). */
  readonly suggestedUrl?: string;

  constructor(
    url: string,
    action: 'connect to' | 'listen on',
    cause: unknown,
    wrong?: { found: FoundProtocol; suggestedUrl?: string; advice: string },
  ) {
    const errno = (cause as { code?: unknown })?.code;
    const code = typeof errno === 'string' ? errno : undefined;
    const advice = wrong?.advice ?? (code !== undefined ? ADVICE[code] : undefined);
    const what = (cause as Error)?.message ?? String(cause);
    super('ERR_QI_CONNECT', `Cannot ${action} ${url}: ${advice ?? what}${advice && !wrong ? ` (${code})` : ''}.`, {
      cause,
    });
    this.url = url;
    this.errno = code;
    this.found = wrong?.found;
    this.suggestedUrl = wrong?.suggestedUrl;
  }
}

/** A TLS peer that could not be verified, or a TLS handshake that failed. */
export class QiTlsError extends QiError {
  /** The peer certificate's SHA-256 fingerprint (`AB:CD:…`), when the peer sent one. */
  readonly fingerprint?: string;
  /** The problem and what to do, for front ends that word the advice their own way. */
  readonly advice?: Advice;

  constructor(message: string, fingerprint?: string, cause?: unknown, advice?: Advice) {
    super('ERR_QI_TLS', message, { cause });
    this.fingerprint = fingerprint;
    this.advice = advice;
  }
}

/** The connection is closed: a call was pending when it closed, or something was sent after. */
export class QiClosedError extends QiError {
  constructor(message: string, cause?: unknown) {
    super('ERR_QI_CLOSED', message, cause === undefined ? undefined : { cause });
  }
}
