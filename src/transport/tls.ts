/**
 * TLS for `tcps` and `tcpsm`. Clients verify the server by default. Robots serve self-signed
 * certificates, so when verification fails the error prints the certificate's fingerprint and how to
 * pin it; a pinned fingerprint is then trusted for that connection and nothing else. `insecure` gives
 * libqi's behaviour (no verification) for those who ask for it by name.
 */
import { X509Certificate, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { QiTlsError } from './errors.js';

/** TLS options of a client connection. */
export interface TlsClientOptions {
  /** Extra CA certificates to trust (PEM). */
  ca?: string | Buffer | (string | Buffer)[];
  /**
   * Trust exactly the certificate with this SHA-256 fingerprint (`AB:CD:…`; case and colons free),
   * whatever signed it. Several may be given. Default: `QI_TLS_FINGERPRINT`.
   */
  fingerprint?: string | string[];
  /** Accept any certificate, as libqi does for tcps. Anyone on the path can then read and change the traffic. */
  insecure?: boolean;
  /** Client certificate (PEM), for mutual TLS (`tcpsm`). */
  cert?: string | Buffer;
  /** Client private key (PEM), for mutual TLS (`tcpsm`). */
  key?: string | Buffer;
  /** Name to verify the certificate against (default: the host of the URL). */
  servername?: string;
}

/** TLS options of a listening endpoint. */
export interface TlsServerOptions {
  /** Server certificate (PEM). */
  cert: string | Buffer;
  /** Server private key (PEM). */
  key: string | Buffer;
  /** CAs that sign acceptable client certificates (`tcpsm`). */
  ca?: string | Buffer | (string | Buffer)[];
}

/** Normalizes a fingerprint for comparison: upper-case hex pairs joined by colons. */
export function normalizeFingerprint(fp: string): string {
  const hex = fp
    .replace(/^sha256[:/]/i, '')
    .replace(/[^0-9a-f]/gi, '')
    .toUpperCase();
  return hex.match(/../g)?.join(':') ?? '';
}

/** The SHA-256 fingerprint of a PEM certificate, as `AB:CD:…`. */
export function certificateFingerprint(pem: string | Buffer): string {
  return new X509Certificate(pem).fingerprint256;
}

function pins(options: TlsClientOptions): string[] {
  const given = options.fingerprint ?? process.env.QI_TLS_FINGERPRINT?.split(',');
  if (given === undefined) return [];
  return (Array.isArray(given) ? given : [given]).map(normalizeFingerprint).filter((f) => f.length > 0);
}

/** True when insecure mode is on (option, or `QI_TLS_INSECURE=1`). */
export function isInsecure(options: TlsClientOptions): boolean {
  return options.insecure ?? process.env.QI_TLS_INSECURE === '1';
}

/** How an error of {@link checkServer} tells the user to trust a peer: what the peer is, and the options to name. */
export interface TrustAdvice {
  /** What the peer is, as in "the robot". */
  peer: string;
  /** Said before the advice when the certificate is not trusted. */
  intro: string;
  /** How to pin a fingerprint (option and variable). */
  pin(fingerprint: string): string;
  /** How to trust a CA. */
  ca: string;
  /** The hint front ends word their own way. */
  hint: 'pin' | 'pin-xmpp';
}

/** The advice for robots (`tcps`, `wss`): self-signed certificates, pinned with `tls.fingerprint`. */
export const ROBOT_TRUST: TrustAdvice = {
  peer: 'robot',
  intro: 'Robots use self-signed certificates: if this is your robot, ',
  pin: (fp) => `{ tls: { fingerprint: '${fp}' } } (or QI_TLS_FINGERPRINT)`,
  ca: '{ tls: { ca } }',
  hint: 'pin',
};

/**
 * Decides whether a connected TLS socket may be used. Called on `secureConnect`, before anything is
 * sent; throws a {@link QiTlsError} that says how to trust this peer when it may not.
 */
export function checkServer(
  socket: TLSSocket,
  url: string,
  options: TlsClientOptions,
  advice: TrustAdvice = ROBOT_TRUST,
): void {
  if (isInsecure(options)) return;
  const cert: PeerCertificate | undefined = socket.getPeerCertificate();
  const fingerprint = cert?.fingerprint256 || undefined;
  const pinned = pins(options);
  if (pinned.length > 0) {
    if (fingerprint !== undefined && pinned.some((p) => same(p, fingerprint))) return;
    throw new QiTlsError(
      `The certificate of ${url} does not match the pinned fingerprint. It is ${fingerprint ?? 'absent'}; ` +
        `expected ${pinned.join(' or ')}. If the ${advice.peer}'s certificate was changed on purpose, pin the new one; ` +
        `otherwise something is between you and the ${advice.peer}.`,
      fingerprint,
    );
  }
  if (socket.authorized) return;
  const why = String(socket.authorizationError ?? 'unknown reason');
  const problem = `The certificate of ${url} is not trusted (${why}).`;
  throw new QiTlsError(
    `${problem} ${advice.intro}pin its certificate with ${advice.pin(fingerprint ?? '<none sent>')}, ` +
      `or trust its CA with ${advice.ca}. Check the fingerprint on the ${advice.peer} itself before pinning it.`,
    fingerprint,
    undefined,
    { problem, hint: { kind: advice.hint, fingerprint } },
  );
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(normalizeFingerprint(a));
  const y = Buffer.from(normalizeFingerprint(b));
  return x.length === y.length && timingSafeEqual(x, y);
}
