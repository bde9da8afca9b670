/**
 * The JS side of qi values: the classes a decoded value can contain besides plain JS types.
 * The full mapping table is in docs/types.md.
 */

/**
 * A dynamic value (`m`): a value together with the signature it travels with. Decoding `m` always
 * yields a `Dynamic`, so re-encoding gives back the same bytes (an `I` stays an `I`, not an `i`).
 * When encoding `m`, a plain JS value is accepted too; its signature is then inferred (docs/types.md).
 */
export class Dynamic<T = unknown> {
  /** The empty (invalid) dynamic: signature `""`, nothing follows on the wire. */
  static readonly EMPTY: Dynamic<undefined> = new Dynamic('', undefined);
  /** The void dynamic: signature `v`. */
  static readonly VOID: Dynamic<undefined> = new Dynamic('v', undefined);

  /**
   * @param signature the qi signature of `value` (`""` only for the empty dynamic)
   * @param value the value, in the JS mapping of `signature`
   */
  constructor(
    readonly signature: string,
    readonly value: T,
  ) {}

  /** True for the empty and the void dynamic. */
  get isEmpty(): boolean {
    return this.signature === '' || this.signature === 'v';
  }

  /** A JSON-friendly view: the plain value, recursively unwrapping nested dynamics. */
  toJSON(): unknown {
    return this.value;
  }
}

/** One parameter of a method, as described in a MetaObject. */
export interface MetaMethodParameter {
  name: string;
  description: string;
}

/** A method as described in a MetaObject. */
export interface MetaMethod {
  uid: number;
  returnSignature: string;
  name: string;
  parametersSignature: string;
  description: string;
  parameters: MetaMethodParameter[];
  returnDescription: string;
}

/** A signal as described in a MetaObject; `signature` is a tuple of its arguments. */
export interface MetaSignal {
  uid: number;
  name: string;
  signature: string;
}

/** A property as described in a MetaObject; `signature` is the value type (not a tuple). */
export interface MetaProperty {
  uid: number;
  name: string;
  signature: string;
}

/** The description of an object: its methods, signals and properties keyed by member id. */
export interface MetaObject {
  methods: Map<number, MetaMethod>;
  signals: Map<number, MetaSignal>;
  properties: Map<number, MetaProperty>;
  description: string;
}

/** The signature of {@link MetaObject} on the wire, exactly as libqi prints it. */
export const METAOBJECT_SIGNATURE =
  '({I(Issss[(ss)<MetaMethodParameter,name,description>]s)<MetaMethod,uid,returnSignature,name,' +
  'parametersSignature,description,parameters,returnDescription>}{I(Iss)<MetaSignal,uid,name,signature>}' +
  '{I(Iss)<MetaProperty,uid,name,signature>}s)<MetaObject,methods,signals,properties,description>';

/** A MetaObject with no members (what libqi sends for a null object). */
export function emptyMetaObject(): MetaObject {
  return { methods: new Map(), signals: new Map(), properties: new Map(), description: '' };
}

/**
 * An object reference (`o`) as it travels: the object stays with its owner, the receiver gets its
 * MetaObject and its address. The object layer turns these into proxies; the codec only carries them.
 */
export class ObjectReference {
  /**
   * @param metaObject the object's full MetaObject
   * @param serviceId service through which the object is reached
   * @param objectId object id within that service (0 = null object)
   * @param uid 20 bytes identifying the object, when the connection uses ObjectPtrUID
   */
  constructor(
    readonly metaObject: MetaObject,
    readonly serviceId: number,
    readonly objectId: number,
    readonly uid?: Uint8Array,
  ) {}

  /** The null object reference (object id 0). */
  get isNull(): boolean {
    return this.objectId === 0;
  }
}
