/**
 * When the messages a process forwards (a gateway relaying calls and answers) leave: at the end of the
 * tick that read them, in one write (batching), or every few hundred bytes while the tick goes on
 * (cut-through), so that the next process on the path starts on the first messages of a burst while this
 * one still works on the rest.
 *
 * Batching costs the fewest writes; but with calls in flight, client, gateway and service then take turns
 * on each burst, and the gateway's whole time per burst adds to every call. Cut-through overlaps them
 * (`npm run bench:gateway`, 64 calls in flight on 2 cores: 62–68% of the direct rate batching, 79–88% cut
 * through) at the price of more writes (gateway CPU per call x1.3–1.5), which a busy machine pays for. So it
 * runs only while there is time to spare, sampled every {@link SAMPLE_MS}: off when the event loop is busy
 * over {@link BUSY} of the time or the machine idle under {@link SPARE_OFF}, on again under {@link IDLE} with
 * {@link SPARE_ON} of the machine idle (a gateway serving many clients keeps the cheaper batching).
 * Streams cut through only on plain sockets (TCP, unix): elsewhere a write is also a TLS record, a WebSocket
 * frame or an XMPP stanza.
 */
import type { EventLoopUtilization, Performance as NodePerformance } from 'node:perf_hooks';
import { envNumber } from '../config/env.js';

/** Node's global `performance` (this module is also in the browser bundle, where nothing holds the policy). */
const perf = () => performance as unknown as NodePerformance;

/** How often the event loop's utilisation is read while a forwarder is running. */
export const SAMPLE_MS = 250;
/** Above this utilisation, forwarded messages are batched per tick. */
export const BUSY = 0.95;
/** Below this utilisation, they are cut through again (when the machine has {@link SPARE_ON} too). */
export const IDLE = 0.6;
/** With less of the machine's CPU time idle than this, forwarded messages are batched per tick. */
export const SPARE_OFF = 0.1;
/** With at least this much idle (and the loop under {@link IDLE}), they are cut through again. */
export const SPARE_ON = 0.35;

/** Share of the machine's CPU time idle since the previous call (0–1); undefined when unknown. */
export type IdleShare = () => number | undefined;

/**
 * The default of `cutThroughBytes`: `QI_CUT_THROUGH_BYTES`, else 0 (always batch). Off by default: with four
 * clients of 64 calls in flight on two cores, 256 took the gateway from 452–463k calls/s in all to 376–384k
 * in two rounds of three (equal in the third), although the policy below turns it off on a busy machine;
 * 256 suits a gateway with cores to spare and few, busy clients (one client: 62–68% → 70–83% of direct).
 */
export function defaultCutThroughBytes(): number {
  return envNumber('QI_CUT_THROUGH_BYTES', 0, { zero: true, integer: true });
}

/**
 * The next state of the policy (`on`: cutting through now) from this process's event-loop utilisation and
 * the machine's idle share just measured: a process that other processes keep from the CPU can look
 * unsaturated to itself, so the machine's idle time counts too (four clients of one gateway on two cores:
 * batching 452–459k calls/s in all, cutting through 278–368k).
 */
export function nextCutThrough(on: boolean, utilization: number, idle = 1): boolean {
  return on ? utilization <= BUSY && idle >= SPARE_OFF : utilization < IDLE && idle >= SPARE_ON;
}

/**
 * The process's forwarding policy: {@link bytes} is what {@link MessageStream.sendMessage} reads (0: batch).
 * Each forwarder (a gateway) holds it while it runs; the sampler stops with the last one.
 */
class CutThrough {
  /** Forwarded bytes queued in one tick after which they are written at once; 0 = at the tick's end. */
  bytes = 0;
  private holders = 0;
  private configured = 0;
  private on = true;
  private timer: NodeJS.Timeout | undefined;
  private last: EventLoopUtilization | undefined;

  private idleShare: IdleShare = () => undefined;

  /**
   * Starts cutting through every `bytes` (0: never) while the process and the machine (`idleShare`, read
   * at each sample) have time; returns the release.
   */
  hold(bytes: number, idleShare?: IdleShare): () => void {
    this.holders++;
    if (idleShare !== undefined) this.idleShare = idleShare;
    this.configured = Math.max(this.configured, bytes);
    this.apply();
    if (this.timer === undefined && this.configured > 0) {
      this.last = perf().eventLoopUtilization();
      this.timer = setInterval(() => this.sample(), SAMPLE_MS).unref();
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (--this.holders > 0) return;
      clearInterval(this.timer);
      this.timer = undefined;
      this.configured = 0;
      this.on = true;
      this.idleShare = () => undefined;
      this.apply();
    };
  }

  private sample(): void {
    const now = perf().eventLoopUtilization();
    const delta = perf().eventLoopUtilization(now, this.last);
    this.last = now;
    this.on = nextCutThrough(this.on, delta.utilization, this.idleShare());
    this.apply();
  }

  private apply(): void {
    this.bytes = this.on ? this.configured : 0;
  }
}

/** The one forwarding policy of this process. */
export const cutThrough = new CutThrough();
