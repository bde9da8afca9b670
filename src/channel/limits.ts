/**
 * Limits of one connection, so that a peer (or the network) cannot make us wait or grow forever:
 * how many of our calls may wait for answers, how many of the peer's calls may run here at once, how
 * much may queue up for a peer that does not read, and how long a silent peer is trusted.
 *
 * Every limit has an option and an environment variable; the defaults are generous for a robot.
 */
import { MessageType } from '../message/index.js';
import type { Channel } from './channel.js';

/** Limits of a connection; see each field for its default and environment variable. */
export interface ChannelLimits {
  /** Our calls awaiting an answer on this connection; more are refused at once (default 100,000; `QI_MAX_PENDING_CALLS`). */
  maxPendingCalls?: number;
  /** The peer's calls running here at once; more get an error at once (default 10,000; `QI_MAX_INCOMING_CALLS`). */
  maxIncomingCalls?: number;
  /** Bytes queued for a peer that does not read, beyond which its signals are dropped or it is disconnected (default 64 MiB; `QI_MAX_QUEUE_BYTES`; 8 MiB on a gateway's outside connections). */
  maxQueueBytes?: number;
  /** What to do with a peer over `maxQueueBytes`: drop the signals sent to it (default), or disconnect it. Answers are never dropped; at 4× the bound the peer is disconnected either way. */
  slowPeer?: 'drop-signals' | 'disconnect';
  /**
   * On connections we opened: after this many ms without a byte from the peer, ask it for a sign of
   * life (a repeated authenticate call, which every libqi answers); no answer within as long again
   * means it is gone, and the connection closes with an error (default 15,000; `QI_HEARTBEAT_MS`; 0 turns it off).
   */
  heartbeatMs?: number;
}

function env(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(v) && v >= 0 ? v : fallback;
}

/** The limits in effect: options first, then the environment, then the defaults. */
export function resolveLimits(l: ChannelLimits = {}): Required<ChannelLimits> {
  return {
    maxPendingCalls: l.maxPendingCalls ?? env('QI_MAX_PENDING_CALLS', 100_000),
    maxIncomingCalls: l.maxIncomingCalls ?? env('QI_MAX_INCOMING_CALLS', 10_000),
    maxQueueBytes: l.maxQueueBytes ?? env('QI_MAX_QUEUE_BYTES', 64 * 1024 * 1024),
    slowPeer: l.slowPeer ?? 'drop-signals',
    heartbeatMs: l.heartbeatMs ?? env('QI_HEARTBEAT_MS', 15_000),
  };
}

const EMPTY_MAP = Buffer.alloc(4); // an empty {sm}: a count of 0

/**
 * Asks the peer for a sign of life: a repeated authenticate call (service 0, action 8), which libqi 4
 * answers with state Done and NAOqi 2.1 with an error; any answer will do.
 */
export function probe(channel: Channel, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let id = 0;
    const timer = setTimeout(() => {
      channel.dropForwarded(id); // never canceled: the server object has nothing to cancel
      reject(new Error('no answer'));
    }, timeoutMs);
    timer.unref();
    id = channel.forward({ service: 0, object: 0, action: 8 }, MessageType.Call, 0, EMPTY_MAP, (answer) => {
      clearTimeout(timer);
      if (answer !== undefined) resolve();
      else reject(new Error('closed'));
    });
  });
}

/**
 * Watches a connection for silence. `activity()` counts messages received (a counter is cheaper than a
 * clock on every message); when it has not moved for `ms`, `probe` is called and must resolve when the
 * peer answers; no answer within `ms` more calls `dead`.
 */
export class Heartbeat {
  private seen = -1;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ms: number,
    private readonly activity: () => number,
    private readonly probe: (timeoutMs: number) => Promise<unknown>,
    private readonly dead: (silentMs: number) => void,
  ) {
    if (ms > 0) this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.ms);
    this.timer.unref(); // a heartbeat never keeps a process alive on its own
  }

  private tick(): void {
    const now = this.activity();
    if (now !== this.seen) {
      this.seen = now;
      return this.arm();
    }
    this.probe(this.ms).then(
      () => this.arm(),
      () => {
        if (this.stopped) return;
        if (this.activity() !== now) return this.arm(); // something came meanwhile: alive after all
        this.dead(2 * this.ms);
      },
    );
  }

  /** Stops watching. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}
