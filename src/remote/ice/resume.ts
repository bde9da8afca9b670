/**
 * Streams that outlive their DataChannel, so that a qi connection survives a link's move to a new
 * path (ICE restart: a new peer connection under the same link id). Both ends are this library, and a
 * DataChannel keeps message boundaries: each side counts the binary messages it received and says so
 * in text messages (`a<count>`, at least every second, which doubles as a keepalive); the sender keeps
 * each message until it is counted (the replay buffer, bounded). When the channel dies, writes wait;
 * on a fresh channel the opener names the stream (`r<stream>:<received>`), the acceptor answers with
 * its own count (`r<received>`), and each side resends what the other did not get. A stream opens with
 * `o<stream>`. Writers are held back (the stream reports a full queue) while more than half the replay
 * limit waits to be counted, so one large message never fills it; past the limit itself, or when no
 * fresh channel comes within the resume deadline, the stream closes (its session sees the connection end).
 */
import type { DataChannelLike, Unsubscribe } from './duplex.js';
import { envNumber } from '../../config/env.js';

/** Limits of resumable streams. */
export interface ResumeOptions {
  /** Bytes sent but not yet counted by the peer that a stream keeps for replay (default 8 MiB, env `QI_ICE_REPLAY_BYTES`). */
  replayBytes?: number;
  /** Longest wait for a fresh channel after one dies (default 20,000 ms, env `QI_ICE_RESUME_MS`). */
  resumeMs?: number;
}

/** The limits in force: options, else the environment, else the defaults. */
export function resumeLimits(o: ResumeOptions = {}): Required<ResumeOptions> {
  const env = (name: string, d: number) => envNumber(name, d);
  return {
    replayBytes: o.replayBytes ?? env('QI_ICE_REPLAY_BYTES', 8 * 1024 * 1024),
    resumeMs: o.resumeMs ?? env('QI_ICE_RESUME_MS', 20_000),
  };
}

/** How often the count goes back at the least (ms): also the keepalive a link watches. */
export const ACK_MS = 1000;

/** The count goes back at once after this many messages (a few hundred KiB at the usual 64 KiB chunk). */
const ACK_EVERY = 8;

class Fanout<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();
  add(h: (...args: A) => void): Unsubscribe {
    this.set.add(h);
    return () => this.set.delete(h);
  }
  emit(...args: A): void {
    for (const h of [...this.set]) h(...args);
  }
}

/** A stream over a succession of DataChannels; see the module comment. */
export class ResumableChannel implements DataChannelLike {
  private channel: DataChannelLike | undefined;
  private subs: Unsubscribe[] = [];
  private state: 'open' | 'closed' = 'open';
  private received = 0;
  private ackedByPeer = 0;
  private lastAckSent = 0;
  private readonly replay: Buffer[] = [];
  private replayBytes = 0;
  private readonly messages = new Fanout<[Buffer | string]>();
  private readonly lows = new Fanout<[]>();
  private readonly states = new Fanout<[string]>();
  private readonly limits: Required<ResumeOptions>;
  private readonly ticker: NodeJS.Timeout;
  private deadline: NodeJS.Timeout | undefined;
  private low = 0;
  /** When the peer was last heard from (ms since the epoch). */
  heardAt = Date.now();
  /** Why the stream closed, when it did not close by itself. */
  why: string | undefined;

  constructor(
    readonly id: string,
    options: ResumeOptions,
    private readonly onDetached: (stream: ResumableChannel) => void = () => {},
  ) {
    this.limits = resumeLimits(options);
    this.ticker = setInterval(() => this.ack(true), ACK_MS);
    this.ticker.unref();
  }

  /** The peer's count of our messages, to give it in the resume handshake. */
  get count(): number {
    return this.received;
  }

  /**
   * Carries the stream on `channel` from now on: drops what the peer has (`peerReceived`), resends the
   * rest in order.
   */
  attach(channel: DataChannelLike, peerReceived: number): void {
    if (this.state === 'closed') return channel.close();
    this.detach();
    clearTimeout(this.deadline);
    this.deadline = undefined;
    this.counted(peerReceived);
    this.channel = channel;
    this.heardAt = Date.now();
    this.subs = [
      channel.onMessage((m) => this.onData(m)),
      channel.onBufferedAmountLow(() => this.lows.emit()),
      channel.onStateChange((s) => s === 'closed' && this.lost()),
    ];
    channel.setBufferedAmountLowThreshold(this.low);
    if (channel.readyState !== 'open') return this.lost();
    try {
      for (const m of this.replay) channel.send(m);
    } catch {
      return this.lost();
    }
    this.lows.emit();
  }

  private detach(): void {
    for (const off of this.subs.splice(0)) off();
    this.channel = undefined;
  }

  /** The channel died: writes wait for the next one, within the resume deadline. */
  private lost(): void {
    const ch = this.channel;
    this.detach();
    try {
      ch?.close();
    } catch {
      // already gone
    }
    if (this.state === 'closed' || this.deadline !== undefined) return;
    this.deadline = setTimeout(
      () => this.fail(`no new path within ${this.limits.resumeMs} ms (QI_ICE_RESUME_MS)`),
      this.limits.resumeMs,
    );
    this.onDetached(this);
  }

