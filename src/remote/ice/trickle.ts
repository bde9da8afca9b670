/**
 * Trickle ICE over the signaling service: the offer and the answer leave at once, without waiting for
 * gathering, and each side's candidates follow as they are gathered, so that the checks start on the
 * first pair instead of after the slowest STUN/TURN server. The host keeps what it gathered in an
 * {@link Outbox}; the opening side pushes its candidates with `trickle(link, candidates)` and fetches the
 * host's with the same call (long-polled when it sends none). An empty string ends a side's list.
 * What a caller may send is bounded ({@link TRICKLE_LIMITS}): hostile callers exist.
 */
import type { Unsubscribe } from './duplex.js';
import { parseCandidate } from './sdp.js';
import type { IcePeer } from './stack.js';

/**
 * How long a trickled offer or answer waits for gathering before it leaves (ms): with STUN/TURN servers
 * that answer at once, the candidates are in it, as in a whole offer; a slow server's follow.
 */
export const TRICKLE_GRACE_MS = 150;

/** Bounds on what a peer may trickle into one link. */
export const TRICKLE_LIMITS = {
  /** Remote candidates per link (a host, a server-reflexive and a relay address per interface fit). */
  candidates: 32,
  /** Characters in one candidate line. */
  length: 256,
  /** Longest wait of a `trickle` call that sends nothing, for the host's next candidates (ms). */
  pollMs: 2000,
  /** `trickle` calls of one link waiting at once. */
  waiting: 2,
} as const;

/** The text marking the end of a side's candidates. */
export const END_OF_CANDIDATES = '';

/** The candidates trickled each way on a peer connection, for messages (peer.ts `explain`). */
const trickledOn = new WeakMap<IcePeer, { local: string[]; remote: string[] }>();

/** The candidates trickled each way on `peer` so far (none for a whole offer and answer). */
export function trickledOf(peer: IcePeer): { local: string[]; remote: string[] } {
  let t = trickledOn.get(peer);
  if (t === undefined) trickledOn.set(peer, (t = { local: [], remote: [] }));
  return t;
}

/** A peer's gathered candidates that the other side has not fetched yet. */
export class Outbox {
  private queue: string[] = [];
  private ended = false;
  private endSent = false;
  private readonly waiters = new Set<() => void>();
  private readonly off: Unsubscribe;

  constructor(private readonly peer: IcePeer) {
    this.off = peer.onCandidate((c) => {
      if (c === null) this.ended = true;
      else this.queue.push(c);
      for (const w of [...this.waiters]) w();
    });
  }

  /** Callers waiting in {@link take} now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** True once every candidate and the end were taken. */
  get drained(): boolean {
    return this.endSent;
  }

  /**
   * The candidates gathered since the last take (those already in the description sent are left out),
   * waiting up to `waitMs` for one when there is none; {@link END_OF_CANDIDATES} last once gathering ended.
   */
  async take(waitMs: number): Promise<string[]> {
    if (this.queue.length === 0 && !this.ended && waitMs > 0) {
      let wake!: () => void;
      const woken = new Promise<void>((r) => (wake = r));
      this.waiters.add(wake);
      const timer = setTimeout(wake, waitMs);
      await woken;
      clearTimeout(timer);
      this.waiters.delete(wake);
    }
    const sent = this.peer.localSdp ?? '';
    const out = this.queue.splice(0).filter((c) => !sent.includes(c));
    trickledOf(this.peer).local.push(...out);
    if (this.ended && !this.endSent) {
      this.endSent = true;
      out.push(END_OF_CANDIDATES);
    }
    return out;
  }

  close(): void {
    this.off();
    this.ended = true;
    for (const w of [...this.waiters]) w();
  }
}

/** Counts and checks the candidates a peer trickles into one link. */
export class Inbox {
  private count = 0;
  /** True once the peer said it has no more. */
  ended = false;

  constructor(private readonly peer: IcePeer) {}

  /**
   * Adds the peer's candidates to the connection.
   * @throws when there are more than {@link TRICKLE_LIMITS} allow, or one is not a candidate line
   */
  async add(candidates: string[]): Promise<void> {
    if (this.count + candidates.length > TRICKLE_LIMITS.candidates + 1)
      throw new Error(`too many candidates for one link (at most ${TRICKLE_LIMITS.candidates})`);
    for (const c of candidates) {
      this.count++;
      if (c === END_OF_CANDIDATES) {
        this.ended = true;
        continue;
      }
      if (c.length > TRICKLE_LIMITS.length || !/^candidate:[\w .:+/-]+$/.test(c) || parseCandidate(c) === undefined)
        throw new Error(`not a candidate line of at most ${TRICKLE_LIMITS.length} characters: ${c.slice(0, 80)}`);
      trickledOf(this.peer).remote.push(c);
      await this.peer.addRemoteCandidate(c);
    }
  }
}

/**
 * The opening side's half (its outbox made before its offer, so that no candidate is missed): pushes its candidates through `exchange` as they are gathered and
 * applies what comes back, and long-polls for the other side's, until both lists ended or `stop` says so.
 * Errors of the exchange end the trickle (the checks go on with what was exchanged); never throws.
 */
export async function trickleWith(
  outbox: Outbox,
  inbox: Inbox,
  exchange: (candidates: string[]) => Promise<string[]>,
  stopped: () => boolean,
): Promise<void> {
  const apply = async (theirs: string[]) => {
    if (!stopped()) await inbox.add(theirs);
  };
  const push = async () => {
    while (!stopped() && !outbox.drained) {
      const mine = await outbox.take(500);
      if (mine.length > 0) await apply(await exchange(mine));
    }
  };
  const pull = async () => {
    while (!stopped() && !inbox.ended) await apply(await exchange([]));
  };
  try {
    await Promise.all([push(), pull()]);
  } catch {
    // the pairs exchanged so far are still checked; the link's own timeout says when nothing works
  } finally {
    outbox.close();
  }
}
