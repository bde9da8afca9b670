/**
 * `qi log` and `qi log-send`, as qicli's log-view and log-send: read the records of the bus's
 * `LogManager` (NAOqi's, or ours) through a listener it creates, filtered by level and category
 * pattern; send one record. Text output is one line per record (level colored on a terminal only);
 * `--json` prints one JSON object per line.
 */
import { LogLevel, Session, type LogRecord } from '../index.js';
import type { Channel } from '../channel/index.js';
import { categoryMatches, levelName, parseLevel, wireRecord } from '../log/index.js';
import { connectSession, run, serviceOf, UsageError, type GlobalOptions } from './common.js';
import { formatRecord, recordJson } from './log-format.js';

/** Options of `qi log`. */
export interface LogVerbOptions extends GlobalOptions {
  /** Most verbose level shown (default info). */
  level?: string;
  /** Category patterns with * wildcards (default: all categories). */
  category?: string[];
  /** Stop after this many records. */
  count?: string;
  /** Stop after this many seconds. */
  time?: string;
}

const noManager = (e: unknown) =>
  new Error(
    `this bus has no LogManager service (${(e as Error).message}); on our side, the demo robot and \`qi sd\` serve one`,
  );

export async function log(o: LogVerbOptions): Promise<void> {
  await run(o, async () => {
    const level = parseLevel(o.level ?? 'info');
    const patterns = o.category ?? [];
    const count = o.count === undefined ? Infinity : Number(o.count);
    if (!(count > 0)) throw new UsageError(`--count takes a positive number, got "${o.count}"`);
    const session = await connectSession(o);
    let shown = 0;
    let lost: string | undefined;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const stops: (() => Promise<void>)[] = [];
    try {
      const manager = await serviceOf(session, 'LogManager', o).catch((e: unknown) => Promise.reject(noManager(e)));
      stops.push(
        await session.serviceRemoved.connect(
          (_id, name) => name === 'LogManager' && ((lost ??= 'the LogManager service went away'), finish()),
        ),
      );
      // A robot that stops closes these connections: end, saying so, rather than wait in silence.
      const channels = new Map<Channel, string>();
      const sd = session.directoryConnection;
      if (sd !== undefined) channels.set(sd, `the ServiceDirectory at ${o.url}`);
      const own = Session.channelOf(manager);
      if (own !== undefined && !channels.has(own)) channels.set(own, 'the LogManager');
      for (const [ch, what] of channels) {
        const off = ch.onClose(() => ((lost ??= `lost the connection to ${what}`), finish()));
        stops.push(async () => off());
      }
      const listener = (await manager.createListener()) as Record<
        string,
        ((...a: unknown[]) => Promise<unknown>) & { connect(l: (r: LogRecord) => void): Promise<() => Promise<void>> }
      >;
      // Ask the LogManager to filter (less traffic), and filter again here: every LogManager then shows the same.
      if (patterns.length === 0) await listener.setLevel(level);
      else {
        await listener.setLevel(LogLevel.silent);
        for (const p of patterns) await listener.addFilter(p, level);
      }
      const color = process.stdout.isTTY === true && !o.json && process.env.NO_COLOR === undefined;
      stops.push(
        await listener.onLogMessage.connect((r) => {
          if (
            shown >= count ||
            r.level > level ||
            r.level <= 0 ||
            (patterns.length > 0 && !patterns.some((p) => categoryMatches(r.category, p)))
          )
            return;
          shown++;
          console.log(o.json ? JSON.stringify(recordJson(r)) : formatRecord(r, color));
          if (shown >= count) finish();
        }),
      );
      if (process.stderr.isTTY && !o.json)
        process.stderr.write(
          `showing ${levelName(level)} and more severe${patterns.length ? ` of ${patterns.join(', ')}` : ''} (Ctrl-C to stop)\n`,
        );
      const timer = o.time === undefined ? undefined : setTimeout(finish, Number(o.time) * 1000);
      process.once('SIGINT', finish);
      await finished;
      // Used after the wait on purpose: a listener proxy that is garbage-collected is released, and the LogManager forgets it.
      void listener;
      clearTimeout(timer);
      if (lost !== undefined)
        throw new Error(
          `${lost} while its records were shown${lost.startsWith('lost') ? '. The robot (or its ServiceDirectory) stopped, or the network dropped' : ''}`,
        );
    } finally {
      await Promise.allSettled(stops.map((s) => s()));
      await session.close();
    }
  });
}

/** Options of `qi log-send`. */
export interface LogSendVerbOptions extends GlobalOptions {
  level?: string;
  category?: string;
}

export async function logSend(message: string, o: LogSendVerbOptions): Promise<void> {
  await run(o, async () => {
    const level = parseLevel(o.level ?? 'info');
    if (level === LogLevel.silent)
      throw new UsageError('a record cannot be silent: use fatal, error, warning, info, verbose or debug');
    const session = await connectSession(o);
    try {
      const manager = await serviceOf(session, 'LogManager', o).catch((e: unknown) => Promise.reject(noManager(e)));
      const record: LogRecord = {
        source: 'qi log-send',
        level,
        category: o.category ?? 'qi.cli',
        location: `${session.machineId}:${process.pid}`,
        message,
        id: 0,
        date: process.hrtime.bigint(),
        systemDate: BigInt(Date.now()) * 1_000_000n,
      };
      await manager.log([wireRecord(record)]);
    } finally {
      await session.close();
    }
  });
}
