/**
 * ROS services served to qi (`advertise_service`): for `/qi/<Service>/<method>`, the bridge registers
 * the qi service `<Service>` on the ServiceDirectory with a method `<method>`; each qi call is sent to
 * the ROS node that advertised it as a `call_service` over its rosbridge socket, and its
 * `service_response` is the call's answer. Several methods of one qi service may come from several
 * ROS nodes; adding or removing one registers the service again (qi clients see it go and come back).
 */
import {
  LocalObject,
  QiMethodError,
  defineObject,
  method,
  t,
  type CallContext,
  type MethodDef,
} from '../../object/index.js';
import type { Session } from '../../session/index.js';
import { jsonDynamic } from './json.js';
import { requestOf } from './messages.js';
import { idOf, type IncomingOp } from './protocol.js';

/** A ROS client as the served services see it. */
export interface RosPeer {
  /** Who it is, for messages (its address). */
  readonly remote: string;
  /** Sends one operation; false when the connection is gone. */
  send(message: Record<string, unknown>): boolean;
}

interface ServedMethod {
  owner: RosPeer;
  rosName: string;
  rosType: string;
}

interface Entry {
  methods: Map<string, ServedMethod>;
  id: number | undefined;
  queue: Promise<void>;
}

interface PendingCall {
  owner: RosPeer;
  resolve(values: unknown): void;
  reject(e: Error): void;
}

/** The qi services that ROS nodes serve through the bridge. */
export class ServedServices {
  private readonly services = new Map<string, Entry>();
  private readonly calls = new Map<string, PendingCall>();
  private counter = 0;

  constructor(
    private readonly session: Session,
    private readonly timeoutMs: number,
  ) {}

  /** The qi services served now, with their methods. */
  get list(): { service: string; methods: string[] }[] {
    return [...this.services].map(([service, e]) => ({ service, methods: [...e.methods.keys()] }));
  }

  /**
   * Serves `service.method` by the ROS node `owner`; resolves once the qi service is registered.
   * @throws when another ROS node serves it already, or the ServiceDirectory refuses the registration
   */
  async advertise(owner: RosPeer, service: string, name: string, rosName: string, rosType: string): Promise<void> {
    let e = this.services.get(service);
    if (e === undefined)
      this.services.set(service, (e = { methods: new Map(), id: undefined, queue: Promise.resolve() }));
    const known = e.methods.get(name);
    if (known !== undefined && known.owner !== owner)
      throw new Error(`${rosName} is already served by another ROS client (${known.owner.remote})`);
    if (known !== undefined) return void (known.rosType = rosType);
    e.methods.set(name, { owner, rosName, rosType });
    try {
      await this.sync(service, e);
    } catch (err) {
      if (e.methods.get(name)?.owner === owner) e.methods.delete(name);
      if (e.methods.size === 0 && e.id === undefined && this.services.get(service) === e) this.services.delete(service);
      throw err;
    }
  }

  /** Stops serving `service.method` for `owner`; false when it did not serve it. */
  async unadvertise(owner: RosPeer, service: string, name: string): Promise<boolean> {
    const e = this.services.get(service);
    if (e?.methods.get(name)?.owner !== owner) return false;
    e.methods.delete(name); // calls already sent may still be answered
    await this.sync(service, e).catch(() => {});
    return true;
  }

  /** Forgets everything `owner` served (it disconnected): its pending calls fail, its services go. */
  async dropOwner(owner: RosPeer): Promise<void> {
    this.failCalls(
      (c) => c.owner === owner,
      `the ROS node ${owner.remote} serving this call disconnected before answering`,
    );
    const work: Promise<void>[] = [];
    for (const [service, e] of this.services) {
      let changed = false;
      for (const [name, m] of e.methods)
        if (m.owner === owner) {
          e.methods.delete(name);
          changed = true;
        }
      if (changed) work.push(this.sync(service, e).catch(() => {}));
    }
    await Promise.all(work);
  }

  /** A `service_response` from a ROS node: the answer to one forwarded qi call. False when unknown. */
  respond(owner: RosPeer, m: IncomingOp): boolean {
    const id = idOf(m);
    const call = id === undefined ? undefined : this.calls.get(id);
    if (call === undefined || call.owner !== owner) return false;
    if (m.result === false) call.reject(new QiMethodError(failureText(String(m.service), m.values)));
    else call.resolve(m.values);
    return true;
  }

