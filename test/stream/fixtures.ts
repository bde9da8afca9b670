/** A camera-like service offering streams, and the writers it made (for tests to look at). */
import { LocalObject, QiStream, defineObject, method, stream, t, type QiStreamOptions } from '../../src/index.js';

export const Frame = t.struct('Frame', { index: t.int32, width: t.int32, data: t.raw });

export const Camera = defineObject({
  methods: {
    /** `count` frames of `size` bytes, each filled with `index & 255`. */
    frames: method([t.int32, t.int32], stream(Frame)),
    /** `count` raw chunks of `size` bytes, each filled with `index & 255`. */
    blobs: method([t.int32, t.int32], stream(t.raw)),
    /** `count` ints, then an error. */
    failAfter: method([t.int32, t.string], stream(t.int32)),
    /** Raw chunks of `size` bytes forever (until the reader closes), queue bound `highWaterMark`. */
    endless: method([t.int32, t.int32], stream(t.raw)),
    /** A plain call beside the streams. */
    ping: method([t.string], t.string),
  },
});

/** What one producer loop did. */
export interface Production {
  stream: QiStream<unknown>;
  written: number;
  /** 'ended', or the error that stopped the writer. */
  outcome: Promise<'ended' | Error>;
}

export function camera(streamOptions: QiStreamOptions = {}) {
  const made: Production[] = [];
  const produce = <T>(s: QiStream<T>, count: number, chunk: (i: number) => T, fail?: string): QiStream<T> => {
    const p: Production = { stream: s, written: 0, outcome: Promise.resolve('ended') };
    p.outcome = (async () => {
      try {
        for (let i = 0; i < count; i++) {
          await s.write(chunk(i));
          p.written++;
        }
        if (fail !== undefined) s.error(new Error(fail));
        else s.end();
        return 'ended' as const;
      } catch (e) {
        return e as Error;
      }
    })();
    made.push(p);
    return s;
  };
  const fill = (size: number, i: number) => Buffer.alloc(size, i & 255);
  const object = new LocalObject(Camera, {
    frames: (count, size) =>
      produce(new QiStream(Frame, { name: 'Camera.frames', ...streamOptions }), count, (i) => ({
        index: i,
        width: size,
        data: fill(size, i),
      })),
    blobs: (count, size) =>
      produce(new QiStream(t.raw, { name: 'Camera.blobs', ...streamOptions }), count, (i) => fill(size, i)),
    failAfter: (count, why) =>
      produce(new QiStream(t.int32, { name: 'Camera.failAfter', ...streamOptions }), count, (i) => i, why),
    endless: (size, hwm) => {
      const chunk = Buffer.alloc(size, 1);
      return produce(
        new QiStream(t.raw, { name: 'Camera.endless', ...streamOptions, highWaterMark: hwm }),
        Infinity,
        () => chunk,
      );
    },
    ping: (s) => `pong ${s}`,
  });
  return { object, made };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond()` holds, polling every 5 ms; fails after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
  return Date.now() - t0;
}

/** Resolves with what `p` settles to, or fails after `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
    ),
  ]);
}
