/**
 * What a listener grants a connection before the peer has authenticated, counted from the TCP accept
 * (before any TLS handshake or HTTP upgrade): a slot among those of its remote address, a deadline,
 * and a bound on the bytes it may send. Once the peer authenticates (the server side of the channel
 * says so through {@link MessageStream.authenticated}) the deadline and the bound are lifted; the slot
 * is held until the connection closes.
 */
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { MessageStream } from './message-stream.js';
import { plainAddress } from './peer.js';

/**
 * Open connections per remote address, with a bound. One table can be shared by several listeners
 * and by streams accepted other ways (a gateway's `acceptStream`), so that an address has one budget.
 */
export class AddressSlots {
  private readonly open = new Map<string, number>();

  /**
   * @param perAddress most connections open at once from one address
   * @param onRefused told of each connection refused for lack of a slot
   */
  constructor(
    readonly perAddress: number,
    private readonly onRefused?: (address: string) => void,
  ) {}

  /**
   * Takes a slot for a connection from `address` (an IP address, or {@link remoteHost} of a peer URL).
   * Returns the function that gives it back (call it when the connection closes; calling it again does
   * nothing), or `undefined` when the address has no slot left.
   */
  take(address: string): (() => void) | undefined {
    const key = plainAddress(address);
    const n = this.open.get(key) ?? 0;
    if (n >= this.perAddress) {
      this.onRefused?.(key);
      return undefined;
    }
    this.open.set(key, n + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }

  /** Connections open now from `address`. */
  count(address: string): number {
    return this.open.get(plainAddress(address)) ?? 0;
  }
}

/** What a listener enforces before authentication; see the module comment. */
export interface AdmissionOptions {
  /** The per-address table, shared by the listeners of a server (default: none; `ListenOptions.maxConnectionsPerAddress` makes one for its listener). */
  slots?: AddressSlots;
  /** Close a connection that has not authenticated this long after its TCP accept (default: never). */
  handshakeTimeoutMs?: number;
  /** Close a connection that sends more bytes than this before authenticating (default: no bound). */
  maxBytesBeforeAuth?: number;
}

/** The state of one accepted connection until it authenticates. */
class Admission {
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly raw: net.Socket,
    private readonly options: AdmissionOptions,
    /** Gives the connection's slot back (idempotent). */
    readonly release: () => void = () => {},
  ) {
    if (options.handshakeTimeoutMs !== undefined) {
      this.timer = setTimeout(() => raw.destroy(), options.handshakeTimeoutMs);
      this.timer.unref();
    }
  }

  /**
   * The qi stream of this connection exists: bytes read from `carrier` (the socket under the stream:
   * TCP, TLS, or the one under a WebSocket) count against the bound until the peer authenticates.
   */
  watch(stream: MessageStream, carrier: Duplex): void {
    const max = this.options.maxBytesBeforeAuth;
    if (max !== undefined) {
      let seen = 0;
      const count = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen <= max) return;
        stream.destroy(new Error(`${stream.remote} sent more than ${max} bytes before authenticating`));
        this.raw.destroy();
      };
      carrier.on('data', count);
      this.unwatch = () => carrier.off('data', count);
    }
    stream.onAuthenticated(() => this.lift());
  }

  /**
   * The connection left qi: an HTTP handler took its upgrade (another WebSocket protocol, e.g. the
   * classic bridge, which accounts for what it serves itself through `acceptStream`). No deadline,
   * bound or slot any more.
   */
  handOver(): void {
    this.lift();
    this.release();
  }

  /** No deadline nor byte bound any more: the peer authenticated, or an HTTP handler answers its requests. */
  lift(): void {
    clearTimeout(this.timer);
    this.unwatch?.();
    this.unwatch = undefined;
  }
}

/** The connections of one listener, found again by their socket until they close. */
export class Admissions {
  private readonly byRaw = new WeakMap<net.Socket, Admission>();
  /** TLS sockets are other objects over the raw one: found by remote address and port. */
  private readonly byPeer = new Map<string, Admission>();

  constructor(private readonly options: AdmissionOptions) {}

  /** Called on the raw TCP `connection` event: false when the connection was refused (and closed). */
  accept(raw: net.Socket): boolean {
    const release = this.options.slots?.take(String(raw.remoteAddress ?? 'local'));
    if (this.options.slots !== undefined && release === undefined) {
      raw.destroy();
      return false;
    }
    const admission = new Admission(raw, this.options, release);
    this.byRaw.set(raw, admission);
    const key = raw.remotePort === undefined ? undefined : `${raw.remoteAddress}|${raw.remotePort}`;
    if (key !== undefined) this.byPeer.set(key, admission);
    raw.once('close', () => {
      admission.handOver();
      if (key !== undefined && this.byPeer.get(key) === admission) this.byPeer.delete(key);
    });
    return true;
  }

  /** The admission of the connection under `socket` (the raw socket, or the TLS socket over it). */
  of(socket: net.Socket): Admission | undefined {
    return (
      this.byRaw.get(socket) ??
      (socket.remotePort === undefined ? undefined : this.byPeer.get(`${socket.remoteAddress}|${socket.remotePort}`))
    );
  }
}
