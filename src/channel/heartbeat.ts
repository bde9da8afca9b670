/**
 * The heartbeat of connections we opened: a peer silent for too long is asked for a sign of life, and
 * one that does not give it is taken for gone (see `limits.heartbeatMs`). Silent means no byte moved
 * either way: a peer in the middle of sending us a large message, or taking one from us over a slow link,
 * is alive although no whole message arrives (the probe's answer waits behind the large message).
 */
import { MessageType } from '../message/index.js';
import { kernelTcp, type TcpEnds } from '../transport/index.js';
import type { Channel } from './channel.js';
import { QiTimeoutError } from './errors.js';

const EMPTY_MAP = Buffer.alloc(4); // an empty {sm}: a count of 0
/**
 * Retransmission timeouts in a row, without an acknowledgement, after which a peer is taken for gone while
 * our calls wait: the kernel's wait doubles each time from at least 200 ms, so about 3 s on a local
 * network. A peer that is alive but busy still acknowledges (its kernel does): only a vanished address, a
 * dead host or a cut network gets here.
 */
const STALL_RETRANSMITS = 4;
/** How often the kernel is asked, while calls wait and nothing moves. */
const STALL_CHECK_MS = 1000;

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
  const end = (text: string) => channel.stream.destroy(new QiTimeoutError(text));
  return new Heartbeat(
    channel.limits.heartbeatMs,
    () => channel.stream.progress,
    (ms) => probe(channel, ms),
    (ms) =>
      end(
        `${channel.remote} stopped answering: nothing received for ${ms} ms (no byte either way), not even an answer to a keep-alive probe. The network may be down or the peer frozen; on a slow link where a large message takes longer, raise the heartbeat (limits.heartbeatMs or QI_HEARTBEAT_MS; 0 turns it off).${viaXmpp(channel.remote)}`,
      ),
    {
      everyMs: Math.min(STALL_CHECK_MS, channel.limits.heartbeatMs),
      busy: () => channel.pendingCalls > 0,
      gone: () => stallEvidence(channel.stream.socket as TcpEnds),
      dead: (why) =>
        end(
          `${channel.remote} stopped acknowledging what we send: ${why}, while calls waited. The peer's address went away (the network changed), or the network or the peer's machine is down; calls fail now instead of after the heartbeat.`,
        ),
    },
  );
}

/** Through an XMPP server, its rate limit is a likely cause of silence: what to raise there. */
const viaXmpp = (remote: string) =>
  remote.startsWith('xmpp:')
    ? " Through XMPP, the server's rate limit may hold the bytes back: raise Prosody's mod_limits rate or ejabberd's shaper for this account (docs/remote.md)."
    : '';

/** Peer addresses found gone by {@link stallEvidence} lately, and when: other connections to them need less proof. */
const goneAddresses = new Map<string, number>();
const GONE_MEMORY_MS = 10_000;

/**
 * Why the peer of `socket` is gone, from what the kernel says: our bytes resent {@link STALL_RETRANSMITS}
 * times in a row without an acknowledgement; or resent once when another connection to the same address
 * was found gone lately (an SD connection and a service connection to a robot whose address went away).
 */
function stallEvidence(socket: TcpEnds): string | undefined {
  const k = kernelTcp(socket);
  const address = socket.remoteAddress;
  if (k === undefined || address === undefined || k.queued === 0 || k.retransmits === 0) return undefined;
  const now = Date.now();
  if (k.retransmits >= STALL_RETRANSMITS) {
    for (const [a, at] of goneAddresses) if (now - at > GONE_MEMORY_MS) goneAddresses.delete(a);
    goneAddresses.set(address, now);
    return `the system resent it ${k.retransmits} times in a row without an answer`;
  }
  const at = goneAddresses.get(address);
  if (at !== undefined && now - at <= GONE_MEMORY_MS)
    return `another connection to ${address} found it gone ${now - at} ms ago, and this one has no answer either`;
  return undefined;
}

/**
 * A quicker check while calls wait (see {@link Heartbeat}): asked every `everyMs` while `busy()` and
 * nothing moved since the last time; `gone()` returns evidence that the peer is gone (what the transport
 * can tell, e.g. the kernel's retransmissions), undefined when it has none.
 */
export interface StallCheck<T> {
  everyMs: number;
  busy(): boolean;
  gone(): T | undefined;
  dead(evidence: T): void;
}

/**
 * Watches a connection for silence. `activity()` is a count that moves while the peer shows signs of
 * life (a counter is cheaper than a clock on every message); when it has not moved for `ms`, `probe` is
 * called and must resolve when the peer answers; no answer within `ms` more calls `dead`. With `stall`,
 * a quicker check runs while calls wait (see {@link StallCheck}).
 */
export class Heartbeat {
  private seen = -1;
  private timer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ms: number,
    private readonly activity: () => number,
    private readonly probe: (timeoutMs: number) => Promise<unknown>,
    private readonly dead: (silentMs: number) => void,
    stall?: StallCheck<unknown>,
  ) {
    if (ms <= 0) return;
    this.arm();
    if (stall !== undefined) this.watchStall(stall);
  }

  private watchStall<T>(stall: StallCheck<T>): void {
    let seen = -1;
    this.stallTimer = setInterval(() => {
      if (!stall.busy()) return void (seen = -1);
      const now = this.activity();
      if (now !== seen) return void (seen = now);
      const evidence = stall.gone();
      if (evidence === undefined) return;
      this.stop();
      stall.dead(evidence);
    }, stall.everyMs);
    this.stallTimer.unref();
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
    if (this.stallTimer !== undefined) clearInterval(this.stallTimer);
  }
}
