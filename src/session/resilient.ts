/**
 * A proxy backend that survives its connection: when the connection to the service (or to the
 * ServiceDirectory) is lost, calls made meanwhile wait for a new one (within their timeout), signal
 * subscriptions are made again on it, and, while any subscription exists, reconnection is tried in the
 * background with exponential backoff; subscribers are told of the gap (emissions in between are not
 * replayed). Calls that were pending when the connection died fail: their
 * fate on the other side is unknown, and only the caller may decide to repeat them.
 */
import type { CallOptions, Channel } from '../channel/index.js';
import { QiClosedError } from '../transport/index.js';
import type { ObjectBackend, ObjectType, RemoteBackend, SignalGap, SignalListener } from '../object/index.js';
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, Backoff } from './backoff.js';

/** How reconnection is paced. */
export interface ReconnectOptions {
  /** First wait between attempts (default 100 ms); doubles up to `maxMs`. */
  minMs?: number;
  /** Longest wait between attempts (default 5,000 ms). */
  maxMs?: number;
  /** How long a call made while disconnected waits for a new connection, when it has no timeout (default 10,000 ms). */
  callWaitMs?: number;
}

interface Sub {
  signal: string;
  listener: SignalListener;
  onGap: ((gap: SignalGap) => void) | undefined;
  off: (() => Promise<void>) | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** See the module comment. `resolve` finds the object again (by service name) on a fresh connection. */
export class ResilientBackend implements ObjectBackend {
  private current: RemoteBackend | undefined;
  private readonly subs = new Set<Sub>();
  private attempt: Promise<RemoteBackend> | undefined;
  private lastError: Error | undefined;
  /** When the connection in use was lost (for the gap subscribers are told of). */
  private lostAt = new Date();
  private readonly min: number;
  private readonly max: number;
  private readonly callWait: number;
  /** Times the object was reached again after a loss. */
  reconnections = 0;

  constructor(
    first: RemoteBackend,
    private readonly resolve: (budgetMs: number) => Promise<RemoteBackend>,
    private readonly alive: () => boolean,
    options: ReconnectOptions = {},
    private readonly onReconnect?: (b: RemoteBackend) => void,
    /** Keep reconnecting in the background even without subscriptions (a session with services to re-register). */
    private readonly keepTrying: () => boolean = () => false,
  ) {
    this.min = options.minMs ?? BACKOFF_MIN_MS;
    this.max = options.maxMs ?? BACKOFF_MAX_MS;
    this.callWait = options.callWaitMs ?? 10_000;
    this.type = first.type;
    this.name = first.name;
    this.attach(first);
  }

  readonly type: ObjectType;
  readonly name: string;

  get route(): string {
    return this.current?.route ?? 'disconnected';
  }

  /** The connection in use, if connected. */
  get channel(): Channel | undefined {
    return this.current?.channel;
  }

  /** The service id in use, if connected (a service registered again may have a new one). */
  get serviceId(): number | undefined {
    return this.current?.service;
  }

  private attach(b: RemoteBackend): void {
    this.current = b;
    b.channel.onClose((e) => {
      if (this.current !== b) return;
      this.current = undefined;
      this.lastError = e;
      this.lostAt = new Date();
      if (this.wanted()) void this.reconnectLoop();
    });
  }

  /** One reconnection attempt at a time, shared by everyone who waits. */
  private tryOnce(budgetMs = this.callWait): Promise<RemoteBackend> {
    this.attempt ??= (async () => {
      try {
        const b = await this.resolve(budgetMs);
        for (const s of this.subs) s.off = await b.subscribe(s.signal, s.listener);
        this.attach(b);
        this.reconnections++;
        const gap: SignalGap = {
          from: this.lostAt,
          to: new Date(),
          reason: this.lastError?.message ?? 'connection lost',
        };
        for (const s of this.subs) s.onGap?.(gap);
        this.onReconnect?.(b);
        return b;
      } catch (e) {
        this.lastError = e as Error;
        throw e;
      } finally {
        this.attempt = undefined;
      }
    })();
    return this.attempt;
  }

  private async reconnectLoop(): Promise<void> {
    const backoff = new Backoff(this.min, this.max);
    while (this.alive() && this.current === undefined && this.wanted()) {
      await sleep(backoff.next());
      if (!this.alive() || this.current !== undefined) return;
      try {
        await this.tryOnce();
        return;
      } catch {
        // try again after the next wait
      }
    }
  }

  private wanted(): boolean {
    return this.subs.size > 0 || this.keepTrying();
  }

  /** The live backend, reconnecting within `ms` if needed. */
  private async live(ms: number, what: string): Promise<RemoteBackend> {
    if (this.current !== undefined) return this.current;
    const deadline = Date.now() + ms;
    const backoff = new Backoff(this.min, this.max);
    while (this.alive()) {
      try {
        return await this.tryOnce(Math.max(1, deadline - Date.now()));
      } catch {
        const wait = backoff.next();
        if (Date.now() + wait > deadline) break;
        await sleep(wait);
        if (this.current !== undefined) return this.current;
      }
    }
    const why = this.lastError ? `: ${this.lastError.message}` : '';
    throw new QiClosedError(
      `Cannot ${what}: the connection to ${this.name} is lost and could not be made again within ${ms} ms${why}. It is retried on each call; check that the service (and its ServiceDirectory) is running.`,
      this.lastError,
    );
  }

  call(method: string, args: unknown[], options?: CallOptions): Promise<unknown> {
    if (this.current !== undefined) return this.current.call(method, args, options);
    return this.live(options?.timeoutMs ?? this.callWait, `call ${this.name}.${method}`).then((b) =>
      b.call(method, args, options),
    );
  }

  post(member: string, args: unknown[]): void {
    if (this.current !== undefined) return this.current.post(member, args);
    // A post has no answer to wait for: send it once connected again, if that happens soon.
    this.live(this.callWait, `post ${this.name}.${member}`).then(
      (b) => b.post(member, args),
      () => {},
    );
  }

  async subscribe(
    signal: string,
    listener: SignalListener,
    onGap?: (gap: SignalGap) => void,
  ): Promise<() => Promise<void>> {
    const sub: Sub = { signal, listener, onGap, off: undefined };
    const b = this.current ?? (await this.live(this.callWait, `subscribe to ${this.name}.${signal}`));
    sub.off = await b.subscribe(signal, listener);
    this.subs.add(sub);
    return async () => {
      this.subs.delete(sub);
      await sub.off?.().catch(() => {});
    };
  }

  async getProperty(name: string): Promise<unknown> {
    return (this.current ?? (await this.live(this.callWait, `read ${this.name}.${name}`))).getProperty(name);
  }

  async setProperty(name: string, value: unknown): Promise<void> {
    return (this.current ?? (await this.live(this.callWait, `set ${this.name}.${name}`))).setProperty(name, value);
  }
}
