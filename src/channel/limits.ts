/**
 * Limits of one connection, so that a peer (or the network) cannot make us wait or grow forever:
 * how many of our calls may wait for answers, how many of the peer's calls may run here at once, how
 * much may queue up for a peer that does not read, and how long a silent peer is trusted.
 *
 * Every limit has an option and an environment variable; the defaults are generous for a robot.
 */
import { envNumber } from '../config/env.js';

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

/** The limits in effect: options first, then the environment, then the defaults. */
export function resolveLimits(l: ChannelLimits = {}): Required<ChannelLimits> {
  return {
    maxPendingCalls: l.maxPendingCalls ?? envNumber('QI_MAX_PENDING_CALLS', 100_000, { zero: true }),
    maxIncomingCalls: l.maxIncomingCalls ?? envNumber('QI_MAX_INCOMING_CALLS', 10_000, { zero: true }),
    maxQueueBytes: l.maxQueueBytes ?? envNumber('QI_MAX_QUEUE_BYTES', 64 * 1024 * 1024, { zero: true }),
    slowPeer: l.slowPeer ?? 'drop-signals',
    heartbeatMs: l.heartbeatMs ?? envNumber('QI_HEARTBEAT_MS', 15_000, { zero: true }),
  };
}
