/**
 * Objects that services returned to outside clients through the gateway. All clients share one upstream
 * connection per service, so a service sees the gateway as the only holder of such an object: the gateway
 * counts which clients hold it, passes a client's `terminate` on only when no other client still holds
 * the object, and terminates what a departing client held, so that clients that disconnect without
 * releasing their objects (a closed tablet page, a killed process) leave nothing behind in the services.
 */
import type { Channel } from '../channel/index.js';
import { Builtin } from '../object/index.js';
import { Dynamic, ObjectReference, compile, type CodecOptions } from '../type/index.js';

/** Calls `f` with every non-null object reference in `v`. */
export function forEachRef(v: unknown, f: (r: ObjectReference) => void): void {
  if (v instanceof ObjectReference) {
    if (!v.isNull) f(v);
  } else if (v instanceof Dynamic) forEachRef(v.value, f);
  else if (Array.isArray(v)) for (const x of v) forEachRef(x, f);
  else if (v instanceof Map) for (const [k, x] of v) (forEachRef(k, f), forEachRef(x, f));
  else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) for (const x of Object.values(v)) forEachRef(x, f);
}

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

/** Largest dynamic (`m`) answer scanned for references: an object in a dynamic is small, big ones are data. */
const MAX_DYNAMIC_SCAN = 64 * 1024;

/** The objects one client holds, on top of the gateway-wide {@link HeldObjects}. */
export class ClientHeld {
  private readonly mine = new Map<string, { upstream: Channel; service: number; object: number }>();

  constructor(private readonly all: HeldObjects) {}

  /** Records the objects in an answer (of `signature`) that `upstream` sent to this client. */
  answered(upstream: Channel, signature: string, payload: Buffer, options: CodecOptions): void {
    const value = referencesIn(signature, payload, options);
    forEachRef(value, (r) => {
      const k = key(r.serviceId, r.objectId);
      if (this.mine.has(k)) return;
      this.mine.set(k, { upstream, service: r.serviceId, object: r.objectId });
      this.all.hold(upstream, r.serviceId, r.objectId);
    });
  }

  /**
   * The client terminated (service, object): false when another client still holds it, so the
   * terminate must not reach the service; true otherwise (also for objects not seen in an answer).
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
  orphaned(upstream: Channel, signature: string, payload: Buffer, options: CodecOptions): Array<{ service: number; object: number }> {
    const gone = new Map<string, { service: number; object: number }>();
    forEachRef(referencesIn(signature, payload, options), (r) => {
      const k = key(r.serviceId, r.objectId);
      if (gone.has(k) || this.all.isHeld(upstream, r.serviceId, r.objectId)) return;
      gone.set(k, { service: r.serviceId, object: r.objectId });
    });
    if (upstream.closed) return [];
    for (const o of gone.values()) upstream.post({ service: o.service, object: o.object, action: Builtin.terminate }, '(I)', [o.service]);
    return [...gone.values()];
  }

  /** The client went away: what only it held is terminated in the services. */
  close(): Array<{ service: number; object: number }> {
    const gone: Array<{ service: number; object: number }> = [];
    for (const h of this.mine.values()) {
      if (this.all.release(h.upstream, h.service, h.object) && !h.upstream.closed) {
        h.upstream.post({ service: h.service, object: h.object, action: Builtin.terminate }, '(I)', [h.service]);
        gone.push(h);
      }
    }
    this.mine.clear();
    return gone;
  }
}

/** An answer decoded with plain references (not proxies: the gateway only reads the ids); undefined when not worth scanning or malformed. */
function referencesIn(signature: string, payload: Buffer, options: CodecOptions): unknown {
  if (!/o/.test(stripAnnotations(signature)) && payload.length > MAX_DYNAMIC_SCAN) return undefined;
  try {
    return compile(signature).decode(payload, { ...options, objects: undefined });
  } catch {
    return undefined; // the client's own decoder will say what is wrong with it
  }
}

/** A signature without its `<…>` annotations (they hold only names). */
export function stripAnnotations(signature: string): string {
  let s = signature;
  for (let prev = ''; prev !== s; ) [prev, s] = [s, s.replace(/<[^<>]*>/g, '')];
  return s;
}
