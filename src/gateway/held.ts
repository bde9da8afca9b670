/**
 * Objects that services returned to outside clients through the gateway. All clients share one upstream
 * connection per service, where object ids are sequential: an object is reachable only by the clients
 * that received it (in an answer, a signal or a property value), and anything else answers as a missing
 * object would. A service sees the gateway as the only holder of such an object, so the gateway counts
 * which clients hold it, passes a client's `terminate` on only when no other client still holds the
 * object, and terminates what a departing client held, so that clients that disconnect without
 * releasing their objects (a closed tablet page, a killed process) leave nothing behind in the services.
 * References are found by scanning the bytes ({@link scanReferences}), within a budget.
 */
import type { Channel } from '../channel/index.js';
import { MessageFlags, type Message } from '../message/index.js';
import { postTerminate } from '../object/index.js';
import { scanReferences, type CodecOptions, type ReferenceSite } from '../type/index.js';

const key = (service: number, object: number) => `${service}.${object}`;

/** Gateway-wide: how many clients hold each object, per upstream connection. */
export class HeldObjects {
  private readonly holders = new Map<Channel, Map<string, number>>();

  /** Counts one more client holding (service, object) on `upstream`. */
  hold(upstream: Channel, service: number, object: number): void {
    let m = this.holders.get(upstream);
    if (m === undefined) {
      this.holders.set(upstream, (m = new Map()));
      upstream.onClose(() => this.holders.delete(upstream));
    }
    const k = key(service, object);
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  /** One client released it; true when it was the last, and the service should be told (terminate). */
  release(upstream: Channel, service: number, object: number): boolean {
    const m = this.holders.get(upstream);
    const k = key(service, object);
    const n = m?.get(k);
    if (m === undefined || n === undefined) return true;
    if (n > 1) {
      m.set(k, n - 1);
      return false;
    }
    m.delete(k);
    return true;
  }

  /** True while some client holds (service, object) on `upstream`. */
  isHeld(upstream: Channel, service: number, object: number): boolean {
    return (this.holders.get(upstream)?.get(key(service, object)) ?? 0) > 0;
  }

  /** Objects held now, all connections together (for metrics and tests). */
  get size(): number {
    let n = 0;
    for (const m of this.holders.values()) n += m.size;
    return n;
  }
}

/** The objects one client may address (besides the main objects of services), and holds. */
export class ClientHeld {
  private readonly mine = new Map<string, { upstream: Channel; service: number; object: number }>();

  /** @param budget most work spent finding the references of one message (see {@link scanReferences}) */
  constructor(
    private readonly all: HeldObjects,
    private readonly budget: number,
  ) {}

  /** True when this client received (service, object) and did not release it since. */
  reaches(service: number, object: number): boolean {
    const h = this.mine.get(key(service, object));
    if (h === undefined) return false;
    if (!h.upstream.closed) return true;
    this.mine.delete(key(service, object)); // the service's connection is gone, and the object with it
    return false;
  }

  /**
   * Records the objects in an answer or a signal emission (of `signature`) that `upstream` sent to this
   * client: it may address them from now on, and holds them until it releases them or leaves.
   */
  received(upstream: Channel, signature: string, m: Message, options: CodecOptions): void {
    for (const r of referencesIn(signature, m, options, this.budget)) {
      const k = key(r.serviceId, r.objectId);
      const known = this.mine.get(k);
      if (known !== undefined && known.upstream === upstream) continue;
      this.mine.set(k, { upstream, service: r.serviceId, object: r.objectId });
      this.all.hold(upstream, r.serviceId, r.objectId);
    }
  }

  /**
   * The client terminated (service, object): false when another client still holds it, so the
   * terminate must not reach the service; true otherwise. The client no longer reaches it either way.
   */
  terminated(service: number, object: number): boolean {
    const h = this.mine.get(key(service, object));
    if (h === undefined) return true;
    this.mine.delete(key(service, object));
    return this.all.release(h.upstream, service, object);
  }

  /**
   * An answer that came back after the client went away (the call was on its way when it left): the
   * objects in it that no client holds are terminated in the service, which would serve them forever.
   */
  orphaned(
    upstream: Channel,
    signature: string,
    answer: Message,
    options: CodecOptions,
  ): Array<{ service: number; object: number }> {
    const gone = new Map<string, { service: number; object: number }>();
    for (const r of referencesIn(signature, answer, options, this.budget)) {
      const k = key(r.serviceId, r.objectId);
      if (gone.has(k) || this.all.isHeld(upstream, r.serviceId, r.objectId)) continue;
      gone.set(k, { service: r.serviceId, object: r.objectId });
    }
    if (upstream.closed) return [];
    for (const o of gone.values()) postTerminate(upstream, o);
    return [...gone.values()];
  }

  /** The client went away: what only it held is terminated in the services. */
  close(): Array<{ service: number; object: number }> {
    const gone: Array<{ service: number; object: number }> = [];
    for (const h of this.mine.values()) {
      if (this.all.release(h.upstream, h.service, h.object) && !h.upstream.closed) {
        postTerminate(h.upstream, h);
        gone.push(h);
      }
    }
    this.mine.clear();
    return gone;
  }
}

/** Scans of signal emissions, shared by the clients they are fanned out to (one scan per emission). */
const scanned = new WeakMap<Message, readonly ReferenceSite[]>();
const NONE: readonly ReferenceSite[] = [];

/**
 * The references in a message from a service; none when the bytes are malformed (the client's own
 * decoder will say what is wrong) or over the budget (the objects then stay unreachable, and the
 * service keeps them until its connection closes).
 */
function referencesIn(signature: string, m: Message, options: CodecOptions, budget: number): readonly ReferenceSite[] {
  let sites = scanned.get(m);
  if (sites === undefined) {
    try {
      sites = scanReferences(m.flags & MessageFlags.DynamicPayload ? 'm' : signature, m.payload, options, budget);
    } catch {
      sites = NONE;
    }
    scanned.set(m, sites);
  }
  return sites;
}
