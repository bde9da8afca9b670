/**
 * The logger API of services: `createLogger(session, 'my.category').info('text')`. Records are sent
 * to the bus's `LogManager` in batches; a logger never blocks and never throws: while the LogManager
 * is slow or absent, records wait in a bounded buffer and the oldest are dropped (and counted).
 */
import { basename } from 'node:path';
import type { AnyProxy } from '../object/index.js';
import type { Session } from '../session/index.js';
import { wireRecord, type LogRecord } from './definition.js';
import { LogLevel } from './levels.js';

/** Options of {@link createLogger}; the first logger of a session sets them for all its loggers. */
export interface LoggerOptions {
  /** Records kept while the LogManager is slow or absent; older ones are dropped (see `dropped`). Default 1000. */
  maxBuffered?: number;
  /** Milliseconds records wait to be sent together. Default 100. */
  flushMs?: number;
  /** Milliseconds before looking for a LogManager again after it was missing or failed. Default 5000. */
  retryMs?: number;
  /** Most records in one `log` call (a bigger backlog goes in several calls, one after the other). Default 500. */
  maxBatch?: number;
  /** `source` of the records (libqi puts `file:function:line` there). Default: the script's file name. */
  source?: string;
}

/** A logger of one category. */
export interface Logger {
  readonly category: string;
  /** Records above this level are not sent. Default 4 (info); 6 sends everything. */
  level: number;
  /** Records dropped so far (buffer full, or no LogManager to take them), for all loggers of the session. */
  readonly dropped: number;
  fatal(message: string): void;
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
  verbose(message: string): void;
  debug(message: string): void;
  /** Sends what is buffered now; resolves when the LogManager took it (or it was dropped). */
  flush(): Promise<void>;
}

let sequence = 0;
const steadyStart = process.hrtime.bigint();

class Sink {
  private buffer: LogRecord[] = [];
  private manager: AnyProxy | undefined;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private retryAt = 0;
  dropped = 0;
  readonly location: string;
  readonly source: string;

  constructor(
    private readonly session: Session,
    private readonly options: LoggerOptions,
  ) {
    this.location = `${session.machineId}:${process.pid}`;
    this.source = options.source ?? basename(process.argv[1] ?? 'node');
  }

  push(record: LogRecord): void {
    if (this.buffer.length >= (this.options.maxBuffered ?? 1000)) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(record);
    this.schedule(this.options.flushMs ?? 100);
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(
      () => ((this.timer = undefined), void this.flush()),
      Math.max(ms, this.retryAt - Date.now()),
    );
    this.timer.unref();
  }

  flush(): Promise<void> {
    this.sending ??= this.send().finally(() => {
      this.sending = undefined;
      if (this.buffer.length > 0) this.schedule(this.options.flushMs ?? 100);
    });
    return this.sending;
  }

  private async send(): Promise<void> {
    while (this.buffer.length > 0 && Date.now() >= this.retryAt) {
      const batch = this.buffer.splice(0, this.options.maxBatch ?? 500);
      try {
        this.manager ??= await this.session.service('LogManager');
        await this.manager.log(batch);
      } catch {
        // No LogManager, or it went away: the batch is lost (counted), and we look again later.
        this.manager = undefined;
        this.dropped += batch.length;
        this.retryAt = Date.now() + (this.options.retryMs ?? 5000);
      }
    }
  }
}

const sinks = new WeakMap<Session, Sink>();

/** A logger whose records go to the `LogManager` of `session`'s bus (what `qi log` shows). */
export function createLogger(session: Session, category: string, options: LoggerOptions = {}): Logger {
  let sink = sinks.get(session);
  if (sink === undefined) sinks.set(session, (sink = new Sink(session, options)));
  const s = sink;
  const at = (level: number) => (message: string) => {
    if (level > logger.level) return;
    const systemDate = BigInt(Date.now()) * 1_000_000n;
    s.push(
      wireRecord({
        source: s.source,
        level,
        category,
        location: s.location,
        message: String(message),
        id: (sequence = (sequence + 1) >>> 0),
        date: process.hrtime.bigint() - steadyStart,
        systemDate,
      }),
    );
  };
  const logger: Logger = {
    category,
    level: LogLevel.info,
    get dropped() {
      return s.dropped;
    },
    fatal: at(LogLevel.fatal),
    error: at(LogLevel.error),
    warning: at(LogLevel.warning),
    info: at(LogLevel.info),
    verbose: at(LogLevel.verbose),
    debug: at(LogLevel.debug),
    flush: () => s.flush(),
  };
  return logger;
}
