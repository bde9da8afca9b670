/**
 * One browser connection of the classic qimessaging.js API, translated to qi through its own
 * {@link Session}: `call` requests in, `reply` / `error` / `signal` events out. The socket layer (socket.io
 * v4 with v2/v3 clients, or the socket.io 0.9 protocol of the original script) is behind {@link ClassicPeer}.
 *
 * Requests (`params` of a `call` event, with its `idm`):
 * - API 2:   `{ obj, member, args }`; `args[0]` `"connect"` / `"disconnect", link` on a signal or property,
 *            `"value"` / `"setValue", v` on a property, anything else calls method `member`.
 * - API 1.0: `{ obj, method, args }`; `registerEvent(signal)` / `unregisterEvent(signal, link)`.
 * In both, `obj` `"ServiceDirectory"` with `service(name)` gets a service; other objects are the
 * `pyobject` ids given out in replies.
 */
import { backendOf, type ObjectBackend } from '../../object/index.js';
import { QiConnectError } from '../../transport/index.js';
import type { ClassicQi } from './through-gateway.js';
import { fromJson, toJson, type JsonRules } from './json.js';

/** The classic API versions: `2` (NAOqi 2.x, promises) and `1.0` (NAOqi 1.14, Deferreds). */
export type ApiVersion = '2' | '1.0';

/** The socket a {@link ClassicConnection} talks through. */
export interface ClassicPeer {
  emit(event: 'reply' | 'error' | 'signal', data: unknown): void;
  /**
   * Lets the browser go because its qi side is lost or cannot be opened: closes the connection's
   * transport, never with a socket.io disconnect packet, so that the browser's socket.io client (ours or
   * an original script's) reconnects by itself with its backoff, as after a network cut.
   */
  close(): void;
}

/** Bounds of one browser connection. */
export interface ClassicLimits {
  /** Objects kept for a connection (services and objects returned by calls); the oldest without subscriptions go first (default 10,000). */
  maxObjects?: number;
  /** Signal subscriptions at once (default 1,000). */
  maxSubscriptions?: number;
  /** Calls waiting for their answer at once (default 1,000). */
  maxPendingCalls?: number;
}

let nextObjectId = 1; // unique in the process, so that a proxy kept across a reconnection cannot reach another object

interface Link {
  obj: number;
  member: string;
  off?: () => Promise<void>;
}

/** What a classic request asks for, whatever the API version. */
type Request =
  | { op: 'service'; name: unknown }
  | { op: 'connect'; obj: number; member: string }
  | { op: 'disconnect'; obj: number; member: string; link: unknown }
  | { op: 'value'; obj: number; member: string }
  | { op: 'setValue'; obj: number; member: string; value: unknown }
  | { op: 'call'; obj: number; member: string; args: unknown[] };

function objectId(obj: unknown): number {
  const id = typeof obj === 'number' ? obj : typeof obj === 'string' && /^\d+$/.test(obj) ? Number(obj) : NaN;
  if (!Number.isSafeInteger(id))
    throw new Error(
      `Unknown object ${JSON.stringify(obj)}: objects are "ServiceDirectory" or a pyobject id from a reply`,
    );
  return id;
}

export class ClassicConnection {
  private readonly objects = new Map<number, object>();
  private readonly links = new Map<number, Link>();
  private nextLink = 1;
  private pending = 0;
  private closed = false;
  /** Set when the qi session could not be made: the browser is let go once told why. */
  private unreachable = false;
  private readonly session: Promise<ClassicQi>;
  private readonly rules: JsonRules;
  private readonly limits: Required<ClassicLimits>;

