/**
 * Streams: a service offers a stream of typed or raw chunks (camera frames, audio) that a client reads
 * as an async iterator, with credit-based backpressure, over any qi transport. A stream is an ordinary
 * qi object (methods `next`, `close`, `finished`), so libqi peers see plain calls; see docs/streams.md.
 *
 * @packageDocumentation
 */
export { QiStream, type QiStreamOptions } from './writer.js';
export { QiStreamReader, openStream, type OpenStreamOptions } from './reader.js';
export { QiStreamError, QiStreamClosedError, QiStreamBrokenError } from './errors.js';
export {
  stream,
  streamDefinition,
  batchSignature,
  type StreamRef,
  type StreamBatch,
  type StreamEnd,
} from './protocol.js';