  /** Unregisters every served service and fails their pending calls. */
  async close(): Promise<void> {
    this.failCalls(() => true, 'the ROS bridge is closing');
    const work = [...this.services].map(([service, e]) => (e.methods.clear(), this.sync(service, e).catch(() => {})));
    await Promise.all(work);
  }

  private failCalls(which: (c: PendingCall) => boolean, why = ''): void {
    for (const c of [...this.calls.values()]) if (which(c)) c.reject(new QiMethodError(why));
  }

  /** Registers the service again with its current methods (or unregisters it when it has none), in order. */
  private sync(service: string, e: Entry): Promise<void> {
    const run = async () => {
      if (e.id !== undefined) {
        const id = e.id;
        e.id = undefined;
        await this.session.unregisterService(id).catch(() => {});
      }
      if (e.methods.size === 0) {
        if (this.services.get(service) === e) this.services.delete(service);
        return;
      }
      e.id = await this.session.registerService(service, this.objectFor(service, e));
    };
    const p = e.queue.then(run);
    e.queue = p.catch(() => {});
    return p;
  }

  private objectFor(service: string, e: Entry): LocalObject {
    const methods: Record<string, MethodDef[]> = {};
    const impl: Record<string, (...a: unknown[]) => Promise<unknown>> = {};
    for (const [name, m] of e.methods) {
      const description = `ROS service ${m.rosName} (${m.rosType || 'type not given'}), served by a ROS node through the ROS bridge`;
      const returnDescription = 'the ROS response: a struct of its fields';
      methods[name] = [
        method([], t.dynamic, { description, returnDescription }),
        method([t.dynamic], t.dynamic, { description, paramNames: ['request'], returnDescription }),
      ];
      impl[name] = (...a: unknown[]) => {
        const ctx = a.pop() as CallContext;
        return this.forward(service, name, a[0], ctx);
      };
    }
    return new LocalObject(
      defineObject({ description: `qi service served by ROS nodes through the ROS bridge`, methods }),
      impl,
    );
  }

  private forward(service: string, name: string, request: unknown, ctx: CallContext): Promise<unknown> {
    const m = this.services.get(service)?.methods.get(name);
    if (m === undefined)
      return Promise.reject(new QiMethodError(`${service}.${name} is no longer served by a ROS node`));
    const id = `qi_call:${++this.counter}`;
    return new Promise((resolve, reject) => {
      const finish = () => {
        this.calls.delete(id);
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
      };
      const onAbort = () => (finish(), reject(new QiMethodError(`the call to ROS service ${m.rosName} was canceled`)));
      const timer = setTimeout(
        () => (
          finish(),
          reject(
            new QiMethodError(
              `the ROS node serving ${m.rosName} (${m.owner.remote}) did not answer within ${this.timeoutMs} ms`,
            ),
          )
        ),
        this.timeoutMs,
      );
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      this.calls.set(id, {
        owner: m.owner,
        resolve: (values) => {
          finish();
          try {
            resolve(jsonDynamic(values));
          } catch (err) {
            reject(
              new QiMethodError(
                `the ROS service ${m.rosName} answered a value qi cannot carry: ${(err as Error).message}`,
              ),
            );
          }
        },
        reject: (err) => (finish(), reject(err)),
      });
      if (!m.owner.send({ op: 'call_service', id, service: m.rosName, args: requestOf(request) })) {
        this.calls.get(id)?.reject(new QiMethodError(`the ROS node serving ${m.rosName} is not connected`));
      }
    });
  }
}

/** Longest part of a ROS node's failure that reaches the qi caller. */
const FAILURE_TEXT_MAX = 1000;

/**
 * What a ROS node said when its service failed, for the qi caller: roslib 2 sends a text, roslib 1 the
 * response object (e.g. std_srvs/Trigger's `{ success: false, message }`): its `message` (or `error`,
 * `reason`) when it has one, else the object as JSON; cut to {@link FAILURE_TEXT_MAX} characters.
 */
export function failureText(service: string, values: unknown): string {
  const cut = (t: string) => (t.length > FAILURE_TEXT_MAX ? `${t.slice(0, FAILURE_TEXT_MAX)}…` : t);
  if (typeof values === 'string' && values !== '') return cut(values);
  const failed = `the ROS service ${service} failed`;
  if (values === null || typeof values !== 'object') return failed;
  const o = values as Record<string, unknown>;
  const said = [o.message, o.error, o.reason].find((v) => typeof v === 'string' && v !== '');
  if (said !== undefined) return cut(`${failed}: ${String(said)}`);
  const json = JSON.stringify(values);
  return json === '{}' || json === '[]' ? failed : cut(`${failed}; its response: ${json}`);
}
