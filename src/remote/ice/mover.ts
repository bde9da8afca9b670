/**
 * The opening side of a resumable link (resume.ts): its streams, and its move to a new path. When the
 * path breaks (ICE says `disconnected` or `failed`, or a stream has not heard from the peer for
 * `pathTimeoutMs` although the peer counts every second), the link restarts ICE: a new peer connection
 * under the same link id, offered through the signaling service's `move` with the link's key (restarts.ts); each stream then resumes
 * on a fresh DataChannel of it, resending what the peer did not get. Listeners hear the new path and
 * why it moved; when no new path works within the resume deadline, the link is declared dead.
 */
import type { AnyProxy } from '../../object/index.js';
import type { DataChannelLike } from './duplex.js';
import type { CandidateInfo, IcePath } from './path.js';
import { channelOpen, openChannel, selectedPath, setRemote, within } from './peer.js';
import { ResumableChannel, firstMessage, resumeLimits, type ResumeOptions } from './resume.js';
import { KEY_REFUSED } from './restarts.js';
import type { IcePeer } from './stack.js';

/** A link's move to a new path. */
export interface LinkMove {
  /** The new path and its selected pair. */
  path: IcePath;
  local: CandidateInfo;
  remote: CandidateInfo;
  /** Why the link moved: what said that the old path broke. */
  reason: string;
  /** Milliseconds from the break being noticed to the streams running again. */
  ms: number;
}

/** What a {@link LinkMover} is given. */
export interface MoverOptions {
  resume?: ResumeOptions;
  /** Silence from the peer after which the path counts as broken (default 5000 ms). */
  pathTimeoutMs?: number;
  /** Longest wait for gathering in a restart's offer (default 3000 ms). */
  gatherTimeoutMs?: number;
}

/** See the module comment. */
export class LinkMover {
  private readonly streams = new Set<ResumableChannel>();
  private next = 0;
  private moving: Promise<void> | undefined;
  private closed = false;
  private readonly ticker: NodeJS.Timeout;
  private readonly listeners: ((m: LinkMove) => void)[] = [];
  /** Restarts that worked. */
  moves = 0;
  /** The key the host gave with its first answer: only its holder can move the link (never printed). */
  readonly #key: string;

  constructor(
    private readonly id: string,
    key: string,
    /** The peer connection in use (replaced by each move). */
    public pc: IcePeer,
    private readonly signaling: AnyProxy,
    private readonly newPeer: () => IcePeer,
    private readonly options: MoverOptions,
    /** Called once when the link cannot go on. */
    private readonly onDead: (error: Error) => void,
  ) {
    this.#key = key;
    this.watch(pc);
    const silence = options.pathTimeoutMs ?? 5000;
    this.ticker = setInterval(() => {
      const now = Date.now();
      for (const s of this.streams)
        if (now - s.heardAt > silence) return this.lost(`nothing heard from the peer for ${silence} ms`);
    }, 500);
    this.ticker.unref();
  }

  /** Called with each move. */
  onMove(listener: (m: LinkMove) => void): void {
    this.listeners.push(listener);
  }

  /** A new stream over `first` (the channel made before the offer) or a fresh channel. */
  async openStream(first?: DataChannelLike): Promise<DataChannelLike> {
    if (this.moving !== undefined) await this.moving;
    const channel = first ?? (await openChannel(this.pc));
    const stream = new ResumableChannel(String(this.next++), this.options.resume ?? {}, () =>
      this.lost('a DataChannel closed'),
    );
    channel.sendText(`o${stream.id}`);
    stream.attach(channel, 0);
    this.streams.add(stream);
    stream.onStateChange((s) => s === 'closed' && this.streams.delete(stream));
    return stream;
  }

  private watch(pc: IcePeer): void {
    pc.onState((s) => {
      if (pc === this.pc && (s === 'failed' || s === 'disconnected')) this.lost(`ICE ${s}`);
    });
  }

  /** The path broke: move, once at a time. */
  private lost(why: string): void {
    if (this.closed || this.moving !== undefined) return;
    this.moving = this.move(why).finally(() => (this.moving = undefined));
  }

  private async move(why: string): Promise<void> {
    const started = Date.now();
    const { resumeMs } = resumeLimits(this.options.resume);
    let last: Error | undefined;
    let pause = 500; // doubled after each failed try, up to 4 s: a host that refuses (rate limit) is not pressed
    while (!this.closed && Date.now() - started < resumeMs) {
      try {
        const sel = await this.restart(resumeMs - (Date.now() - started));
        this.moves++;
        const move = { ...sel, reason: why, ms: Date.now() - started };
        for (const l of this.listeners) l(move);
        return;
      } catch (e) {
        last = e as Error;
        // The host no longer has the link (it closed it, or restarted): no retry can help.
        if (last.message.includes(KEY_REFUSED)) break;
        await new Promise((r) => setTimeout(r, Math.min(pause, resumeMs - (Date.now() - started))));
        pause = Math.min(pause * 2, 4000);
      }
    }
    if (!this.closed)
      this.onDead(
        new Error(
          `the link's path broke (${why}) and no new path worked within ${resumeMs} ms (${last?.message ?? 'closed'}); open a new link`,
        ),
      );
  }

  /** One ICE restart: a new peer connection, then every stream resumed on it. */
  private async restart(budgetMs: number): Promise<{ path: IcePath; local: CandidateInfo; remote: CandidateInfo }> {
    const ms = Math.max(1000, Math.min(10_000, budgetMs));
    const old = this.pc;
    const pc = this.newPeer();
    try {
      const first = pc.createChannel();
      const offer = await pc.describe('offer', this.options.gatherTimeoutMs ?? 3000);
      const answer = (await within(
        this.signaling.move(this.id, this.#key, offer, { timeoutMs: ms }),
        ms,
        `restart got no answer within ${ms} ms`,
      )) as string;
      await setRemote(pc, 'answer', answer, ms);
      await channelOpen(pc, first, ms);
      this.pc = pc;
      this.watch(pc);
      await old.close();
      let spare: DataChannelLike | undefined = first;
      for (const stream of [...this.streams]) {
        const channel = spare ?? (await openChannel(pc));
        spare = undefined;
        channel.sendText(`r${stream.id}:${stream.count}`);
        const counted = await firstMessage(channel, ms);
        const n = typeof counted === 'string' ? Number(counted.slice(1)) : NaN;
        if (!Number.isSafeInteger(n)) throw new Error('the peer did not count the resumed stream');
        stream.attach(channel, n);
      }
      spare?.close();
      const sel = selectedPath(pc);
      if (sel === undefined) throw new Error('connected, but no selected candidate pair');
      return sel;
    } catch (e) {
      if (this.pc !== pc) await pc.close();
      throw e;
    }
  }

  /** Asks the host to close the link (its key proves that we opened it). */
  async release(timeoutMs: number): Promise<void> {
    await this.signaling.release(this.id, this.#key, { timeoutMs });
  }

  /** Stops watching; the streams close with their sessions (saying `why`, when the link broke). */
  close(why?: string): void {
    this.closed = true;
    clearInterval(this.ticker);
    for (const s of this.streams) s.close(why);
  }
}
