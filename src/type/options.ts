/**
 * Per-connection options of the codec. Only object references (`o`) depend on the connection: their
 * layout follows the capabilities both peers share (ObjectPtrUID, MetaObjectCache).
 */
import type { MetaObject, ObjectReference } from './value.js';

/** Tables of the MetaObject cache, per direction, when the peers share the MetaObjectCache capability. */
export interface MetaObjectCache {
  /** Sent MetaObjects, keyed by their encoded bytes (latin1), with the id given to each. */
  readonly sent: Map<string, number>;
  /** Received MetaObjects by id. */
  readonly received: Map<number, MetaObject>;
}

/** Turns application objects into references and back; supplied by the object layer. */
export interface ObjectHooks {
  /**
   * Called for each `o` value being encoded that is not already an {@link ObjectReference}; `service`
   * is {@link CodecOptions.service}, the service of the message being encoded.
   */
  toReference(value: unknown, service: number): ObjectReference;
  /** Called for each `o` value decoded; its result is what the decoded value holds. */
  fromReference(ref: ObjectReference): unknown;
}

/** Options of one encode or decode. All optional; the defaults fit a libqi 4.x peer. */
export interface CodecOptions {
  /**
   * Object references carry a 20-byte object uid (capability ObjectPtrUID shared by both peers).
   * Default `true`, as between libqi 4.x peers; NAOqi 2.5 and older do not use it.
   */
  objectUid?: boolean;
  /** Use the cached MetaObject form (capability MetaObjectCache shared, NAOqi 2.1/2.5 peers). */
  metaObjectCache?: MetaObjectCache;
  /** How objects become references and references become objects. Default: plain {@link ObjectReference}s. */
  objects?: ObjectHooks;
  /** Service id of the message being encoded, handed to {@link ObjectHooks.toReference} (default 0). */
  service?: number;
}

/** Creates empty MetaObject cache tables for one connection. */
export function createMetaObjectCache(): MetaObjectCache {
  return { sent: new Map(), received: new Map() };
}
