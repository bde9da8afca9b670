/**
 * qi messages: the 28-byte header, message types and flags, and incremental framing with limits.
 * Depends only on the type layer; knows nothing of sockets.
 *
 * @packageDocumentation
 */
export {
  HEADER_SIZE,
  MAGIC,
  PROTOCOL_VERSION,
  MessageType,
  MessageFlags,
  WellKnown,
  messageTypeName,
  readHeader,
  writeHeader,
  hasMagic,
  type Header,
} from './header.js';
export {
  Message,
  encodeMessage,
  encodeInto,
  encodePayloadInto,
  writeMessageHeader,
  writeMessageHeaderOf,
  MAX_WIRE_PAYLOAD,
  type MessageFields,
} from './message.js';
export {
  FrameReader,
  parseMessages,
  defaultMaxPayload,
  DEFAULT_MAX_PAYLOAD,
  type FrameReaderOptions,
} from './frame-reader.js';
export { QiProtocolError, type ProtocolFault } from './errors.js';
