/**
 * Who may move a resumable link, and how often. A restart moves a link's streams (its qi sessions)
 * onto a new peer connection, so it is bound to the link's first opening: the host gives the opener a
 * random key with its first answer (`offerMovable`), keeps only the key's digest, and moves the link
 * only for a caller that presents the key (compared in constant time). A link id is not a secret (it
 * appears in `ice:` URLs, logs and `host.active`); the key never leaves the two ends and is never put
 * in a message. Restarts are also bounded: so many per link per minute, one at a time per link, and a
 * few at once on the host, each refusal saying which bound; a refused restart builds no peer connection.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { QiError } from '../../errors/index.js';
import { envNumber } from '../../config/env.js';

/** Bounds on restarts (docs/links.md, "Moving a link"). */
export interface RestartLimits {
  /** Restarts of one link within a minute (default 6, env `QI_ICE_RESTARTS_PER_MINUTE`). */
  perMinute?: number;
  /** Restarts being answered at once on the host, all links together (default 4, env `QI_ICE_CONCURRENT_RESTARTS`). */
  concurrent?: number;
}

/** The limits in force: options, else the environment, else the defaults. */
export function restartLimits(o: RestartLimits = {}): Required<RestartLimits> {
  const env = (name: string, d: number) => envNumber(name, d, { integer: true });
  return {
    perMinute: o.perMinute ?? env('QI_ICE_RESTARTS_PER_MINUTE', 6),
    concurrent: o.concurrent ?? env('QI_ICE_CONCURRENT_RESTARTS', 4),
  };
}

/** A fresh restart key: 256 random bits, as text. */
export function newRestartKey(): string {
  return randomBytes(32).toString('base64url');
}

/** What the host keeps of a key. */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** True when `presented` is the key whose digest is `digest`; the time taken does not depend on where they differ. */
export function keyMatches(digest: Buffer | undefined, presented: string): boolean {
  const mine = digest ?? keyDigest('\u0000no key');
  return timingSafeEqual(mine, keyDigest(presented)) && digest !== undefined;
}

/**
 * The refusal of a restart whose key is missing or wrong, or whose link is not here: the same words
 * for all three, so that a caller learns nothing about which ids exist.
 */
export function keyRefused(): QiError {
  return new QiError(
    'ERR_QI_AUTH',
    `${KEY_REFUSED}: a link moves only for the opener that holds its restart key (given with the answer to offerMovable), and links opened with offerResumable (older openers) do not move. Open a new link.`,
  );
}

/** The start of {@link keyRefused}'s message: an opener that reads it stops trying to move the link. */
export const KEY_REFUSED = 'Restart refused: no movable link with that id and key here';

/** Counts the restarts of each link and of the host; see the module comment. */
export class RestartBudget {
  private readonly limits: Required<RestartLimits>;
  private readonly recent = new Map<string, number[]>();
  private readonly inProgress = new Set<string>();

  constructor(limits: RestartLimits = {}) {
    this.limits = restartLimits(limits);
  }

  /**
   * Takes one restart of `link`, or throws which bound refuses it. Call {@link done} once it is answered.
   * @throws {@link QiError} `ERR_QI_LIMIT`
   */
  take(link: string, now = Date.now()): void {
    const { perMinute, concurrent } = this.limits;
    if (this.inProgress.has(link))
      throw new QiError('ERR_QI_LIMIT', `Restart refused: a restart of link ${link} is being answered; wait for it.`);
    if (this.inProgress.size >= concurrent)
      throw new QiError(
        'ERR_QI_LIMIT',
        `Restart refused: ${concurrent} restarts are being answered on this host (QI_ICE_CONCURRENT_RESTARTS); try again in a moment.`,
      );
    const times = (this.recent.get(link) ?? []).filter((t) => now - t < 60_000);
    if (times.length >= perMinute)
      throw new QiError(
        'ERR_QI_LIMIT',
        `Restart refused: link ${link} reached its limit of ${perMinute} restarts a minute (QI_ICE_RESTARTS_PER_MINUTE); try again later or open a new link.`,
      );
    times.push(now);
    this.recent.set(link, times);
    this.inProgress.add(link);
  }

  /** The restart of `link` taken with {@link take} was answered (or failed). */
  done(link: string): void {
    this.inProgress.delete(link);
  }

  /** Forgets a link that closed. */
  forget(link: string): void {
    this.recent.delete(link);
  }
}
