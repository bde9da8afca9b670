/**
 * Who may connect through the gateway and what each may do: users with tokens and permission rules,
 * and optional rules for anonymous clients, read from one JSON document. Tokens may be stored as
 * `sha256:<hex>` so the file does not hold them in clear.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Authenticator } from '../channel/index.js';
import { Policy, QiConfigError, type Rules } from './policy.js';

/** One user allowed through the gateway. */
export interface GatewayUser extends Rules {
  /** The user's token (password), in clear or as `sha256:<64 hex digits>`. */
  token: string;
}

/** The access configuration of a gateway (the JSON file given to `qi gateway --config`). */
export interface AccessConfig {
  /** Users, by name, with their tokens and permissions. */
  users?: Record<string, GatewayUser>;
  /** Permissions of clients that present no credentials; without this entry they are refused. */
  anonymous?: Rules;
}

/** Who a connected client is, once authenticated. */
export interface Identity {
  /** The user name, or `undefined` for an anonymous client. */
  user: string | undefined;
  policy: Policy;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function checkRules(where: string, r: unknown): Rules {
  if (r === null || typeof r !== 'object')
    throw new QiConfigError(`${where} must be an object with "allow" and/or "deny" lists of patterns.`);
  const o = r as Record<string, unknown>;
  for (const k of ['allow', 'deny'] as const) {
    const v = o[k];
    if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string')))
      throw new QiConfigError(`${where}.${k} must be a list of patterns (strings), e.g. ["ALTextToSpeech.*"].`);
  }
  new Policy(o); // reports a bad pattern now, not at the first call
  return o;
}

/** Validates an access configuration, with errors naming the faulty entry. */
export function checkAccessConfig(value: unknown, source = 'the gateway configuration'): AccessConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new QiConfigError(`${source} must be a JSON object with "users" and/or "anonymous".`);
  const o = value as Record<string, unknown>;
  const users: Record<string, GatewayUser> = {};
  if (o.users !== undefined) {
    if (o.users === null || typeof o.users !== 'object')
      throw new QiConfigError(`${source}: "users" must map user names to { "token": …, "allow": […] }.`);
    for (const [name, u] of Object.entries(o.users as Record<string, unknown>)) {
      const rules = checkRules(`${source}: users.${name}`, u);
      const token = (u as { token?: unknown }).token;
      if (typeof token !== 'string' || token === '')
        throw new QiConfigError(
          `${source}: users.${name}.token must be a non-empty string (in clear, or "sha256:" and the hex digest).`,
        );
      if (token.startsWith('sha256:') && !/^sha256:[0-9a-fA-F]{64}$/.test(token))
        throw new QiConfigError(
          `${source}: users.${name}.token starts with "sha256:" but is not followed by 64 hex digits.`,
        );
      users[name] = { ...rules, token };
    }
  }
  const anonymous = o.anonymous === undefined ? undefined : checkRules(`${source}: anonymous`, o.anonymous);
  return { users, anonymous };
}

/** Reads and validates an access configuration file (JSON). */
export function loadAccessConfig(path: string): AccessConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new QiConfigError(`Cannot read the gateway configuration ${path}: ${(e as Error).message}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new QiConfigError(`The gateway configuration ${path} is not valid JSON: ${(e as Error).message}.`);
  }
  return checkAccessConfig(json, path);
}

/** The compiled access configuration: authenticates clients and gives each its policy. */
export class Access {
  private readonly users = new Map<string, { digest: Buffer; policy: Policy }>();
  private readonly anonymous: Policy | undefined;

  constructor(config: AccessConfig) {
    const c = checkAccessConfig(config);
    for (const [name, u] of Object.entries(c.users ?? {})) {
      const d = u.token.startsWith('sha256:') ? Buffer.from(u.token.slice(7), 'hex') : digest(u.token);
      this.users.set(name, { digest: d, policy: new Policy(u) });
    }
    this.anonymous = c.anonymous === undefined ? undefined : new Policy(c.anonymous);
  }

  /** True when clients must present a user and token (no anonymous rules). */
  get requiresCredentials(): boolean {
    return this.anonymous === undefined;
  }

  /**
   * An authenticator for one incoming connection; `onIdentity` learns who the client turned out to be.
   * Without credentials a client is anonymous (if allowed); with them, they must match a user.
   */
  authenticator(onIdentity: (id: Identity) => void): Authenticator {
    return {
      authenticate: (creds) => {
        const { user, token } = creds;
        if (user === undefined && token === undefined) {
          if (this.anonymous === undefined)
            return {
              outcome: 'refused',
              reason:
                'this gateway requires a user and a token (qi --user NAME --token TOKEN, or auth: { user, token })',
            };
          onIdentity({ user: undefined, policy: this.anonymous });
          return { outcome: 'done' };
        }
        if (typeof user !== 'string' || typeof token !== 'string')
          return { outcome: 'refused', reason: 'user and token must both be given, as strings' };
        const entry = this.users.get(user);
        // Hash and compare even for an unknown user, so timing does not reveal who exists.
        const ok = timingSafeEqual(digest(token), entry?.digest ?? digest(`\u0000${token}`)) && entry !== undefined;
        if (!ok) return { outcome: 'refused', reason: 'invalid user or token' };
        onIdentity({ user, policy: entry.policy });
        return { outcome: 'done' };
      },
    };
  }
}
