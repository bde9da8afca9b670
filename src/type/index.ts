/**
 * The qi type system: signatures, the JS value model and the binary codec. Knows nothing of messages
 * or sockets. Also the value rules every upper layer shares: the one qi → JSON conversion (json.ts), the
 * one wildcard pattern (glob.ts), and the search of encoded bytes for object references (ref-scan.ts).
 *
 * @packageDocumentation
 */
export {
  parseSignature,
  printSignature,
  signaturesEqual,
  stripAnnotations,
  tupleSignature,
  QiSignatureError,
  MAX_NESTING_DEPTH,
  type Signature,
  type ScalarKind,
  type TupleSignature,
} from './signature.js';
export { compile, encode, decode, type Codec, type DecodeOptions, type EncodeOptions } from './codec.js';
export { inferSignature, toDynamic } from './infer.js';
export {
  Dynamic,
  ObjectReference,
  METAOBJECT_SIGNATURE,
  emptyMetaObject,
  type MetaObject,
  type MetaMethod,
  type MetaMethodParameter,
  type MetaSignal,
  type MetaProperty,
} from './value.js';
export { QiValueError, QiDecodeError, describeValue, annotate } from './errors.js';
export { shortestFloat32 } from './float32.js';
export { toJsonValue, type JsonOptions } from './json.js';
export { globRegExp } from './glob.js';
export { createMetaObjectCache, type CodecOptions, type MetaObjectCache, type ObjectHooks } from './options.js';
export { Reader, MAX_EMPTY_ELEMENTS } from './reader.js';
export { Writer, ZERO_COPY_THRESHOLD } from './writer.js';
export {
  scanReferences,
  mayHoldReferences,
  needsReferenceScan,
  QiScanBudgetError,
  type ReferenceSite,
} from './ref-scan.js';
