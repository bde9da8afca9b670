/**
 * libqi's statistics and trace of one object (built-in members 80–86, spec §5.4): per-method call
 * counts with wall, user and system time (`stats`), and a `traceObject` event per call, result, error
 * and signal while tracing is on. Made only once a peer turns one of them on: an object nobody watches
 * pays one `undefined` check per call.
 */
import { Dynamic, parseSignature, printSignature, type Signature } from '../type/index.js';
import type { MethodInfo } from './definition.js';

/** One MinMaxSum of libqi: seconds. */
export interface MinMaxSum {
  minValue: number;
  maxValue: number;
  cumulatedValue: number;
}

/** libqi's MethodStatistics: calls of one member and their wall, user and system times (seconds). */
export interface MethodStatistics {
  count: number;
  wall: MinMaxSum;
  user: MinMaxSum;
  system: MinMaxSum;
}

/** Kinds of {@link EventTrace} (libqi `EventTrace::EventKind`). */
export const TraceKind = { call: 1, result: 2, error: 3, signal: 4 } as const;

/** libqi's EventTrace, the argument of `traceObject`. */
export interface EventTrace {
  id: number;
  kind: number;
  slotId: number;
  arguments: Dynamic;
  timestamp: { tv_sec: number; tv_usec: number };
  userUsTime: number;
  systemUsTime: number;
  callerContext: number;
  calleeContext: number;
}

/** What libqi puts in place of a value it will not copy into a trace (objects, raw bytes). */
const UNSERIALIZABLE = new Dynamic('s', '**UNSERIALIZABLE**');
const UNKNOWN_ARG = new Dynamic('s', '<??>');

/** False for signatures libqi refuses to trace: objects (costly), raw bytes (possibly big), unknown. */
function traceable(s: Signature): boolean {
  switch (s.kind) {
    case 'object':
    case 'raw':
    case 'unknown':
      return false;
    case 'list':
    case 'varargs':
    case 'kwargs':
    case 'optional':
      return traceable(s.element);
    case 'map':
      return traceable(s.key) && traceable(s.value);
    case 'tuple':
      return s.members.every(traceable);
    default:
      return true;
  }
}

/** Wall-clock time as libqi's timeval, to the microsecond. */
function now(): { tv_sec: number; tv_usec: number } {
  const us = Math.round((performance.timeOrigin + performance.now()) * 1000);
  return { tv_sec: Math.floor(us / 1e6), tv_usec: us % 1e6 };
}

function push(m: MinMaxSum, v: number, first: boolean): void {
  if (first) {
    m.minValue = m.maxValue = m.cumulatedValue = v;
    return;
  }
  m.cumulatedValue += v;
  if (v < m.minValue) m.minValue = v;
  if (v > m.maxValue) m.maxValue = v;
}

/** Statistics and trace state of one object. */
export class ObjectMonitor {
  statsEnabled = false;
  traceEnabled = false;
  private readonly stats = new Map<number, MethodStatistics>();
  private traceId = 0;
  private readonly argSignatures = new Map<number, (string | undefined)[]>();

  /**
   * @param trace emits one `traceObject` event
   * @param untraced call arguments and results are never put in an event (an object handling secrets)
   */
  constructor(
    private readonly trace: (event: EventTrace) => void,
    private readonly untraced = false,
  ) {}

  /** True while calls must be measured or traced. */
  get active(): boolean {
    return this.statsEnabled || this.traceEnabled;
  }

  /** Statistics of every member called since the last clear (the `stats` answer). */
  snapshot(): Map<number, MethodStatistics> {
    return new Map(
      [...this.stats].map(([k, s]) => [
        k,
        { count: s.count, wall: { ...s.wall }, user: { ...s.user }, system: { ...s.system } },
      ]),
    );
  }

  clear(): void {
    this.stats.clear();
  }

