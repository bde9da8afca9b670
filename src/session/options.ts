/** What a {@link Session} can be told: credentials, TLS, limits, reconnection, routes, transports. */
import type {
  Authenticator,
  CapabilityMap,
  ChannelLimits,
  ClientAuthenticator,
  Credentials,
} from '../channel/index.js';
import type { TlsClientOptions, TlsServerOptions } from '../transport/index.js';
import type { FollowOptions } from './follow.js';
import type { ReconnectOptions } from './resilient.js';

/** Options of a {@link Session}; every field is optional. */
export interface SessionOptions {
  /** Credentials for the connections this session opens (NAOqi 2.9: `{ user: 'nao', token: '…' }`). */
  auth?: Credentials | ClientAuthenticator;
  /** TLS settings for `tcps`/`tcpsm` connections this session opens. */
  tls?: TlsClientOptions;
  /** Require authentication from clients of this session's listeners. */
  authenticator?: Authenticator;
  /** Certificate and key for `tcps`/`tcpsm` listeners. */
  listenTls?: TlsServerOptions;
  /** Give up connecting to an endpoint after this long: TCP, TLS and the qi handshake together (default 10,000 ms). */
  connectTimeoutMs?: number;
  /** Also listen on a unix socket for same-machine clients when listening on TCP (default true). */
  ipc?: boolean;
  /** Largest message payload accepted (default `QI_MAX_MESSAGE_PAYLOAD` or 50,000,000). */
  maxPayload?: number;
  /** Limits of every connection: pending and incoming calls, queues for slow peers, heartbeat (docs/reliability.md). */
  limits?: ChannelLimits;
  /**
   * Reconnect by itself (default on): when the ServiceDirectory or a service connection is lost, calls
   * wait for a new connection (within their timeout), signal subscriptions are made again, and services
   * this session registered are registered again (they get new ids). `false` turns it off.
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Call services of this process directly, without bytes (default true). `false` always goes through a
   * socket, as a service in another process would be reached: for tests and measurements.
   */
  lpc?: boolean;
  /** Drop a client that has not completed the handshake after this long (default 20,000 ms). */
  handshakeTimeoutMs?: number;
  /** Most connections accepted at once on each listener; more are closed at once (default: no limit). */
  maxConnections?: number;
  /** Options of plugged-in transports, by scheme, e.g. `{ xmpp: { service, jid, password } }` for `xmpp://` URLs. */
  transports?: Record<string, unknown>;
  /** Capabilities to advertise on every connection (default: libqi 4.x's set). */
  capabilities?: CapabilityMap;
  /**
   * Follow the machine's addresses (default on): a session listening on `0.0.0.0` or `::` sends the
   * ServiceDirectory the new endpoints of its services when an address appears, goes or changes
   * (docs/roaming.md). `false` keeps the endpoints of registration time.
   */
  followAddresses?: boolean | FollowOptions;
  /**
   * Small calls made while a message larger than this crosses a connection (a call of ours until its
   * answer, or a message coming in) go over a second connection to the same endpoint, a lane, opened on
   * demand and closed when idle, instead of waiting behind it (docs/reliability.md). Default
   * 65,536 (`QI_LANE_BYTES`); 0 turns lanes off. `tcp`/`tcps` connections only.
   */
  laneBytes?: number;
  /** Reach every endpoint through this HTTP proxy (`http://[user:password@]host:port`; default `QI_PROXY`). */
  proxy?: string;
}

/** Options of a service lookup. */
export interface ServiceOptions {
  /** Give up the lookup after this long. */
  timeoutMs?: number;
  /** Cancels the lookup. */
  signal?: AbortSignal;
}
