/**
 * qimessaging: the qiMessaging service bus of NAO and Pepper robots, for Node.js.
 *
 * This entry point is the user API, as an explicit list: connecting and sessions, defining and serving
 * objects, the values and types an application writes, errors, hosting a ServiceDirectory or a gateway,
 * streams and logging (docs/api.md lists it by group). Anything else is a choice, not an accident:
 * wire-level pieces (messages, channels, codecs, transports) are in `qimessaging/wire`, remote transports
 * (XMPP, direct ICE links) in `qimessaging/remote`, the gateway's web pages in `qimessaging/web` and the
 * ROS bridge in `qimessaging/bridges`. test/package/exports.test.ts holds this list: a new export is
 * added there too.
 *
 * @packageDocumentation
 */
import './plugged.js'; // xmpp:// (and other transports of higher layers) for Session.connect, loaded on first use

// Connecting, sessions and services.
export {
  Session,
  machineId,
  machineIdFromSystemd,
  type SessionOptions,
  type ServiceOptions,
  type ServiceInfo,
  type ReconnectOptions,
  type FollowOptions,
} from './session/index.js';
export {
  userTokenAuthenticator,
  type CallOptions,
  type ChannelLimits,
  type Credentials,
  type ClientAuthenticator,
  type Authenticator,
  type AuthResult,
} from './channel/index.js';
export { certificateFingerprint, type TlsClientOptions, type TlsServerOptions } from './transport/index.js';

// Defining, serving and using objects.
export {
  t,
  defineObject,
  method,
  signal,
  property,
  LocalObject,
  inWorker,
  backendOf,
  type QiType,
  type TypeOf,
  type TypesOf,
  type MethodDef,
  type SignalDef,
  type PropertyDef,
  type MethodOptions,
  type ObjectDefinition,
  type Implementation,
  type CallContext,
  type LocalObjectOptions,
  type SignalListener,
  type WorkerPoolOptions,
  type ProxyOf,
  type ProxyFor,
  type AnyProxy,
  type QiSignal,
  type SignalIterator,
  type SignalGap,
  type QiProperty,
  type ObjectBackend,
} from './object/index.js';

// Values and types: dynamic values, object references, signatures, MetaObjects, encoding.
export {
  Dynamic,
  ObjectReference,
  toDynamic,
  parseSignature,
  printSignature,
  signaturesEqual,
  inferSignature,
  compile,
  encode,
  decode,
  type Signature,
  type Codec,
  type EncodeOptions,
  type DecodeOptions,
  type MetaObject,
  type MetaMethod,
  type MetaMethodParameter,
  type MetaSignal,
  type MetaProperty,
} from './type/index.js';

// Errors: every error of the package is a QiError with a stable `code`.
export { QiError, type QiErrorCode } from './errors/index.js';
export { QiSignatureError, QiValueError, QiDecodeError, QiScanBudgetError } from './type/index.js';
export { QiProtocolError, type ProtocolFault } from './message/index.js';
export {
  QiUrlError,
  QiConnectError,
  QiTlsError,
  QiClosedError,
  type Advice,
  type ConnectHint,
  type FoundProtocol,
} from './transport/index.js';
export { QiAuthError, QiCallError, QiTimeoutError, QiCanceledError, QiLimitError } from './channel/index.js';
export { QiMethodError, QiArgumentsError } from './object/index.js';
export { QiNoRouteError } from './session/index.js';
export { QiConfigError } from './gateway/index.js';
export { QiStreamError, QiStreamClosedError, QiStreamBrokenError } from './stream/index.js';

// Hosting: a ServiceDirectory, a gateway.
export { listenStandalone, ServiceDirectory, ServiceDirectoryDefinition, type DirectoryOptions } from './sd/index.js';
export {
  Gateway,
  Access,
  checkAccessConfig,
  loadAccessConfig,
  type GatewayOptions,
  type GatewayMetrics,
  type AccessConfig,
  type GatewayUser,
  type Rules,
  type Identity,
  type AuthThrottleOptions,
} from './gateway/index.js';
export type { HttpHandler } from './transport/index.js';

// Streams of chunks (camera frames, audio).
export {
  stream,
  QiStream,
  QiStreamReader,
  openStream,
  type QiStreamOptions,
  type OpenStreamOptions,
  type StreamRef,
  type StreamBatch,
  type StreamEnd,
} from './stream/index.js';

// Logging: a logger for services, a LogManager, and libqicore's log services for typed proxies.
export {
  createLogger,
  serveLogManager,
  LogManager,
  LogLevel,
  LogMessage,
  LogManagerDefinition,
  LogListenerDefinition,
  type Logger,
  type LoggerOptions,
  type LogManagerOptions,
  type LogLevelName,
  type LogRecord,
} from './log/index.js';
