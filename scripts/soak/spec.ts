/**
 * What the soak checks and how its processes talk: the timeouts and bounds (the specification of a pass, see
 * scripts/soak.ts's header), the traffic kinds, and the messages between the coordinator and its children.
 */
import type { StreamLoadStats, StreamServiceStats } from '../soak-streams.js';

/** One MiB. */
export const MiB = 1024 * 1024;
/** Bound of one call of a load. */
export const CALL_TIMEOUT_MS = 30_000;
/** Bound of connecting, looking a service up, subscribing and closing. */
export const SESSION_TIMEOUT_MS = 15_000;
/** Bound of a child's answer to a sample or snapshot request. */
export const REPLY_TIMEOUT_MS = 15_000;
/** Bound of a child getting ready. */
export const READY_TIMEOUT_MS = 20_000;
/** Bound of a child stopping. */
export const STOP_TIMEOUT_MS = 45_000;
/** Bounds: heapUsed may grow by HEAP_RATIO × baseline + HEAP_SLACK, handles by HANDLE_RATIO × baseline + HANDLE_SLACK. */
export const HEAP_RATIO = 0.2;
/** See {@link HEAP_RATIO}. */
export const HEAP_SLACK = 10 * MiB;
/** See {@link HEAP_RATIO}. */
export const HANDLE_RATIO = 0.2;
/** See {@link HEAP_RATIO}. */
export const HANDLE_SLACK = 16;
/** Sockets the server or the gateway may hold after the load, beyond what it held before (shared upstream connections). */
export const QUIESCED_SOCKET_SLACK = 4;
/** Samples whose median is compared (the last ones of the warm-up, the last ones of the run). */
export const MEDIAN_OF = 3;
/** A stream writer still open this long after it was made was never released. */
export const STREAM_RELEASE_MS = 30_000;
/** The longest run. */
export const MAX_SECONDS = 24 * 3600;
/** The kinds of traffic (`--skip` leaves some out). */
export const TASKS = [
  'add',
  'concurrent',
  'large',
  'objects',
  'cancel',
  'churn',
  'signals',
  'property',
  'streams',
  'abandon',
];

// ---------------------------------------------------------------------------------------------------
// Messages between the coordinator and its children.

/** A process's memory and handles, after a full GC. */
export interface Sample {
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  handles: Record<string, number>;
}

/** What a load process counts. */
export interface LoadStats {
  calls: Record<string, number>;
  /** Payload bytes sent and received by echoRaw. */
  bytes: number;
  /** Unexpected errors by `task:code`. */
  errors: Record<string, number>;
  /** Expected outcomes (cancellations, timeouts) by `task:code`. */
  expected: Record<string, number>;
  wrong: number;
  problems: string[];
  signals: { received: number; expected: number; gaps: number; duplicates: number; subscribers: number };
  property: { sets: number; events: number; gaps: number; duplicates: number };
  connects: { direct: number; gateway: number };
  objects: number;
  /** slow() calls canceled by an AbortSignal or by their timeout. */
  canceled: number;
  /** slow() calls answered before their cancellation or timeout could happen (this process held up). */
  answeredFirst: number;
  /** slow() calls canceled while they waited for a lane to open (docs/reliability.md): never sent, never run. */
  unsent: number;
  streams: StreamLoadStats;
  /** Gateway sessions closed without releasing their objects; the objects they held; those with a makeCounter call still on its way. */
  abandon: { sessions: number; objects: number; inFlight: number };
}

/** What the server process reports besides its sample. */
export interface ServerExtra {
  emitted: number;
  aborted: number;
  slowCompleted: number;
  channels: number;
  droppedEvents: number;
  /** Objects served by reference (not a service's main object) on all the server's connections. */
  objects: number;
  streams: StreamServiceStats;
}

/** Coordinator to child. */
export type ToChild =
  { type: 'sample'; id: number } | { type: 'stop' } | { type: 'snapshot'; id: number; file: string };
/** Child to coordinator. */
export type FromChild =
  | { type: 'ready'; info: Record<string, unknown> }
  | { type: 'sample'; id: number; sample: Sample; stats?: LoadStats; extra?: Record<string, unknown> }
  | { type: 'snapshot'; id: number; file: string }
  | { type: 'stopped'; stats?: LoadStats; extra?: Record<string, unknown> }
  | { type: 'fatal'; error: string }
  | { type: 'warning'; warning: string };
