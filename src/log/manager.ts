/**
 * Our `LogManager` service: takes batches of records (`log`), creates listener objects
 * (`createListener`), and hands each listener the records that pass its level and filters. A listener
 * lives as long as the connection that created it (or until its client releases it).
 */
import { LocalObject, QiMethodError, type CallContext } from '../object/index.js';
import { LogListenerDefinition, LogManagerDefinition, type LogRecord } from './definition.js';
import { LogFilter } from './filter.js';

/** Options of {@link LogManager}. */
export interface LogManagerOptions {
  /** Most listeners (and providers) alive at once; `createListener` beyond fails, saying so. Default 1000. */
  maxListeners?: number;
}

interface Listener {
  readonly object: LocalObject<typeof LogListenerDefinition>;
  readonly filter: LogFilter;
}

/** The LogManager: register {@link LogManager.object} as `LogManager` (see {@link serveLogManager}). */
export class LogManager {
  readonly object: LocalObject<typeof LogManagerDefinition>;
  private readonly listeners = new Set<Listener>();
  private readonly providers = new Map<number, unknown>();
  private nextProvider = 1;
  private readonly maxListeners: number;

  constructor(options: LogManagerOptions = {}) {
    this.maxListeners = options.maxListeners ?? 1000;
    this.object = new LocalObject(LogManagerDefinition, {
      log: (records: LogRecord[]) => this.log(records),
      createListener: (ctx: CallContext) => this.createListener(ctx),
      getListener: (ctx: CallContext) => this.createListener(ctx),
      addProvider: (provider: unknown) => {
        if (this.providers.size >= this.maxListeners)
          throw new QiMethodError(
            `too many log providers (at most ${this.maxListeners}): remove one with removeProvider first`,
          );
        const id = this.nextProvider++;
        this.providers.set(id, provider);
        return id;
      },
      removeProvider: (id: number) => void this.providers.delete(id),
    });
  }

  /** Number of live listeners (for tests and metrics). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Hands `records` to every listener they pass: one `onLogMessage` each, one `onLogMessages` per batch. */
  log(records: readonly LogRecord[]): void {
    for (const l of this.listeners) {
      l.filter.level = l.object.get('logLevel');
      const passing = records.filter((r) => l.filter.passes(r.level, r.category));
      if (passing.length === 0) continue;
      for (const r of passing) l.object.emit('onLogMessage', r);
      l.object.emit('onLogMessages', passing);
      l.object.emit('onLogMessagesWithBacklog', passing);
    }
  }

  private createListener(ctx: CallContext): LocalObject<typeof LogListenerDefinition> {
    if (this.listeners.size >= this.maxListeners)
      throw new QiMethodError(
        `too many log listeners (at most ${this.maxListeners}): close other log viewers and try again`,
      );
    const filter = new LogFilter();
    const object: LocalObject<typeof LogListenerDefinition> = new LocalObject(LogListenerDefinition, {
      setLevel: (level: number) => object.set('logLevel', level),
      addFilter: (category: string, level: number) => filter.add(category, level),
      clearFilters: () => filter.clear(),
    });
    const listener: Listener = { object, filter };
    this.listeners.add(listener);
    const forget = () => void this.listeners.delete(listener);
    object.released = forget;
    ctx.channel?.onClose(forget);
    return object;
  }
}
