/**
 * A lane: a second connection to the endpoint of a connection we opened, for small calls made while a
 * large message crosses the first one. The protocol sends each message whole and in order (no chunking),
 * so a small call made while 4 MiB leave over a 1 MiB/s link would wait 4 s behind them; on the lane, it
 * does not, and its answer comes back on the lane (a server answers on the connection a call came on),
 * which also covers a large answer coming in on the main connection.
 *
 * Only calls of a service's proxy go on the lane, and only small ones without an object among their
 * arguments (call-size.ts); signal subscriptions, posts, cancels of calls sent on the main connection and
 * objects received there stay on it, as libqi binds them to their socket. An object received on the lane
 * is bound to the lane, which then stays open as long as the main connection. At most one lane per
 * connection, opened on demand with the session's credentials and capabilities (dial.ts), closed when
 * idle; a lane that cannot be opened sends the call on the main connection, without an error.
 */
import type { Channel } from '../channel/index.js';
import { envNumber } from '../config/env.js';
import { plainlyLarge, roughSize } from './call-size.js';

/** Default of `SessionOptions.laneBytes`. */
export const LANE_BYTES = 64 * 1024;
/** A lane without calls for this long is closed. */
export const LANE_IDLE_MS = 10_000;

/** The lane threshold in effect: the option, else `QI_LANE_BYTES`, else {@link LANE_BYTES}; 0 turns lanes off. */
export function laneBytes(option: number | undefined): number {
  return option ?? envNumber('QI_LANE_BYTES', LANE_BYTES, { zero: true, integer: true });
}

/** The lane of one connection; see the module comment. `open` resolves undefined when no lane can be had. */
export class Lane {
  private lane: Channel | undefined;
  private opening: Promise<Channel | undefined> | undefined;
  private lastUse = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** An object was received or sent on the lane: it lives as long as the main connection. */
  private pinned = false;
  /** Large messages sent on the main connection and not answered yet (see {@link large}). */
  private inFlight = 0;

  constructor(
    private readonly main: Channel,
    /** Messages larger than this are large; smaller calls take the lane while a large one crosses. */
    readonly bytes: number,
    private readonly open: () => Promise<Channel | undefined>,
    private readonly idleMs = LANE_IDLE_MS,
  ) {
    main.onClose(() => this.close());
  }

  /** The lane, when one is open (for tests and diagnostics). */
  get channel(): Channel | undefined {
    return this.lane?.closed === false ? this.lane : undefined;
  }

  /**
   * Makes a call with `args` by `send`: on the main connection, unless it is busy with a large message
   * (see {@link heavy}) and the call is small; then on the lane, opened first if needed. A large call
   * keeps the main connection busy until its answer comes: its last bytes may still wait in buffers
   * along the way (a router's, a relay's) when the kernel has handed them on.
   */
  call(args: unknown[], send: (ch: Channel) => Promise<unknown>): Promise<unknown> {
    if (this.main.closed) return send(this.main);
    if (plainlyLarge(args, this.bytes)) {
      const done = this.large();
      const p = send(this.main);
      p.then(done, done);
      return p;
    }
    if (!this.heavy || roughSize(args, this.bytes) > this.bytes) return send(this.main);
    const ch = this.take();
    return ch instanceof Promise ? ch.then(send) : send(ch);
  }

  /**
   * Counts a large message in flight on the main connection until the function returned is called (its
   * answer came): small calls take the lane meanwhile.
   */
  large(): () => void {
    this.inFlight++;
    let once = false;
    return () => {
      if (once) return;
      once = true;
      this.inFlight--;
    };
  }

  /**
   * True while the main connection carries a large message, either way: a large call of ours not
   * answered yet, or a message coming in of which more than {@link bytes} have not arrived. (Bytes
   * queued for the peer are not the test: many small calls queued are the caller's own burst, which a
   * lane would only let past the peer's per-connection quotas.)
   */
  get heavy(): boolean {
    return this.inFlight > 0 || this.main.stream.receiving > this.bytes;
  }

  /**
   * As {@link call}, for a message already encoded (its payload's size is known, and it holds no object):
   * the lane, or undefined for the main connection. A large one is counted by {@link large} by the caller.
   */
  pickSize(payloadBytes: number): Channel | Promise<Channel> | undefined {
    if (this.main.closed || payloadBytes > this.bytes || !this.heavy) return undefined;
    return this.take();
  }

  private take(): Channel | Promise<Channel> {
    this.lastUse = Date.now();
    const open = this.channel;
    if (open !== undefined) return open;
    this.opening ??= this.start();
    return this.opening.then(
      (ch) => ch ?? this.main,
      () => this.main,
    );
  }

  private async start(): Promise<Channel | undefined> {
    try {
      const ch = await this.open();
      if (ch === undefined) return undefined;
      if (this.main.closed) {
        ch.close();
        return undefined;
      }
      this.adopt(ch);
      return ch;
    } finally {
      this.opening = undefined;
    }
  }

  private adopt(ch: Channel): void {
    this.lane = ch;
    this.pinned = false;
    const hooks = ch.objectHooks;
    if (hooks !== undefined)
      ch.objectHooks = {
        toReference: (value, service) => ((this.pinned = true), hooks.toReference(value, service)),
        fromReference: (ref) => ((this.pinned ||= !ref.isNull), hooks.fromReference(ref)),
      };
    ch.onClose(() => {
      if (this.lane === ch) this.lane = undefined;
    });
    this.armIdle();
  }

  private armIdle(): void {
    this.idleTimer = setTimeout(() => {
      const ch = this.lane;
      if (ch === undefined || ch.closed) return;
      if (this.pinned) return; // bound to objects that live on it: closes with the main connection
      if (ch.pendingCalls === 0 && Date.now() - this.lastUse >= this.idleMs) return ch.close();
      this.armIdle();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  /** Closes the lane (the main connection closed). */
  close(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    this.lane?.close();
    this.lane = undefined;
  }
}