  private onData(m: Buffer | string): void {
    this.heardAt = Date.now();
    if (typeof m !== 'string') {
      this.received++;
      this.messages.emit(m);
      if (this.received - this.lastAckSent >= ACK_EVERY) this.ack(false);
      return;
    }
    if (m.startsWith('a')) this.counted(Number(m.slice(1)));
  }

  /** The peer has our first `n` messages: they leave the replay buffer. */
  private counted(n: number): void {
    if (!Number.isSafeInteger(n) || n <= this.ackedByPeer) return;
    const held = this.held;
    let drop = Math.min(n - this.ackedByPeer, this.replay.length);
    this.ackedByPeer += drop;
    while (drop-- > 0) this.replayBytes -= this.replay.shift()!.length;
    if (held && !this.held) this.lows.emit();
  }

  /** Writers wait: more than half the replay limit is not yet counted by the peer. */
  private get held(): boolean {
    return this.replayBytes > this.limits.replayBytes / 2;
  }

  private ack(tick: boolean): void {
    if (this.channel?.readyState !== 'open') return;
    if (!tick && this.received === this.lastAckSent) return;
    this.lastAckSent = this.received;
    try {
      this.channel.sendText(`a${this.received}`);
    } catch {
      // the channel is going: the next one resumes
    }
  }

  private fail(why: string): void {
    if (this.state === 'closed') return;
    this.why = why;
    this.close();
  }

  get readyState(): string {
    return this.state;
  }
  get bufferedAmount(): number {
    // Without a channel, writes wait for one; with too much not yet counted, for the peer's count.
    return this.channel === undefined || this.held ? Number.MAX_SAFE_INTEGER : this.channel.bufferedAmount;
  }
  get maxMessageSize(): number {
    return this.channel?.maxMessageSize ?? 64 * 1024;
  }
  setBufferedAmountLowThreshold(bytes: number): void {
    this.low = bytes;
    this.channel?.setBufferedAmountLowThreshold(bytes);
  }
  send(data: Buffer): void {
    if (this.state !== 'open') throw new Error('the DataChannel is closed');
    this.replay.push(data);
    this.replayBytes += data.length;
    if (this.replayBytes > this.limits.replayBytes) {
      this.fail(`more than ${this.limits.replayBytes} bytes unacknowledged (QI_ICE_REPLAY_BYTES)`);
      throw new Error(this.why);
    }
    if (this.channel?.readyState === 'open') this.channel.send(data);
  }
  sendText(): void {
    throw new Error('a resumable stream carries binary messages only');
  }
  /** Closes the stream; `why`, when given, says what closed it (read as {@link why}). */
  close(why?: string): void {
    if (this.state === 'closed') return;
    this.why ??= why;
    this.state = 'closed';
    clearInterval(this.ticker);
    clearTimeout(this.deadline);
    const ch = this.channel;
    this.detach();
    try {
      ch?.close();
    } catch {
      // already gone
    }
    this.replay.length = 0;
    this.states.emit('closed');
    this.lows.emit();
  }
  onMessage(handler: (data: Buffer | string) => void): Unsubscribe {
    return this.messages.add(handler);
  }
  onBufferedAmountLow(handler: () => void): Unsubscribe {
    return this.lows.add(handler);
  }
  onStateChange(handler: (state: string) => void): Unsubscribe {
    return this.states.add(handler);
  }
}

/** The first message of a channel on a resumable link: a new stream, or one resumed. */
export type Hello = { kind: 'open'; stream: string } | { kind: 'resume'; stream: string; received: number };

/** Reads a channel's first message (text); undefined when it is not a hello. */
export function parseHello(m: Buffer | string): Hello | undefined {
  if (typeof m !== 'string' || m.length > 80) return undefined;
  let r = /^o([\w-]{1,40})$/.exec(m);
  if (r) return { kind: 'open', stream: r[1] };
  r = /^r([\w-]{1,40}):(\d{1,15})$/.exec(m);
  return r ? { kind: 'resume', stream: r[1], received: Number(r[2]) } : undefined;
}

/** Waits for `channel`'s first message, then hands the channel over (its later messages go to the next listener). */
export function firstMessage(channel: DataChannelLike, timeoutMs: number): Promise<Buffer | string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(() => reject(new Error('no hello on the channel'))), timeoutMs);
    const offs: Unsubscribe[] = [];
    let settled = false;
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const off of offs) off();
      f();
    };
    offs.push(channel.onMessage((m) => done(() => resolve(m))));
    offs.push(channel.onStateChange((s) => s === 'closed' && done(() => reject(new Error('the channel closed')))));
  });
}

/** A hello as text. */
export function helloText(h: Hello): string {
  return h.kind === 'open' ? `o${h.stream}` : `r${h.stream}:${h.received}`;
}
