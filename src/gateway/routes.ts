/**
 * What one outside client may do, decided once and kept: whether it sees a service, and for each method
 * of a service's main object whether it may call it and whether the arguments or the answer may hold
 * objects (then their bytes are scanned). Every forwarded call asks; the answers are found by number
 * (service id, action id), with no string built per message. Each entry keeps the ServiceInfo and
 * MetaObject it was decided for, and is decided again when either changes (a service id given to
 * another service after an SD restart, a MetaObject fetched again).
 */
import type { ServiceInfo } from '../session/index.js';
import { needsReferenceScan, type MetaObject } from '../type/index.js';
import type { Policy } from './policy.js';

/** What the gateway does with a call to one method. */
export interface MethodRoute {
  readonly name: string;
  /** The client's policy allows calling it. */
  readonly allowed: boolean;
  /** Its parameters' signature when they may hold objects of the client (they are then rewritten). */
  readonly args: string | undefined;
  /** Its return signature when the answer may hold objects of the service (the client then holds them). */
  readonly returns: string | undefined;
}

const holds = (signature: string) => (needsReferenceScan(signature) ? signature : undefined);

/** The decisions about one service, for one client. */
class ServiceRoutes {
  /** The MetaObject `methods` were decided for. */
  meta: MetaObject | undefined;
  readonly methods = new Map<number, MethodRoute>();

  constructor(
    readonly info: ServiceInfo,
    readonly sees: boolean,
  ) {}
}

/** The decisions of one client; see the module comment. */
export class ClientRoutes {
  private readonly services = new Map<number, ServiceRoutes>();

  constructor(private readonly policy: Policy) {}

  private of(info: ServiceInfo): ServiceRoutes {
    let s = this.services.get(info.serviceId);
    if (s === undefined || s.info !== info)
      this.services.set(info.serviceId, (s = new ServiceRoutes(info, this.policy.sees(info.name))));
    return s;
  }

  /** True when the client sees the service (`policy.sees`). */
  sees(info: ServiceInfo): boolean {
    return this.of(info).sees;
  }

  /**
   * The route of method `action` of object `object` of the service, whose MetaObject is `meta`;
   * `undefined` when the MetaObject lists no such method. Kept for main objects (object 1) only:
   * other objects come and go with the calls that return them.
   */
  method(info: ServiceInfo, object: number, meta: MetaObject, action: number): MethodRoute | undefined {
    if (object !== 1) return this.decide(info, meta, action);
    const s = this.of(info);
    if (s.meta !== meta) {
      s.meta = meta;
      s.methods.clear();
    }
    let r = s.methods.get(action);
    if (r === undefined) {
      r = this.decide(info, meta, action);
      if (r !== undefined) s.methods.set(action, r); // bounded: only methods the MetaObject lists
    }
    return r;
  }

  private decide(info: ServiceInfo, meta: MetaObject, action: number): MethodRoute | undefined {
    const method = meta.methods.get(action);
    if (method === undefined) return undefined;
    return {
      name: method.name,
      allowed: this.policy.allows('method', info.name, method.name),
      args: holds(method.parametersSignature),
      returns: holds(method.returnSignature),
    };
  }

  /** Forgets what was decided about service `id` (it went away). */
  forget(id: number): void {
    this.services.delete(id);
  }
}