  /**
   * Runs `invoke` (a method of the object) measured and traced: wall time until the result settles,
   * CPU time of this process while the implementation ran synchronously (what can be told apart in
   * one thread). Returns (or throws) what `invoke` did.
   */
  run(method: MethodInfo, args: unknown[], invoke: () => unknown): unknown {
    const tracing = this.traceEnabled;
    const id = tracing ? this.nextId() : 0;
    if (tracing)
      this.emit(
        id,
        TraceKind.call,
        method.uid,
        this.untraced ? UNSERIALIZABLE : this.callArguments(method, args),
        0,
        0,
      );
    const start = performance.now();
    const cpu = process.cpuUsage();
    let result: unknown;
    try {
      result = invoke();
    } catch (e) {
      this.done(method, id, tracing, start, process.cpuUsage(cpu), false, e);
      throw e;
    }
    const used = process.cpuUsage(cpu);
    if (typeof (result as PromiseLike<unknown> | null)?.then !== 'function') {
      this.done(method, id, tracing, start, used, true, result);
      return result;
    }
    // Observed on the side: the caller still gets the promise itself, with its own handlers.
    (result as PromiseLike<unknown>).then(
      (v) => this.done(method, id, tracing, start, used, true, v),
      (e: unknown) => this.done(method, id, tracing, start, used, false, e),
    );
    return result;
  }

  /** A signal (or property change) emitted while tracing. */
  signal(uid: number, params: Signature | undefined, args: unknown[]): void {
    this.emit(this.nextId(), TraceKind.signal, uid, this.tupleArguments(uid, params, args), 0, 0);
  }

  private nextId(): number {
    this.traceId = (this.traceId + 1) >>> 0;
    return this.traceId;
  }

  private done(
    method: MethodInfo,
    id: number,
    tracing: boolean,
    start: number,
    cpu: NodeJS.CpuUsage,
    ok: boolean,
    value: unknown,
  ): void {
    if (this.statsEnabled) {
      let s = this.stats.get(method.uid);
      if (s === undefined) {
        const zero = () => ({ minValue: 0, maxValue: 0, cumulatedValue: 0 });
        this.stats.set(method.uid, (s = { count: 0, wall: zero(), user: zero(), system: zero() }));
      }
      const first = s.count === 0;
      push(s.wall, (performance.now() - start) / 1000, first);
      push(s.user, cpu.user / 1e6, first);
      push(s.system, cpu.system / 1e6, first);
      s.count++;
    }
    if (!tracing || !this.traceEnabled) return;
    const text = value instanceof Error ? value.message || value.name : String(value);
    const args = !ok ? new Dynamic('s', text) : this.untraced ? UNSERIALIZABLE : this.resultValue(method, value);
    this.emit(id, ok ? TraceKind.result : TraceKind.error, method.uid, args, cpu.user, cpu.system);
  }

  private emit(id: number, kind: number, slotId: number, args: Dynamic, userUs: number, systemUs: number): void {
    // libqi gives thread ids; this process runs objects on its main thread, whose id is the pid.
    const context = process.pid;
    this.trace({
      id,
      kind,
      slotId,
      arguments: args,
      timestamp: now(),
      userUsTime: userUs,
      systemUsTime: systemUs,
      callerContext: context,
      calleeContext: context,
    });
  }

  private callArguments(method: MethodInfo, args: unknown[]): Dynamic {
    const sig = method.params.type;
    return this.tupleArguments(method.uid, sig.kind === 'tuple' ? sig : undefined, args);
  }

  /** Arguments as libqi traces them: a `[m]`, "<??>" for an argument it will not copy. */
  private tupleArguments(uid: number, params: Signature | undefined, args: unknown[]): Dynamic {
    let sigs = this.argSignatures.get(uid);
    if (sigs === undefined) {
      sigs = params?.kind === 'tuple' ? params.members.map((m) => (traceable(m) ? printSignature(m) : undefined)) : [];
      this.argSignatures.set(uid, sigs);
    }
    const out = args.map((a, i) => {
      const s = sigs[i];
      if (s === undefined) return UNKNOWN_ARG;
      if (a instanceof Dynamic) return traceable(parseSignature(a.signature || 'v')) ? a : UNKNOWN_ARG;
      return new Dynamic(s, a);
    });
    return new Dynamic('[m]', out);
  }

  private resultValue(method: MethodInfo, value: unknown): Dynamic {
    const sig = method.returns.type;
    if (!traceable(sig)) return UNSERIALIZABLE;
    if (value instanceof Dynamic) return traceable(parseSignature(value.signature || 'v')) ? value : UNSERIALIZABLE;
    return new Dynamic(method.meta.returnSignature, sig.kind === 'void' ? undefined : value);
  }
}
