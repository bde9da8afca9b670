/**
 * Object references (`o`). Their layout depends on what the two peers share (spec §5.5):
 * MetaObject · serviceId · objectId [· 20-byte uid], or, with the MetaObject cache,
 * transmitFlag [· MetaObject] · cacheId · serviceId · objectId [· uid].
 */
import { QiValueError, describeValue } from './errors.js';
import type { Node } from './node.js';
import { compileNode } from './codec.js';
import { METAOBJECT_SIGNATURE, ObjectReference, type MetaObject } from './value.js';
import { Writer } from './writer.js';

const UID_SIZE = 20;
const NOT_CACHED = 0xffff_ffff;
const ZERO_UID = new Uint8Array(UID_SIZE);

let meta: Node | undefined;
const metaNode = (): Node => (meta ??= compileNode(METAOBJECT_SIGNATURE));

export const objectNode: Node = {
  min: 24, // four empty MetaObject fields + serviceId + objectId
  write(w, v) {
    const o = w.options;
    let ref: ObjectReference;
    if (v instanceof ObjectReference) ref = v;
    else if (o.objects !== undefined && v !== null && v !== undefined) ref = o.objects.toReference(v, o.service ?? 0);
    else throw new QiValueError(`expected an object reference, got ${describeValue(v)}`);
    const cache = o.metaObjectCache;
    if (cache === undefined) {
      metaNode().write(w, ref.metaObject);
    } else {
      const own = new Writer();
      metaNode().write(own, ref.metaObject);
      const bytes = own.finish();
      const key = bytes.toString('latin1');
      let id = cache.sent.get(key);
      if (id === undefined) {
        id = cache.sent.size + 1;
        cache.sent.set(key, id);
        w.u8(1);
        w.ensure(bytes.length);
        w.buf.set(bytes, w.pos);
        w.pos += bytes.length;
      } else {
        w.u8(0);
      }
      w.u32(id);
    }
    w.u32(ref.serviceId);
    w.u32(ref.objectId);
    if (o.objectUid ?? true) {
      const uid = ref.uid ?? ZERO_UID;
      if (uid.length !== UID_SIZE) throw new QiValueError(`an object uid has ${UID_SIZE} bytes, got ${uid.length}`);
      w.ensure(UID_SIZE);
      w.buf.set(uid, w.pos);
      w.pos += UID_SIZE;
    }
  },
  read(r) {
    const o = r.options;
    const cache = o.metaObjectCache;
    let metaObject: MetaObject;
    if (cache === undefined) {
      metaObject = metaNode().read(r) as MetaObject;
    } else {
      const transmitted = r.u8() !== 0;
      const received = transmitted ? (metaNode().read(r) as MetaObject) : undefined;
      const start = r.pos;
      const id = r.u32();
      if (received !== undefined) {
        if (id !== NOT_CACHED) cache.received.set(id, received);
        metaObject = received;
      } else {
        const known = cache.received.get(id);
        if (known === undefined)
          return r.fail(`an object reference names MetaObject cache id ${id}, which the peer never sent`, start);
        metaObject = known;
      }
    }
    const serviceId = r.u32();
    const objectId = r.u32();
    let uid: Uint8Array | undefined;
    if (o.objectUid ?? true) {
      r.need(UID_SIZE, 'an object uid');
      uid = new Uint8Array(r.buf.subarray(r.pos, r.pos + UID_SIZE)); // a copy: uids outlive the message
      r.pos += UID_SIZE;
    }
    const ref = new ObjectReference(metaObject, serviceId, objectId, uid);
    return o.objects === undefined ? ref : o.objects.fromReference(ref);
  },
};