  constructor(
    private readonly peer: ClassicPeer,
    readonly version: ApiVersion,
    connect: () => Promise<ClassicQi>,
    options: { structs?: 'array' | 'object' } & ClassicLimits = {},
  ) {
    this.limits = {
      maxObjects: options.maxObjects ?? 10_000,
      maxSubscriptions: options.maxSubscriptions ?? 1_000,
      maxPendingCalls: options.maxPendingCalls ?? 1_000,
    };
    this.rules = {
      raw: version === '1.0' ? 'base64' : 'array',
      structs: options.structs ?? 'array',
      keep: (p) => this.keep(p),
    };
    this.session = connect().then(
      (s) => {
        if (this.closed) void s.close();
        else s.directoryConnection?.onClose(() => this.closed || this.peer.close());
        return s;
      },
      (e: unknown) => {
        // Connection errors name the inside URL, which is not the browser's business: keep only the code.
        const why =
          e instanceof QiConnectError
            ? `they do not answer${e.errno ? ` (${e.errno})` : ''}; try again later, or tell the robot's operator`
            : ((e as Error)?.message ?? String(e));
        throw new Error(`Cannot reach the robot's services: ${why}`);
      },
    );
    // The reason goes to the calls waiting, or to the first call made soon after (an app calls service()
    // as soon as it is connected); then the browser is let go, so that it sees the disconnection.
    this.session.catch(() => {
      this.unreachable = true;
      setTimeout(() => this.closed || this.peer.close(), this.pending > 0 ? 0 : 2000).unref?.();
    });
  }

  /** Handles one `call` event: `{ idm, params }`. Never throws: failures become `error` events. */
  async call(payload: unknown): Promise<void> {
    const idm = (payload as { idm?: unknown })?.idm;
    if (this.closed) return;
    if (this.pending >= this.limits.maxPendingCalls)
      return this.fail(
        idm,
        `Too many calls waiting for an answer on this connection (${this.limits.maxPendingCalls}); wait for some to finish`,
      );
    this.pending++;
    try {
      const request = this.parse((payload as { params?: unknown })?.params);
      const result = await this.run(request, idm);
      if (this.closed) return;
      const json = toJson(result, this.rules);
      this.peer.emit('reply', json === null ? { idm } : { idm, result: json });
    } catch (e) {
      this.fail(idm, (e as Error)?.message ?? String(e));
      if (this.unreachable) setTimeout(() => this.closed || this.peer.close(), 0);
    } finally {
      this.pending--;
    }
  }

  private fail(idm: unknown, message: string): void {
    if (!this.closed) this.peer.emit('error', { idm, result: message });
  }

  private parse(params: unknown): Request {
    if (typeof params !== 'object' || params === null) throw new Error('A call needs params { obj, member, args }');
    const p = params as { obj?: unknown; member?: unknown; method?: unknown; args?: unknown };
    const member = this.version === '1.0' ? p.method : p.member;
    if (typeof member !== 'string')
      throw new Error(`A call needs params.${this.version === '1.0' ? 'method' : 'member'}, the member name`);
    const args = p.args === undefined ? [] : p.args;
    if (!Array.isArray(args)) throw new Error('params.args must be an array');
    if (p.obj === 'ServiceDirectory' && member === 'service') return { op: 'service', name: args[0] };
    const obj = objectId(p.obj);
    if (this.version === '1.0') {
      if (member === 'registerEvent') return { op: 'connect', obj, member: String(args[0]) };
      if (member === 'unregisterEvent') return { op: 'disconnect', obj, member: String(args[0]), link: args[1] };
      return { op: 'call', obj, member, args };
    }
    const type = backendOf(this.objects.get(obj))?.type;
    const isSignal = type !== undefined && (type.signalsByName.has(member) || type.propertiesByName.has(member));
    const isProperty = type !== undefined && type.propertiesByName.has(member);
    if (isSignal && args[0] === 'connect') return { op: 'connect', obj, member };
    if (isSignal && args[0] === 'disconnect') return { op: 'disconnect', obj, member, link: args[1] };
    if (isProperty && args[0] === 'value') return { op: 'value', obj, member };
    if (isProperty && args[0] === 'setValue') return { op: 'setValue', obj, member, value: args[1] };
    return { op: 'call', obj, member, args };
  }

  private backend(obj: number): ObjectBackend {
    const proxy = this.objects.get(obj);
    const b = backendOf(proxy);
    if (b === undefined)
      throw new Error(
        `Unknown object ${obj}: it was never given to this connection or was released (get the service again)`,
      );
    // Most recently used last, so that eviction takes the least recently used.
    this.objects.delete(obj);
    this.objects.set(obj, proxy!);
    return b;
  }

