/**
 * What the fleet simulator's processes share: the robots' small qi service, the messages between the
 * coordinator and its children, and the rules of the run (scripts/fleet.ts says what it measures).
 */
import { defineObject, method, signal, t } from '../../src/index.js';

/** Each robot's service: a call to time, and a signal every {@link TICK_MS} to watch for gaps. */
export const FleetService = defineObject({
  methods: { add: method([t.int32, t.int32], t.int32) },
  signals: { tick: signal([t.int32]) },
});

export const TICK_MS = 500;
/** Logins in flight per robot process (a fleet booting at once, but not one SYN flood). */
export const LOGINS_IN_FLIGHT = 32;
/** Calls a client makes on one robot before it picks another. */
export const CALLS_PER_VISIT = 50;
/** Sessions a client keeps open (least recently used closed first). */
export const SESSIONS_PER_CLIENT = 8;

/** What a child reports on its memory and CPU. */
export interface Usage {
  rss: number;
  heapUsed: number;
  /** µs of CPU (user + system) since the process started. */
  cpu: number;
}

/** Coordinator -> robot process. */
export type ToRobots = { type: 'churn'; name: string } | { type: 'stats' } | { type: 'stop' };

/** Robot process -> coordinator. */
export type FromRobots =
  | {
      type: 'online';
      gateway: string;
      /** ms from the start order to the last robot's login. */
      ms: number;
      failed: string[];
      /** First logins that no server answered in time, tried again (robot: reason). */
      retried: string[];
      before: Usage;
      after: Usage;
    }
  | { type: 'stats'; usage: Usage; reconnected: Record<string, number>; refused: number };

/** Coordinator -> clients process. */
export type ToClients = { type: 'calls'; via: 'xmpp' | 'tcp'; seconds: number } | { type: 'usage' } | { type: 'stop' };

/** What one calls phase gave. */
export interface CallFigures {
  calls: number;
  failed: number;
  seconds: number;
  p50: number;
  p99: number;
  sessionsOpened: number;
  /** Session opening time, median (ms). */
  openP50: number;
  ticks: number;
  /** Missing tick numbers on a subscription that stayed up. */
  gaps: number;
  errors: string[];
}

/** Clients process -> coordinator. */
export type FromClients = { type: 'ready' } | { type: 'calls'; figures: CallFigures } | { type: 'usage'; usage: Usage };

/** This process's usage, after a full GC when node runs with --expose-gc. */
export function usage(): Usage {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const c = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, cpu: c.user + c.system };
}
