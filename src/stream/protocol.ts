/**
 * How a stream looks on the wire: an ordinary qi object (no new message type, so libqi peers see plain
 * calls), one object type per chunk signature `T`:
 *
 * ```
 * next(I maxChunks) -> (L[T]bs)<StreamBatch,seq,chunks,end,error>   long poll: 1..maxChunks chunks, or the end
 * close() -> v                                                       the reader is done; the writer stops
 * finished() -> (Ls)<StreamEnd,chunks,error>                         answers when the stream is over
 * ```
 *
 * A reader keeps one `finished` call pending while it reads: when a relay (a gateway) loses the reader,
 * it cancels that call upstream, which closes the stream even when no `next` was waiting.
 *
 * `maxChunks` is the reader's credit: the writer never answers with more chunks than asked for. `seq` is
 * the number of the batch's first chunk (0 for the first chunk of the stream), so that a lost or
 * reordered batch is seen. `end` says no chunk follows; `error` (with `end`) is the writer's failure.
 */
import { compile, type Codec } from '../type/index.js';
import { defineObject, method, t, type ObjectDefinition, type QiType } from '../object/index.js';

/** One answer of `next`: chunks `seq`, `seq+1`, … and whether the stream ends after them. */
export interface StreamBatch<T = unknown> {
  /** Number of the first chunk of `chunks` in the stream (from 0). */
  seq: bigint;
  chunks: T[];
  /** No chunk follows these. */
  end: boolean;
  /** With `end`: the writer's error text ('' for a clean end). */
  error: string;
}

/** The signature of a `next` answer for chunks of signature `chunk`. */
export function batchSignature(chunk: string): string {
  return `(L[${chunk}]bs)<StreamBatch,seq,chunks,end,error>`;
}

/** Member names of a stream object. */
export const STREAM_METHODS = { next: 'next', close: 'close', finished: 'finished' } as const;

/** What `finished` answers: chunks taken by the reader, and the writer's error ('' for a clean end). */
export interface StreamEnd {
  chunks: bigint;
  error: string;
}

/** Signature of the answer of `finished`. */
export const STREAM_END_SIGNATURE = '(Ls)<StreamEnd,chunks,error>';

const definitions = new Map<string, ObjectDefinition>();

/** The definition (hence MetaObject) of a stream object of chunks of signature `chunk`; one per signature. */
export function streamDefinition(chunk: string): ObjectDefinition {
  let d = definitions.get(chunk);
  if (d === undefined) {
    compile(chunk); // a malformed signature fails here, with its position
    d = defineObject({
      description: `A stream of ${chunk} chunks: call next(maxChunks) until a batch says end; close() when done early`,
      methods: {
        next: method([t.uint32], t.sig(batchSignature(chunk)), {
          description: 'Waits for at least one chunk (or the end) and returns up to maxChunks of them',
          paramNames: [{ name: 'maxChunks', description: 'credit: the most chunks the reader takes now' }],
          returnDescription: 'seq of the first chunk, the chunks, end of stream, error text',
        }),
        close: method([], t.void, {
          description: 'The reader is done: pending and future writes fail, the writer stops',
        }),
        finished: method([], t.sig<StreamEnd>(STREAM_END_SIGNATURE), {
          description:
            'Answers when the stream is over (ended, failed or closed); canceling this call closes the stream',
          returnDescription: 'chunks taken by the reader, the error text of the writer (empty for a clean end)',
        }),
      },
    });
    definitions.set(chunk, d);
  }
  return d;
}

/** Codecs of a chunk signature (cached). */
const codecs = new Map<string, Codec>();
export function chunkCodec(chunk: string): Codec {
  let c = codecs.get(chunk);
  if (c === undefined) codecs.set(chunk, (c = compile(chunk)));
  return c;
}

/**
 * What a method returning a stream of `T` returns, as seen by TypeScript: the writer ({@link QiStream})
 * in the implementation, a proxy (or the writer itself in-process) at the caller, to give to
 * `openStream`. On the wire it is an object (`o`).
 */
export interface StreamRef<T> {
  /** Phantom field carrying the chunk type; never set. */
  readonly __chunk?: T;
}

/**
 * The qi type of a stream of `chunk` for method declarations: `openCamera: method([], stream(t.raw))`.
 * Its signature is `o` (an object by reference), which every libqi peer understands.
 */
export function stream<T>(chunk: QiType<T>): QiType<StreamRef<T>> & { readonly chunk: QiType<T> } {
  chunkCodec(chunk.signature);
  return { signature: 'o', chunk };
}

/** Default credit of a reader, in chunks. */
export const DEFAULT_CREDIT = 16;
/** Default number of chunks a writer queues before `write()` waits. */
export const DEFAULT_HIGH_WATER_MARK = 16;
/** A batch stops growing once its raw/string chunks reach this many bytes (one chunk at least). */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;
