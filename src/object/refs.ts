/**
 * Objects by reference on a channel (spec §5.5). Sending a {@link LocalObject} (or an in-process proxy of
 * one) serves it on that connection under the service of the message and a fresh object id, each time. A proxy of an
 * object of the same connection is sent back by its address when the peer is ours (capability
 * OwnObjectsByAddress); to libqi, and for a proxy of another connection, it is served as an object of
 * this side that forwards to it, with the object's uid (forward.ts), as libqi sends every object it did
 * not create. Receiving a reference gives a proxy; when the proxy is garbage-collected the owner is told
 * (`terminate`), as libqi does. A reference to an object this side serves on the connection (by its
 * address and uid, or by its uid alone: a libqi peer's forwarder, then released at once) gives an
 * in-process proxy of the object: calls on it do not go out to the peer and back.
 */
import { Capability, type Channel } from '../channel/index.js';
import { ObjectReference, QiValueError, describeValue } from '../type/index.js';
import { InProcessBackend, RemoteBackend } from './backend.js';
import { forwarderOf } from './forward.js';
import { postTerminate } from './builtins.js';
import { ObjectType } from './definition.js';
import { LocalObject } from './local.js';
import { backendOf, createProxy } from './proxy.js';
import { ObjectServer } from './server.js';

// libqi: service-side objects get ids from 3 upward, client-side ones from 2^31 upward.
let serverIds = 2;
let clientIds = 0x7fff_ffff;

const released = new FinalizationRegistry<{
  channel: WeakRef<Channel>;
  service: number;
  object: number;
  forget: () => void;
}>((r) => {
  r.forget();
  const ch = r.channel.deref();
  if (ch !== undefined && !ch.closed) postTerminate(ch, r);
});

/** The reference each proxy was made from (its uid goes with it when it is forwarded). */
const received = new WeakMap<object, ObjectReference>();

const hex = (uid: Uint8Array) => Buffer.from(uid.buffer, uid.byteOffset, uid.byteLength).toString('hex');

/** Makes `channel` able to send local objects and receive references as proxies. Idempotent. */
export function enableObjectReferences(channel: Channel): void {
  if (channel.objectHooks !== undefined) return;
  /** The objects served on this channel by reference, by uid, with how many bindings each has. */
  const byUid = new Map<string, { object: LocalObject; bindings: number }>();
  const proxies = new Map<string, WeakRef<object>>();
  channel.objectHooks = {
    toReference(value, service) {
      if (value instanceof ObjectReference) return value;
      const b = backendOf(value);
      if (b instanceof RemoteBackend && b.channel === channel && channel.shared(Capability.OwnObjectsByAddress)) {
        return received.get(value as object) ?? new ObjectReference(b.type.metaObject, b.service, b.object);
      }
      if (b instanceof InProcessBackend) value = b.object;
      else if (b !== undefined) value = forwarderOf(value as object, b, received.get(value as object)?.uid);
      if (!(value instanceof LocalObject)) {
        throw new QiValueError(`expected an object (a LocalObject, or a proxy), got ${describeValue(value)}`);
      }
      // A fresh id for every sending, as libqi does: the peer may be releasing the previous one (its
      // proxy was collected, its terminate on the way) while this reference travels.
      const id = channel.side === 'server' ? ++serverIds : (clientIds = (clientIds + 1) >>> 0);
      const ref = new ObjectReference(value.type.metaObject, service, id, value.uid);
      const uid = hex(value.uid);
      const entry = byUid.get(uid) ?? { object: value, bindings: 0 };
      entry.bindings++;
      byUid.set(uid, entry);
      new ObjectServer(value, channel, service, id, `object ${service}.${id}`, () => {
        if (--entry.bindings === 0 && byUid.get(uid) === entry) byUid.delete(uid);
      });
      return ref;
    },
    fromReference(ref) {
      if (ref.isNull) return null;
      const key = `${ref.serviceId}.${ref.objectId}`;
      const own = ownObject(channel, ref);
      if (own !== undefined) return createProxy(new InProcessBackend(own, `object ${key}`));
      const mine = ref.uid === undefined ? undefined : byUid.get(hex(ref.uid))?.object;
      if (mine !== undefined) {
        // The peer's forwarder of our own object: we call the object itself, and the peer may let it go.
        postTerminate(channel, { service: ref.serviceId, object: ref.objectId });
        return createProxy(new InProcessBackend(mine, `object ${key}`));
      }
      const known = proxies.get(key)?.deref();
      if (known !== undefined) return known;
      const backend = new RemoteBackend(
        channel,
        ref.serviceId,
        ref.objectId,
        ObjectType.fromMetaObject(ref.metaObject),
        `object ${key}`,
      );
      const proxy = createProxy(backend) as object;
      proxies.set(key, new WeakRef(proxy));
      received.set(proxy, ref);
      const weak = proxies.get(key)!;
      // The table entry goes with its proxy (unless a newer proxy took the key meanwhile).
      const forget = () => proxies.get(key) === weak && proxies.delete(key);
      released.register(proxy, { channel: new WeakRef(channel), service: ref.serviceId, object: ref.objectId, forget });
      return proxy;
    },
  };
}

/**
 * The object this side serves on `channel` at the reference's address (one it sent, or a service), when
 * the reference names it: same address and, when the reference carries one, same uid (ids of the two
 * sides come from ranges apart, the uid tells an accidental match).
 */
function ownObject(channel: Channel, ref: ObjectReference): LocalObject | undefined {
  const bound = channel.boundTo(ref.serviceId, ref.objectId);
  if (!(bound instanceof ObjectServer)) return undefined;
  const uid = ref.uid;
  if (uid !== undefined && hex(uid) !== hex(bound.object.uid)) return undefined;
  return bound.object;
}
