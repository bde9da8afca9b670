/**
 * Transports: endpoint URLs, client connections and listeners for tcp, tcps (TLS), tcpsm (mutual TLS)
 * and unix (same-machine IPC), each carrying qi messages with batched writes (MessageStream, in
 * message-stream.ts), and what accepted connections are granted before authentication (admission.ts).
 * Every URL scheme goes through one registry (schemes.ts: parse, print, route cost, refusals; dialers.ts:
 * how to open it): the built-in ones are registered in url.ts and connect.ts, plugged ones (xmpp) by the
 * package root, and the browser bundle registers its own ws dialer.
 *
 * @packageDocumentation
 */
export {
  parseEndpoint,
  formatEndpoint,
  isLoopbackHost,
  QiUrlError,
  DEFAULT_PORT,
  type Endpoint,
  type NetworkEndpoint,
  type Scheme,
} from './url.js';
export { kernelTcp, type KernelTcp, type TcpEnds } from './tcp-queue.js';
export { cutThrough, defaultCutThroughBytes, type IdleShare } from './cut-through.js';
export { MessageStream, type StreamHandlers, type MessageStreamOptions, type StreamPeer } from './message-stream.js';
export { connect, type ConnectOptions } from './connect.js';
export { listen, Listener, sweepStaleSockets, type ListenOptions } from './listen.js';
export { interfaceAddresses, watchAddresses, type InterfaceAddress, type StopWatch } from './addresses.js';
export { AddressSlots, type AdmissionOptions } from './admission.js';
export {
  certificateFingerprint,
  checkServer,
  normalizeFingerprint,
  type TlsClientOptions,
  type TlsServerOptions,
  type TrustAdvice,
} from './tls.js';
export {
  QiConnectError,
  QiTlsError,
  QiClosedError,
  type Advice,
  type ConnectHint,
  type FoundProtocol,
} from './errors.js';
export { explainNotQi } from './sniff.js';
export type { HttpHandler } from './websocket.js';
export { ownUpgrade, refuseUpgrade } from './upgrade.js';
export { originRule, originRefusal, type OriginRule } from './origin.js';
export { plainAddress, remoteHost, socketEndpoints } from './peer.js';
export { registerDialer, dialerOf, type Dialer, type DialOptions } from './dialers.js';
export { registerScheme, reachOf, type SchemeEntry, type Reach } from './schemes.js';
export type { PluggedEndpoints } from './url.js';
