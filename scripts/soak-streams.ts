/**
 * The `streams` traffic of the soak (scripts/soak.ts): a stream service for the server process, and the
 * reading loop of a load process.
 *
 * `SoakStreams.frames(count, seed)` returns a new stream of `count` typed frames `{ index, size, data }`;
 * frame i carries 1–64 KiB of data taken from a pool of bytes that every process builds alike, its size and
 * place in the pool derived from (seed, i), so that a reader checks each frame (index in order, size and
 * every byte) with one memcmp. The service counts every QiStream it made until its `finished` settles
 * (ended: the reader took all; closed: the reader broke off, closed its session or went away); a writer
 * still open long after it was made was never released.
 */
import {
  LocalObject,
  QiStream,
  QiStreamClosedError,
  defineObject,
  method,
  openStream,
  stream,
  t,
  type AnyProxy,
  type Session,
} from '../src/index.js';
import { mix32 } from '../test/helpers/rng.js';
import type { Random } from './soak/tools.js';

export const KiB = 1024;
/** Frames are 1..64 KiB. */
const MIN_FRAME = 1 * KiB;
const MAX_FRAME = 64 * KiB;
const POOL_BYTES = 256 * KiB;
/** Most frames one stream may ask for. */
const MAX_FRAMES = 10_000;

export const SoakFrame = t.struct('SoakFrame', { index: t.int32, size: t.int32, data: t.raw });
export interface SoakFrameValue {
  index: number;
  size: number;
  data: Uint8Array;
}

export const SoakStreams = defineObject({
  methods: {
    /** `count` frames; frame i's size and data derive from (seed, i) (see {@link expectedFrame}). */
    frames: method([t.int32, t.int32], stream(SoakFrame)),
  },
});

/** The same bytes in every process. */
const pool: Buffer = (() => {
  const b = Buffer.alloc(POOL_BYTES);
  for (let i = 0; i < POOL_BYTES; i += 4) b.writeUInt32LE(mix32(i ^ 0x5eed), i);
  return b;
})();

/** Frame `index` of stream `seed`: its size and data (a view of the shared pool). */
export function expectedFrame(seed: number, index: number): { size: number; data: Buffer } {
  const h = mix32(seed ^ Math.imul(index + 1, 0x9e3779b1));
  const size = MIN_FRAME + (h % (MAX_FRAME - MIN_FRAME + 1));
  const offset = mix32(h) % (POOL_BYTES - size + 1);
  return { size, data: pool.subarray(offset, offset + size) };
}

/** What the service side reports. */
export interface StreamServiceStats {
  /** QiStreams made. */
  made: number;
  /** Streams whose reader took every frame and the end (`finished` resolved). */
  ended: number;
  /** Streams closed before their end: the reader broke off or went away (`finished` rejected). */
  closed: number;
  /** Streams still open now. */
  open: number;
  /** Of those, the ones open for longer than the bound: writers never released. */
  overdue: number;
  /** Age of the oldest open stream, ms. */
  oldestMs: number;
  /** Writers that stopped on something other than the reader closing (a bug). */
  writerErrors: number;
  writerProblems: string[];
}

/** The stream service for the server process; `stats(boundMs)` counts what it made and what is still open. */
export function streamService() {
  const live = new Map<QiStream<SoakFrameValue>, number>();
  const s: Omit<StreamServiceStats, 'open' | 'overdue' | 'oldestMs'> = {
    made: 0,
    ended: 0,
    closed: 0,
    writerErrors: 0,
    writerProblems: [],
  };
  const object = new LocalObject(SoakStreams, {
    frames: (count, seed) => {
      if (!(count >= 1 && count <= MAX_FRAMES)) throw new Error(`count must be 1..${MAX_FRAMES}, got ${count}`);
      const w = new QiStream(SoakFrame, { name: 'SoakStreams.frames', highWaterMark: 8 });
      s.made++;
      live.set(w, Date.now());
      w.finished
        .then(
          () => s.ended++,
          () => s.closed++,
        )
        .finally(() => live.delete(w));
      void (async () => {
        try {
          for (let i = 0; i < count && !w.signal.aborted; i++) {
            const f = expectedFrame(seed, i);
            await w.write({ index: i, size: f.size, data: f.data });
          }
          w.end();
        } catch (e) {
          // The reader closed the stream or went away: the writer's write() says so. Anything else is a bug.
          if (!(e instanceof QiStreamClosedError)) {
            s.writerErrors++;
            if (s.writerProblems.length < 10)
              s.writerProblems.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
            w.destroy(e);
          }
        }
      })();
      return w;
    },
  });
  const stats = (boundMs: number): StreamServiceStats => {
    const now = Date.now();
    let overdue = 0;
    let oldest = 0;
    for (const t0 of live.values()) {
      oldest = Math.max(oldest, now - t0);
      if (now - t0 > boundMs) overdue++;
    }
    return { ...s, writerProblems: [...s.writerProblems], open: live.size, overdue, oldestMs: oldest };
  };
  return { object, stats };
}

