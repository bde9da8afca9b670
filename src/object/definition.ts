/**
 * Declaring objects: methods (with overloads), signals and properties with their qi types, and the
 * MetaObject that describes them on the wire. Member ids follow libqi: one counter from 100, in
 * declaration order (methods, then signals, then properties); a property and its change signal share
 * one id.
 */
import type { Channel } from '../channel/index.js';
import {
  compile,
  printSignature,
  type Codec,
  type MetaMethod,
  type MetaObject,
  type MetaProperty,
  type MetaSignal,
} from '../type/index.js';
import { builtinMetaObject } from './builtins.js';
import type { QiType, TypeOf, TypesOf } from './schema.js';

type Types = readonly QiType<unknown>[];

/** A method: parameter types, return type, and descriptions shown by introspection (`qi info`). */
export interface MethodDef<P extends Types = Types, R extends QiType<unknown> = QiType<unknown>> {
  readonly kind: 'method';
  readonly params: P;
  readonly returns: R;
  /** Fixed member id (e.g. to match an existing libqi service); default: the next free id from 100. */
  readonly id?: number;
  readonly description?: string;
  /** Parameter names (and descriptions), shown to clients. */
  readonly paramNames?: readonly (string | { name: string; description?: string })[];
  readonly returnDescription?: string;
}

/** A signal and the types of its arguments. */
export interface SignalDef<P extends Types = Types> {
  readonly kind: 'signal';
  readonly params: P;
  readonly id?: number;
  readonly description?: string;
}

/** A property: its type and initial value. Every change is also emitted as a signal of the same name. */
export interface PropertyDef<T = unknown> {
  readonly kind: 'property';
  readonly type: QiType<T>;
  readonly initial?: T;
  readonly id?: number;
  readonly description?: string;
}

/** Options of {@link method}. */
export interface MethodOptions {
  /** Fixed member id; default: the next free id from 100. */
  id?: number;
  description?: string;
  paramNames?: readonly (string | { name: string; description?: string })[];
  returnDescription?: string;
}

/** Declares a method. `returns` defaults to void. */
export function method<const P extends Types, R extends QiType<unknown> = QiType<void>>(
  params: P,
  returns?: R,
  options: MethodOptions = {},
): MethodDef<P, R> {
  return { kind: 'method', params, returns: (returns ?? { signature: 'v' }) as R, ...options };
}

/** Declares a signal with the types of its arguments. */
export function signal<const P extends Types>(
  params: P,
  options: { id?: number; description?: string } = {},
): SignalDef<P> {
  return { kind: 'signal', params, ...options };
}

/** Declares a property of type `type`. */
export function property<T>(
  type: QiType<T>,
  options: { initial?: T; id?: number; description?: string } = {},
): PropertyDef<T> {
  return { kind: 'property', type, ...options };
}

/** The members of an object. */
export interface ObjectDefinition {
  readonly description?: string;
  readonly methods?: Readonly<Record<string, MethodDef | readonly MethodDef[]>>;
  readonly signals?: Readonly<Record<string, SignalDef>>;
  readonly properties?: Readonly<Record<string, PropertyDef>>;
}

/** Declares an object type; returns the definition unchanged, with its literal types kept. */
export function defineObject<const D extends ObjectDefinition>(definition: D): D {
  return definition;
}

/** Context given to a method implementation as its last argument. */
export interface CallContext {
  /** Aborted when the caller cancels the call or goes away. */
  readonly signal: AbortSignal;
  /** Who called: the peer URL, or `local` for an in-process call. */
  readonly caller: string;
  /** The connection the call came on (absent for in-process calls). */
  readonly channel?: Channel;
}

type MethodsOf<D extends ObjectDefinition> = NonNullable<D['methods']>;
type ImplOf<M> =
  M extends MethodDef<infer P, infer R>
    ? (...args: [...TypesOf<P>, CallContext]) => TypeOf<R> | Promise<TypeOf<R>>
    : M extends readonly MethodDef[]
      ? (...args: never[]) => unknown
      : never;

/** What implements a definition: one function per method (overloads share one function). */
export type Implementation<D extends ObjectDefinition> = { [K in keyof MethodsOf<D>]: ImplOf<MethodsOf<D>[K]> };

/** A compiled method. */
export interface MethodInfo {
  readonly uid: number;
  readonly name: string;
  readonly params: Codec;
  readonly returns: Codec;
  readonly arity: number;
  readonly meta: MetaMethod;
}
/** A compiled signal (property change signals included). */
export interface SignalInfo {
  readonly uid: number;
  readonly name: string;
  readonly params: Codec;
  readonly meta: MetaSignal;
}
/** A compiled property. */
export interface PropertyInfo {
  readonly uid: number;
  readonly name: string;
  readonly type: Codec;
  readonly initial: unknown;
  readonly meta: MetaProperty;
}

