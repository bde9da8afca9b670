/**
 * The advice of connection errors, worded for the command line: the library's messages name its
 * options (`{ auth: … }`, `{ tls: { fingerprint } }`); here they name the flags.
 */
import { QiAuthError, QiTlsError, type ConnectHint } from '../index.js';

/** The message to print for an error: the problem, then the flags that fix it when the error says what would. */
export function cliMessage(e: unknown): string {
  const advice = e instanceof QiAuthError || e instanceof QiTlsError ? e.advice : undefined;
  return advice === undefined ? String((e as Error)?.message ?? e) : `${advice.problem} ${flagsFor(advice.hint)}`;
}

function flagsFor(hint: ConnectHint): string {
  switch (hint.kind) {
    case 'credentials':
      return "Run again with --user and --token (or QI_USER and QI_TOKEN); a NAOqi 2.9 robot: --user nao --token <the robot's password>.";
    case 'credentials-refused':
      return "Check --user and --token (or QI_USER and QI_TOKEN); NAOqi 2.9 robots expect --user nao and the robot's password.";
    case 'pin':
      return hint.fingerprint === undefined
        ? 'It sent no certificate; --insecure connects anyway, without any check.'
        : `Robots use self-signed certificates: if this is your robot, run again with --fingerprint ${hint.fingerprint} (or QI_TLS_FINGERPRINT), or --insecure to skip the check. Check the fingerprint on the robot itself first.`;
    case 'pin-xmpp':
      return `If this is your XMPP server, run again with --xmpp-ca FILE, its CA's certificate (or QI_XMPP_CA), or --xmpp-fingerprint ${hint.fingerprint ?? '<its SHA-256 fingerprint>'} (or QI_XMPP_FINGERPRINT). Check the fingerprint on the server itself first.`;
  }
}
