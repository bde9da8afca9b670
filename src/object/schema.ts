/**
 * Typed qi types for service definitions: each builder carries a qi signature and the TS type of its
 * values, so a definition types its implementation and its proxies end to end.
 *
 * ```ts
 * const Point = t.struct('Point', { x: t.int32, y: t.int32 });   // (ii)<Point,x,y>, { x: number; y: number }
 * const say = method([t.string], t.void);                         // say(text: string): Promise<void>
 * ```
 */
import { tupleSignature, parseSignature, printSignature, type Signature } from '../type/index.js';

/** A qi type with the TS type `T` of its values. */
export interface QiType<T> {
  /** The qi signature, e.g. `[s]` or `(ii)<Point,x,y>`. */
  readonly signature: string;
  /** Phantom field carrying `T` for type inference; never set. */
  readonly __type?: T;
}

/** The TS type of a {@link QiType}'s values. */
export type TypeOf<Q> = Q extends QiType<infer T> ? T : never;
/** Maps a tuple of QiTypes to the tuple of their TS types. */
export type TypesOf<A extends readonly QiType<unknown>[]> = { -readonly [K in keyof A]: TypeOf<A[K]> };

const type = <T>(signature: string): QiType<T> => ({ signature });

/** Builders of qi types. */
export const t = {
  void: type<void>('v'),
  bool: type<boolean>('b'),
  int8: type<number>('c'),
  uint8: type<number>('C'),
  int16: type<number>('w'),
  uint16: type<number>('W'),
  int32: type<number>('i'),
  uint32: type<number>('I'),
  /** 64-bit integers decode as `bigint`; a safe-integer `number` is accepted when sending. */
  int64: type<bigint>('l'),
  uint64: type<bigint>('L'),
  float: type<number>('f'),
  double: type<number>('d'),
  string: type<string>('s'),
  /** Raw bytes; received ones are views on the message, not copies. */
  raw: type<Uint8Array>('r'),
  /** Any value with its signature (a `Dynamic` when received). */
  dynamic: type<unknown>('m'),
  /** An object passed by reference: a local object when sending, a proxy when received. */
  object: type<unknown>('o'),
  list<T>(element: QiType<T>): QiType<T[]> {
    return type(`[${element.signature}]`);
  },
  map<K, V>(key: QiType<K>, value: QiType<V>): QiType<Map<K, V>> {
    return type(`{${key.signature}${value.signature}}`);
  },
  tuple<A extends readonly QiType<unknown>[]>(...members: A): QiType<TypesOf<A>> {
    return type(`(${members.map((m) => m.signature).join('')})`);
  },
  /** A named struct: fields in declaration order, values as objects with those fields. */
  struct<F extends Record<string, QiType<unknown>>>(name: string, fields: F): QiType<{ [K in keyof F]: TypeOf<F[K]> }> {
    const members: Signature[] = Object.values(fields).map((f) => parseSignature(f.signature));
    return type(printSignature(tupleSignature(members, name, Object.keys(fields))));
  },
  /** An optional value: `null` for none. Not understood by NAOqi 2.5 and older peers. */
  optional<T>(element: QiType<T>): QiType<T | null> {
    return type(`+${element.signature}`);
  },
  /** A type given by its signature, with a TS type of your choosing (checked at run time only). */
  sig<T = unknown>(signature: string): QiType<T> {
    parseSignature(signature);
    return type(signature);
  },
};
