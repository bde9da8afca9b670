/**
 * `qimessaging/wire`: the protocol's building blocks below the user API, for tools, tests, benches and
 * programs that speak qi at the message level: the 28-byte header and message framing, the codec's
 * readers and writers, channels (one connection's handshake, ids and pending calls), transports and the
 * dialer registry, and the object plumbing (object servers, backends, proxies of a backend).
 *
 * Stability: this list follows the implementation and MAY CHANGE BETWEEN MINOR VERSIONS. Applications
 * use the root module (`qimessaging`), whose API follows semver; docs/api.md says what is where.
 *
 * @packageDocumentation
 */

// Messages: header, types and flags, framing with limits.
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
  Message,
  encodeMessage,
  encodeInto,
  MAX_WIRE_PAYLOAD,
  FrameReader,
  parseMessages,
  defaultMaxPayload,
  DEFAULT_MAX_PAYLOAD,
  type Header,
  type MessageFields,
  type FrameReaderOptions,
} from './message/index.js';

// The codec below encode/decode: byte readers and writers, bounds, MetaObject tables, reference scans.
export {
  Reader,
  Writer,
  MAX_EMPTY_ELEMENTS,
  MAX_NESTING_DEPTH,
  ZERO_COPY_THRESHOLD,
  tupleSignature,
  METAOBJECT_SIGNATURE,
  emptyMetaObject,
  createMetaObjectCache,
  scanReferences,
  mayHoldReferences,
  type ScalarKind,
  type TupleSignature,
  type CodecOptions,
  type MetaObjectCache,
  type ObjectHooks,
  type ReferenceSite,
} from './type/index.js';

// Channels: one connection's capabilities, handshake, message ids and pending calls.
export {
  Channel,
  newMessageId,
  CAPS_CODEC,
  CANCEL_CODEC,
  openChannel,
  acceptChannel,
  Capability,
  defaultCapabilities,
  mergeCapabilities,
  truthy,
  type RawAnswer,
  type Address,
  type MessageHandler,
  type OpenOptions,
  type AcceptOptions,
  type CapabilityMap,
} from './channel/index.js';

// Transports: endpoint URLs, connections and listeners carrying messages, the scheme and dialer registries.
export {
  parseEndpoint,
  formatEndpoint,
  connect,
  listen,
  Listener,
  MessageStream,
  registerDialer,
  dialerOf,
  registerScheme,
  type Endpoint,
  type NetworkEndpoint,
  type Scheme,
  type ConnectOptions,
  type ListenOptions,
  type StreamHandlers,
  type MessageStreamOptions,
  type Dialer,
  type DialOptions,
  type SchemeEntry,
  type Reach,
} from './transport/index.js';

// Objects: serving a LocalObject on a channel, backends, proxies of a backend, built-in members.
export {
  ObjectServer,
  RemoteBackend,
  InProcessBackend,
  resolveMethod,
  createProxy,
  enableObjectReferences,
  ObjectType,
  Builtin,
  builtinMetaObject,
  type MethodInfo,
  type SignalInfo,
  type PropertyInfo,
} from './object/index.js';

// Signatures of the services' own structures.
export { SERVICE_INFO_SIGNATURE, SERVICE_INFO_SIGNATURE_6 } from './session/index.js';
export { streamDefinition, batchSignature } from './stream/index.js';
