/**
 * The wire form of NAOqi's log service, as libqicore declares it (qicore/logmessage.hpp,
 * logmanager.hpp, loglistener.hpp): a `LogMessage` struct
 * `(sisssILL)<LogMessage,source,level,category,location,message,id,date,systemDate>` (the level a
 * `qi::LogLevel` int32, the dates qi clock time points: nanoseconds in a uint64, `date` on a steady
 * clock, `systemDate` since the Unix epoch), the `LogManager` service and the `LogListener` objects
 * it creates. Names and signatures are libqicore's, so NAOqi's clients and ours interoperate.
 */
import { defineObject, method, property, signal, t, type TypeOf } from '../object/index.js';

/** One log record. */
export const LogMessage = t.struct('LogMessage', {
  /** Where it was logged (libqi: `file:function:line`). */
  source: t.string,
  /** 1 fatal … 6 debug (see {@link LogLevel}). */
  level: t.int32,
  category: t.string,
  /** `machineId:pid` of the process that logged it. */
  location: t.string,
  message: t.string,
  /** Per-process sequence number. */
  id: t.uint32,
  /** Steady clock, nanoseconds. */
  date: t.uint64,
  /** Wall clock, nanoseconds since 1970. */
  systemDate: t.uint64,
});
/** A log record as our API sends it (dates as bigint nanoseconds). */
export type LogRecord = TypeOf<typeof LogMessage>;

/** What a listener object offers: a level, category filters, and the records that pass them. */
export const LogListenerDefinition = defineObject({
  description: 'Receives the log records that pass its level and category filters',
  methods: {
    setLevel: method([t.int32], t.void, {
      description: 'Shows records of this level and more severe (0 silent … 6 debug)',
      paramNames: ['level'],
    }),
    addFilter: method([t.string, t.int32], t.void, {
      description: 'Sets the level of the categories matching a pattern with * wildcards',
      paramNames: ['category', 'level'],
    }),
    clearFilters: method([], t.void, { description: 'Removes the filters set by addFilter' }),
  },
  signals: {
    onLogMessage: signal([LogMessage], { description: 'Each record that passes' }),
    onLogMessages: signal([t.list(LogMessage)], { description: 'The records of one batch that pass' }),
    onLogMessagesWithBacklog: signal([t.list(LogMessage)], {
      description: 'As onLogMessages (this LogManager keeps no backlog)',
    }),
  },
  properties: {
    logLevel: property(t.int32, { initial: 4, description: 'The level set by setLevel (default 4, info)' }),
  },
});

/** The `LogManager` service. */
export const LogManagerDefinition = defineObject({
  description: 'Collects the log records of the processes of this bus and hands them to listeners',
  methods: {
    log: method([t.list(LogMessage)], t.void, { description: 'Logs records', paramNames: ['messages'] }),
    createListener: method([], t.object, {
      description: 'A new LogListener, alive as long as the connection that created it',
    }),
    getListener: method([], t.object, { description: 'Deprecated name of createListener' }),
    addProvider: method([t.object], t.int32, {
      description: 'Registers a LogProvider; returns its id',
      paramNames: ['provider'],
    }),
    removeProvider: method([t.int32], t.void, { description: 'Unregisters a LogProvider', paramNames: ['providerId'] }),
  },
});

/**
 * A record as sent: with, besides the dates, the `timestamp` {tv_sec, tv_usec} (from `systemDate`)
 * that LogManagers of libqicore before 2015 expect in its place. Fields are encoded by name for the
 * receiver's signature, so each takes the fields it knows.
 */
export function wireRecord(record: LogRecord): LogRecord & { timestamp: { tv_sec: bigint; tv_usec: bigint } } {
  const us = record.systemDate / 1000n;
  return { ...record, timestamp: { tv_sec: us / 1_000_000n, tv_usec: us % 1_000_000n } };
}