  private async run(r: Request, idm: unknown): Promise<unknown> {
    if (r.op === 'service') {
      if (typeof r.name !== 'string' || r.name === '') throw new Error('service() needs a service name');
      const session = await this.session;
      return session.service(r.name);
    }
    await this.session;
    const b = this.backend(r.obj);
    try {
      return await this.runOn(b, r, idm);
    } catch (e) {
      // Name the member in errors that do not (a value that does not fit its signature, mostly).
      const message = (e as Error)?.message ?? String(e);
      const what = `${b.name}.${r.member}`;
      throw message.includes(what) || message.includes(`${b.name} has no`) ? e : new Error(`${what}: ${message}`);
    }
  }

  private async runOn(b: ObjectBackend, r: Exclude<Request, { op: 'service' }>, idm: unknown): Promise<unknown> {
    switch (r.op) {
      case 'call': {
        const overloads = (b.type.methodsByName.get(r.member) ?? []).filter((m) => m.arity === r.args.length);
        let args = r.args;
        if (overloads.length === 1) {
          const t = overloads[0].params.type;
          args = t.kind === 'tuple' ? args.map((a, i) => fromJson(t.members[i], a)) : args;
        }
        return b.call(r.member, args);
      }
      case 'value':
        return b.getProperty(r.member);
      case 'setValue': {
        const p = b.type.propertiesByName.get(r.member);
        await b.setProperty(r.member, p ? fromJson(p.type.type, r.value) : r.value);
        return undefined;
      }
      case 'connect':
        return this.subscribe(b, r.obj, r.member, idm);
      case 'disconnect': {
        const id = Number(r.link);
        const link = this.links.get(id);
        if (link === undefined || link.obj !== r.obj || link.member !== r.member)
          throw new Error(`No subscription ${JSON.stringify(r.link)} to ${b.name}.${r.member} on this connection`);
        this.links.delete(id);
        await link.off?.();
        return true;
      }
    }
  }

  private async subscribe(b: ObjectBackend, obj: number, member: string, _idm: unknown): Promise<number> {
    if (!b.type.signalsByName.has(member) && !b.type.propertiesByName.has(member)) {
      const names = [...b.type.signalsByName.keys(), ...b.type.propertiesByName.keys()];
      throw new Error(
        `${b.name} has no signal or property "${member}". Its signals and properties: ${[...new Set(names)].join(', ') || 'none'}.`,
      );
    }
    if (this.links.size >= this.limits.maxSubscriptions)
      throw new Error(
        `Too many signal subscriptions on this connection (${this.limits.maxSubscriptions}); disconnect some first`,
      );
    const id = this.nextLink++;
    const link: Link = { obj, member };
    this.links.set(id, link);
    try {
      link.off = await b.subscribe(member, (args) => {
        if (this.closed || !this.links.has(id)) return;
        this.peer.emit('signal', {
          result: { obj, signal: member, data: args.map((a) => toJson(a, this.rules)), link: id },
        });
      });
    } catch (e) {
      this.links.delete(id);
      throw e;
    }
    if (this.closed || !this.links.has(id)) void link.off().catch(() => {});
    return id;
  }

  private keep(proxy: object): number {
    const id = nextObjectId++;
    this.objects.set(id, proxy);
    if (this.objects.size > this.limits.maxObjects) {
      const used = new Set([...this.links.values()].map((l) => l.obj));
      for (const old of this.objects.keys()) {
        if (this.objects.size <= this.limits.maxObjects) break;
        if (!used.has(old) && old !== id) this.objects.delete(old);
      }
    }
    return id;
  }

  /** Number of live signal subscriptions (for tests and monitoring). */
  get subscriptions(): number {
    return this.links.size;
  }

  /** Ends the connection: every subscription is removed and the qi session closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const links = [...this.links.values()];
    this.links.clear();
    this.objects.clear();
    await Promise.allSettled(links.map(async (l) => l.off?.()));
    const session = await this.session.catch(() => undefined);
    await session?.close();
  }
}