/**
 * Everything a runtime needs about an object type, computed once: members by id and by name, codecs,
 * and the MetaObject (with libqi's built-in members merged in).
 */
export class ObjectType {
  readonly methods = new Map<number, MethodInfo>();
  readonly methodsByName = new Map<string, MethodInfo[]>();
  readonly signals = new Map<number, SignalInfo>();
  readonly signalsByName = new Map<string, SignalInfo>();
  readonly properties = new Map<number, PropertyInfo>();
  readonly propertiesByName = new Map<string, PropertyInfo>();
  readonly metaObject: MetaObject;

  private constructor(metaObject: MetaObject, initial: Map<number, unknown>) {
    this.metaObject = metaObject;
    for (const m of metaObject.methods.values()) {
      const params = compile(m.parametersSignature);
      const arity = params.type.kind === 'tuple' ? params.type.members.length : 1;
      const info: MethodInfo = {
        uid: m.uid,
        name: m.name,
        params,
        returns: compile(m.returnSignature),
        arity,
        meta: m,
      };
      this.methods.set(m.uid, info);
      const list = this.methodsByName.get(m.name) ?? [];
      list.push(info);
      this.methodsByName.set(m.name, list);
    }
    for (const s of metaObject.signals.values()) {
      const info: SignalInfo = { uid: s.uid, name: s.name, params: compile(s.signature), meta: s };
      this.signals.set(s.uid, info);
      if (!this.signalsByName.has(s.name) || s.uid >= 100) this.signalsByName.set(s.name, info);
    }
    for (const p of metaObject.properties.values()) {
      // libqi 2.1-2.3 dynamic objects advertise a property type as a one-element tuple: unwrap it.
      const declared = compile(p.signature).type;
      const sig =
        declared.kind === 'tuple' && declared.members.length === 1 && declared.annotation === undefined
          ? printSignature(declared.members[0])
          : p.signature;
      const info: PropertyInfo = { uid: p.uid, name: p.name, type: compile(sig), initial: initial.get(p.uid), meta: p };
      this.properties.set(p.uid, info);
      this.propertiesByName.set(p.name, info);
    }
  }

  /** The object type described by a MetaObject received from a peer. */
  static fromMetaObject(metaObject: MetaObject): ObjectType {
    return new ObjectType(metaObject, new Map());
  }

  /** Compiles a definition (cached per definition object). */
  static of(definition: ObjectDefinition): ObjectType {
    let type = compiled.get(definition);
    if (type === undefined) {
      const { meta, initial } = buildMetaObject(definition);
      type = new ObjectType(meta, initial);
      compiled.set(definition, type);
    }
    return type;
  }
}

const compiled = new WeakMap<ObjectDefinition, ObjectType>();

function buildMetaObject(def: ObjectDefinition): { meta: MetaObject; initial: Map<number, unknown> } {
  const meta = builtinMetaObject();
  meta.description = def.description ?? '';
  const initial = new Map<number, unknown>();
  let next = 100;
  const taken = new Set<number>();
  const idFor = (fixed: number | undefined, what: string): number => {
    const uid = fixed ?? next;
    if (taken.has(uid) || uid < 100)
      throw new TypeError(
        `Member id ${uid} of ${what} is ${uid < 100 ? 'reserved for built-in members (ids below 100)' : 'used twice'}.`,
      );
    taken.add(uid);
    if (uid >= next) next = uid + 1;
    return uid;
  };
  for (const [name, entry] of Object.entries(def.methods ?? {})) {
    for (const m of Array.isArray(entry) ? (entry as readonly MethodDef[]) : [entry as MethodDef]) {
      const uid = idFor(m.id, `method ${name}`);
      const names = m.paramNames ?? [];
      meta.methods.set(uid, {
        uid,
        returnSignature: m.returns.signature,
        name,
        parametersSignature: `(${m.params.map((p) => p.signature).join('')})`,
        description: m.description ?? '',
        parameters: names.map((n) =>
          typeof n === 'string' ? { name: n, description: '' } : { name: n.name, description: n.description ?? '' },
        ),
        returnDescription: m.returnDescription ?? '',
      });
    }
  }
  for (const [name, s] of Object.entries(def.signals ?? {})) {
    const uid = idFor(s.id, `signal ${name}`);
    meta.signals.set(uid, { uid, name, signature: `(${s.params.map((p) => p.signature).join('')})` });
  }
  for (const [name, p] of Object.entries(def.properties ?? {})) {
    const uid = idFor(p.id, `property ${name}`);
    meta.signals.set(uid, { uid, name, signature: `(${p.type.signature})` });
    meta.properties.set(uid, { uid, name, signature: p.type.signature });
    initial.set(uid, p.initial);
  }
  for (const m of meta.methods.values()) compile(m.parametersSignature);
  return { meta, initial };
}