/** What a load counts. */
export interface StreamLoadStats {
  /** Streams opened (all variants). */
  opened: number;
  /** Read to their end, every frame checked. */
  completed: number;
  /** Left early with `break` (the writer must be released). */
  brokenOff: number;
  /** Their whole session closed mid-stream. */
  sessionClosed: number;
  /** Frames received and checked. */
  chunks: number;
  /** Bytes of frame data received. */
  bytes: number;
}

export const emptyStreamStats = (): StreamLoadStats => ({
  opened: 0,
  completed: 0,
  brokenOff: 0,
  sessionClosed: 0,
  chunks: 0,
  bytes: 0,
});

export interface StreamLoadContext {
  stats: StreamLoadStats;
  /** The load's PRNG. */
  r: Random;
  wrong(task: string, text: string): void;
  /** The session for the plain variants (kept open by the load). */
  session: Session;
  /** Opens a new session on this route (for the variant that closes it mid-stream). */
  connect(): Promise<Session>;
  close(s: Session): Promise<void>;
  lookupTimeoutMs: number;
  callTimeoutMs: number;
}

/** Checks one frame; false (after telling `wrong`) when it is not frame `i` of stream `seed`. */
function check(ctx: StreamLoadContext, task: string, seed: number, i: number, f: SoakFrameValue): boolean {
  const want = expectedFrame(seed, i);
  const data = f.data;
  if (f.index !== i)
    return (ctx.wrong(task, `stream ${seed}: frame #${i} came with index ${f.index} (lost or reordered)`), false);
  if (f.size !== want.size || data.byteLength !== want.size)
    return (
      ctx.wrong(
        task,
        `stream ${seed}: frame #${i} of ${data.byteLength} bytes (size field ${f.size}), expected ${want.size}`,
      ),
      false
    );
  if (!Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(want.data))
    return (ctx.wrong(task, `stream ${seed}: frame #${i} has other bytes than expected`), false);
  ctx.stats.chunks++;
  ctx.stats.bytes += data.byteLength;
  return true;
}

/**
 * One round of the `streams` traffic on one route: opens a stream of 20–200 frames and reads it with a
 * random credit, fully (70%), breaking off early (20%), or (10%) on a session of its own that it then
 * closes mid-stream.
 */
export async function streamRound(ctx: StreamLoadContext, task: string): Promise<void> {
  const { r, stats } = ctx;
  const count = r.int(20, 201);
  const seed = r.int(0, 2 ** 31);
  const credit = r.int(1, 33);
  const p = r.next();
  const variant = p < 0.7 ? 'full' : p < 0.9 ? 'break' : 'session';
  const session = variant === 'session' ? await ctx.connect() : ctx.session;
  try {
    const svc = (await session.service('SoakStreams', { timeoutMs: ctx.lookupTimeoutMs })) as AnyProxy;
    const ref = await svc.frames(count, seed, { timeoutMs: ctx.callTimeoutMs });
    stats.opened++;
    // Read by hand: a `break` out of `for await` would close the stream, which the session variant must not do.
    const stopAt = variant === 'full' ? count : r.int(0, count);
    const reader = openStream<SoakFrameValue>(ref as object, { credit, name: `${task} stream ${seed}` });
    for (let i = 0; i < stopAt; i++) {
      const n = await reader.next();
      if (n.done) {
        ctx.wrong(task, `stream ${seed}: the end after ${i} frames of ${count}`);
        return;
      }
      if (!check(ctx, task, seed, i, n.value)) {
        await reader.return();
        return;
      }
    }
    if (variant === 'full') {
      const n = await reader.next();
      if (!n.done) {
        ctx.wrong(task, `stream ${seed}: a frame (index ${n.value.index}) after the last of ${count}`);
        await reader.return();
      } else stats.completed++;
    } else if (variant === 'break') {
      await reader.return();
      stats.brokenOff++;
    } else {
      // The whole session is closed below with the stream open: the reader is left as it is.
      stats.sessionClosed++;
    }
  } finally {
    if (variant === 'session') await ctx.close(session);
  }
}
