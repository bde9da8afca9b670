/**
 * Authentication, as libqi does it (spec §6.3): the client's first call (0,0,8) carries its
 * capabilities plus `auth_`-prefixed credentials; the server's provider answers Done, Continue (with
 * data for another round) or Error. These are the pluggable pieces on each side.
 */
import { timingSafeEqual } from 'node:crypto';

/** What a server-side authenticator decides. */
export type AuthResult =
  | { readonly outcome: 'done' }
  | { readonly outcome: 'continue'; readonly data: Record<string, unknown> }
  | { readonly outcome: 'refused'; readonly reason: string };

/** Server side: checks what a client presents (keys without the `auth_` prefix, e.g. `user`, `token`). */
export interface Authenticator {
  authenticate(credentials: Record<string, unknown>, peer: { remote: string }): AuthResult | Promise<AuthResult>;
}

/** Client side: what to send first, and what to answer when the server asks for another round. */
export interface ClientAuthenticator {
  /** Credentials for the first authenticate call (without the `auth_` prefix). */
  initial(): Record<string, unknown>;
  /** Answer to a Continue from the server; `undefined` gives up. */
  next?(serverData: Record<string, unknown>): Record<string, unknown> | undefined;
}

/** User/token credentials, the NAOqi 2.9 scheme (`auth_user`, `auth_token`). */
export interface Credentials {
  user: string;
  token: string;
}

/**
 * The client authenticator for user/token credentials. When a server answers Continue with a new
 * token (`auth_newToken`, seen on NAOqi 2.9 robots), it authenticates again with that token.
 */
export function credentialsAuthenticator(c: Credentials): ClientAuthenticator {
  let token = c.token;
  return {
    initial: () => ({ user: c.user, token }),
    next(data) {
      if (typeof data.newToken !== 'string') return undefined;
      token = data.newToken;
      return { user: c.user, token };
    },
  };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a),
    y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A server authenticator accepting the given users and their tokens (passwords). Comparisons take
 * constant time; the refusal never says whether the user or the token was wrong.
 */
export function userTokenAuthenticator(users: Record<string, string> | Map<string, string>): Authenticator {
  const table = users instanceof Map ? users : new Map(Object.entries(users));
  return {
    authenticate(creds) {
      const user = creds.user,
        token = creds.token;
      if (typeof user !== 'string' || typeof token !== 'string')
        return { outcome: 'refused', reason: 'user and token are required' };
      const expected = table.get(user);
      // Compare against something even for unknown users, so timing does not reveal who exists.
      const ok = sameText(expected ?? '\u0000'.repeat(token.length + 1), token) && expected !== undefined;
      return ok ? { outcome: 'done' } : { outcome: 'refused', reason: 'invalid user or token' };
    },
  };
}
