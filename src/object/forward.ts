/**
 * A proxy of another connection, sent as an argument or a result: served on this connection as an
 * object of this side, whose calls, signals and properties go through the proxy (libqi sends every object
 * it did not create this way). The peer that receives it calls this process, which calls the owner.
 */
import type { ObjectBackend } from './backend.js';
import type { CallContext, Implementation } from './definition.js';
import { LocalObject, QiMethodError, type SignalListener } from './local.js';

/** Forwarders made so far, one per proxy: the same proxy sent again is the same object. */
const made = new WeakMap<object, ForwardedObject>();

/**
 * The object that serves `proxy` (whose backend is `target`) to other connections, under the uid of the
 * object it forwards to when known (as libqi does: the owner recognizes its own object by it).
 */
export function forwarderOf(proxy: object, target: ObjectBackend, uid?: Uint8Array): ForwardedObject {
  let f = made.get(proxy);
  if (f === undefined) made.set(proxy, (f = new ForwardedObject(target, uid)));
  return f;
}

/** See the module comment. */
export class ForwardedObject extends LocalObject {
  /** Subscriptions made on the target, per signal id, while someone here listens. */
  private readonly upstream = new Map<number, Promise<() => Promise<void>>>();

  constructor(
    readonly target: ObjectBackend,
    uid?: Uint8Array,
  ) {
    // Every method is run by invokeRaw below; the implementation only names them.
    const names = Object.fromEntries([...target.type.methodsByName.keys()].map((n) => [n, unreachable]));
    super(target.type, names as Implementation<never>);
    if (uid !== undefined) (this as { uid: Uint8Array }).uid = uid;
  }

  override invokeRaw(uid: number, args: unknown[], ctx: CallContext): unknown {
    if (uid < 100) return super.invokeRaw(uid, args, ctx);
    const m = this.type.methods.get(uid);
    if (m === undefined) throw new QiMethodError(`No such method #${uid} on this object.`);
    return this.target.call(m.name, args, { signal: ctx.signal });
  }

  override subscribe(uid: number, listener: SignalListener): () => void {
    const off = super.subscribe(uid, listener);
    const name = this.type.signals.get(uid)?.name;
    if (name !== undefined && uid >= 100 && !this.upstream.has(uid)) {
      const sub = this.target.subscribe(name, (args) => super.emitUid(uid, args));
      sub.catch(() => this.upstream.get(uid) === sub && this.upstream.delete(uid));
      this.upstream.set(uid, sub);
    }
    return () => {
      off();
      if (this.subscriberCount(uid) === 0) this.drop(uid);
    };
  }

  /** A signal posted here (by a peer) is posted to the target: its subscribers, these included, hear it from there. */
  override emitUid(uid: number, args: unknown[]): void {
    const name = this.type.signals.get(uid)?.name;
    if (name === undefined || uid < 100) return super.emitUid(uid, args);
    this.target.post(name, args);
  }

  /** A property's value, read from the target (a promise: the server answers when it settles). */
  override getUid(uid: number): unknown {
    const p = this.type.properties.get(uid);
    return p === undefined ? undefined : this.target.getProperty(p.name);
  }

  /** Writes a property of the target (a promise, as {@link ForwardedObject.getUid}). */
  override writeUid(uid: number, value: unknown): Promise<void> {
    const p = this.type.properties.get(uid);
    if (p === undefined) return Promise.reject(new QiMethodError(`No property #${uid} on this object.`));
    return this.target.setProperty(p.name, value);
  }

  override released(): void {
    for (const uid of [...this.upstream.keys()]) this.drop(uid);
  }

  private drop(uid: number): void {
    const sub = this.upstream.get(uid);
    this.upstream.delete(uid);
    sub?.then((off) => off()).catch(() => {});
  }
}

function unreachable(): never {
  throw new QiMethodError('a forwarded object runs its methods through its target');
}
