/**
 * When the messages a process forwards (a gateway relaying calls and answers) leave: at the end of the
 * tick that read them, in one write (batching), or every few hundred bytes while the tick goes on
 * (cut-through), so that the next process on the path starts on the first messages of a burst while this
 * one still works on the rest.
 *
 * Batching costs the fewest writes; but with calls in flight, client, gateway and service then take turns
 * on each burst, and the gateway's whole time per burst adds to every call. Cut-through overlaps them
 * (`npm run bench:gateway`, 64 calls in flight on 2 cores: 62–68% of the direct rate batching, 79–88% cut
 * through) at the price of more writes (gateway CPU per call x1.3–1.5). So it runs only while the process
 * has time to spare: the event loop's utilisation, sampled every {@link SAMPLE_MS}, turns it off above
 * {@link BUSY} (a loaded gateway serving many clients keeps the cheaper batching) and on again below {@link IDLE}.
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
/** Below this utilisation, they are cut through again. */
export const IDLE = 0.6;

/** The default of `cutThroughBytes`: `QI_CUT_THROUGH_BYTES`, else 256; 0 = always batch. */
export function defaultCutThroughBytes(): number {
  return envNumber('QI_CUT_THROUGH_BYTES', 256, { zero: true, integer: true });
}

/** The next state of the policy from the utilisation just measured (`on`: cutting through now). */
export function nextCutThrough(on: boolean, utilization: number): boolean {
  return on ? utilization <= BUSY : utilization < IDLE;
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

  /** Starts cutting through every `bytes` (0: never) while the process has time; returns the release. */
  hold(bytes: number): () => void {
    this.holders++;
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
      this.apply();
    };
  }

  private sample(): void {
    const now = perf().eventLoopUtilization();
    const delta = perf().eventLoopUtilization(now, this.last);
    this.last = now;
    this.on = nextCutThrough(this.on, delta.utilization);
    this.apply();
  }

  private apply(): void {
    this.bytes = this.on ? this.configured : 0;
  }
}

/** The one forwarding policy of this process. */
export const cutThrough = new CutThrough();
