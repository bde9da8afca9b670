/**
 * The heartbeat of connections we opened: a peer silent for too long is asked for a sign of life, and
 * one that does not give it is taken for gone (see `limits.heartbeatMs`). Silent means no byte moved
 * either way: a peer in the middle of sending us a large message, or taking one from us over a slow link,
 * is alive although no whole message arrives (the probe's answer waits behind the large message).
 */
import { MessageType } from '../message/index.js';
import type { Channel } from './channel.js';
import { QiTimeoutError } from './errors.js';

const EMPTY_MAP = Buffer.alloc(4); // an empty {sm}: a count of 0

/**
 * Asks the peer for a sign of life: a repeated authenticate call (service 0, action 8), which libqi 4
 * answers with state Done and NAOqi 2.1 with an error; any answer will do.
 */
export function probe(channel: Channel, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let id = 0;
    const timer = setTimeout(() => {
      channel.raw.drop(id); // never canceled: the server object has nothing to cancel
      reject(new Error('no answer'));
    }, timeoutMs);
    timer.unref();
    id = channel.raw.forward({ service: 0, object: 0, action: 8 }, MessageType.Call, 0, EMPTY_MAP, (answer) => {
      clearTimeout(timer);
      if (answer !== undefined) resolve();
      else reject(new Error('closed'));
    });
  });
}

/**
 * Starts the heartbeat of a connection we opened, every `channel.limits.heartbeatMs`, watching the
 * stream's byte-level progress. A peer found gone is disconnected with a {@link QiTimeoutError}.
 */
export function startHeartbeat(channel: Channel): Heartbeat {
  return new Heartbeat(
    channel.limits.heartbeatMs,
    () => channel.stream.progress,
    (ms) => probe(channel, ms),
    (ms) =>
      channel.stream.destroy(
        new QiTimeoutError(
          `${channel.remote} stopped answering: nothing received for ${ms} ms (no byte either way), not even an answer to a keep-alive probe. The network may be down or the peer frozen; on a slow link where a large message takes longer, raise the heartbeat (limits.heartbeatMs or QI_HEARTBEAT_MS; 0 turns it off).`,
        ),
      ),
  );
}

/**
 * Watches a connection for silence. `activity()` is a count that moves while the peer shows signs of
 * life (a counter is cheaper than a clock on every message); when it has not moved for `ms`, `probe` is called and must resolve when the
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
