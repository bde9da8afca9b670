/**
 * qimessaging for browsers: the same Session, proxies, types and errors as in Node, built from the same
 * modules, reaching a gateway's `ws://` or `wss://` endpoint with the browser's WebSocket (qi binary
 * frames). Bundled by scripts/build-web.mjs into dist/web/qimessaging.mjs; Node built-ins are shims
 * (./shims). What needs a socket server or files (listening, IPC, TLS sockets, worker pools) is Node-only.
 *
 * `Session.connect()` without a URL connects to `ws(s)://<this page's host>/qi`, a gateway's default.
 *
 * @packageDocumentation
 */
import { registerDialer } from '../../transport/dialers.js';
import { dialWebSocket } from './websocket.js';

registerDialer('ws', dialWebSocket);
registerDialer('wss', dialWebSocket);

export { Session, type SessionOptions, type ServiceOptions, type ServiceInfo } from '../../session/index.js';
export {
  t,
  method,
  signal,
  property,
  defineObject,
  LocalObject,
  QiMethodError,
  backendOf,
  ObjectType,
  type QiType,
  type TypeOf,
  type TypesOf,
  type MethodDef,
  type SignalDef,
  type PropertyDef,
  type ObjectDefinition,
  type Implementation,
  type CallContext,
  type ProxyOf,
  type AnyProxy,
  type QiSignal,
  type QiProperty,
  type ObjectBackend,
} from '../../object/index.js';
export {
  Dynamic,
  ObjectReference,
  encode,
  decode,
  compile,
  parseSignature,
  printSignature,
  inferSignature,
  QiValueError,
  QiDecodeError,
  QiSignatureError,
  shortestFloat32,
  toJsonValue,
  type JsonOptions,
  type Signature,
  type MetaObject,
  type MetaMethod,
  type MetaSignal,
  type MetaProperty,
} from '../../type/index.js';
export {
  QiAuthError,
  QiCallError,
  QiTimeoutError,
  QiCanceledError,
  QiLimitError,
  type CallOptions,
  type Credentials,
} from '../../channel/index.js';
export {
  QiConnectError,
  QiClosedError,
  QiUrlError,
  parseEndpoint,
  formatEndpoint,
  registerDialer,
  type Endpoint,
} from '../../transport/index.js';
export { QiError, type QiErrorCode } from '../../errors/index.js';
export { WebSocketByteStream, dialWebSocket } from './websocket.js';
export { sameOriginUrl } from './origin.js';
export { Buffer } from 'buffer';
