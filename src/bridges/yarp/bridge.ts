/**
 * The YARP bridge: qi members as YARP ports, registered with a YARP name server (`yarpserver`).
 * Allowlisted qi signals are output ports `/qi/<Service>/<signal>:o` that YARP readers connect to
 * (`yarp read /r /qi/S/sig:o`); allowlisted signals to emit are input ports `/qi/<Service>/<signal>:i`
 * (`yarp write /w /qi/S/sig:i`); allowlisted methods are served on one RPC port per service,
 * `/qi/<Service>/rpc:i` (`yarp rpc`, method name first). Like the ROS bridges it has no
 * authentication, so it never starts without `insecureUnauthenticated: true`, listens on loopback
 * unless told otherwise, and bridges nothing the allowlist does not name. See docs/bridges.md, "YARP".
 */
import { QiError } from '../../errors/index.js';
import { backendOf, type MethodInfo, type ObjectBackend } from '../../object/index.js';
import { Session, type SessionOptions } from '../../session/index.js';
import { isLoopbackHost } from '../../transport/index.js';
import { normalizePrefix, RosAllowlist } from '../ros/names.js';
import type { Bottle } from './bottle.js';
import { NameClient, parseNameServer } from './name-client.js';
import { YarpPort } from './port.js';
import { rpcReply } from './rpc.js';
import { fromBottleValue, toBottleValue } from './values.js';

/** Options of {@link YarpBridge.start}. */
export interface YarpBridgeOptions {
  /** Must be `true`: any program that reaches the name server or the ports may use what `allow` names. */
  insecureUnauthenticated: boolean;
  /** The YARP name server, `host:port` (`127.0.0.1:10000`, as `yarp where` prints it). */
  nameServer: string;
  /** The ServiceDirectory (default `QI_URL`, then tcp://127.0.0.1:9559); ignored when `session` is given. */
  sd?: string;
  /** A session to use instead of connecting one (it stays open when the bridge closes). */
  session?: Session;
  /** Options of the session the bridge connects. */
  sessionOptions?: SessionOptions;
  /** The address the ports listen on and register (default 127.0.0.1). */
  host?: string;
  /** Required for a `host` other than loopback, and to send to readers that are not on loopback. */
  allowNonLoopback?: boolean;
  /**
   * What is bridged, as for the ROS bridges: `signal:` rules publish qi signals on output ports,
   * `emit:` rules open input ports that emit into qi signals, `method:` rules serve methods. Default: nothing.
   */
  allow?: readonly string[];
  /** The port name prefix (default `/qi`). */
  prefix?: string;
  /** Longest wait for a qi method called from YARP (default 60,000 ms). */
  callTimeoutMs?: number;
  /** Most connections at once on each port, and readers per output port (default 64). */
  maxConnections?: number;
  /** Largest message read from a YARP peer (default 16 MiB). */
  maxMessageBytes?: number;
  /** Bytes waiting for a slow reader before emissions to it are dropped (default 8 MiB). */
  maxQueuedBytes?: number;
  /** Time a peer has to send its connection header (default 5,000 ms). */
  handshakeMs?: number;
  /** Receives warnings meant for the operator (default: printed on stderr). */
  onWarning?: (message: string) => void;
}

/** Why the bridge refuses to start without the acknowledgement. */
export const YARP_UNAUTHENTICATED_REFUSAL =
  'The YARP bridge has no authentication (YARP has none): every program that can reach the YARP name server ' +
  "or the bridge's ports can read, call and write into every qi member its allowlist names. " +
  'Start it only on a trusted machine or network, and acknowledge this with --insecure-unauthenticated ' +
  '(insecureUnauthenticated: true in the API).';

const configError = (m: string) => new QiError('ERR_QI_CONFIG', m);

/** Counters of a running bridge. */
export interface YarpBridgeMetrics {
  /** Bottles sent to readers, dropped for slow readers, received on input and RPC ports. */
  sent: number;
  dropped: number;
  received: number;
  /** Connections closed for a protocol error or a limit. */
  refused: number;
}

/** A running YARP bridge. */
export class YarpBridge {
  readonly allow: RosAllowlist;
  readonly prefix: string;
  /** The ports open, by name. */
  readonly ports = new Map<string, YarpPort>();
  private readonly unsubscribe: (() => Promise<void>)[] = [];
  private readonly seen = new Set<string>();
  private refusedCount = 0;
  private closed = false;
  private readonly warn: (m: string) => void;

  private constructor(
    readonly session: Session,
    private readonly ownsSession: boolean,
    readonly names: NameClient,
    private readonly options: YarpBridgeOptions,
  ) {
    this.allow = new RosAllowlist(options.allow ?? []);
    this.prefix = normalizePrefix(options.prefix ?? '/qi');
    this.warn = options.onWarning ?? ((m: string) => console.error(`qi: warning: ${m}`));
  }

  /**
   * Checks the options, connects to the ServiceDirectory, opens and registers the ports allowed.
   * @throws QiError `ERR_QI_CONFIG` without `insecureUnauthenticated`, for a non-loopback host without
   * `allowNonLoopback`, a bad name server address or rule; `ERR_QI_CONNECT` when the SD or the name
   * server cannot be reached
   */
  static async start(options: YarpBridgeOptions): Promise<YarpBridge> {
    if (options.insecureUnauthenticated !== true) throw configError(YARP_UNAUTHENTICATED_REFUSAL);
    const warn = options.onWarning ?? ((m: string) => console.error(`qi: warning: ${m}`));
    const host = options.host ?? '127.0.0.1';
    if (!isLoopbackHost(host)) {
      if (options.allowNonLoopback !== true)
        throw configError(
          `refusing to listen on ${host}: it is not a loopback address, so every machine that can reach it could use the YARP bridge without authentication. Confirm with --allow-non-loopback (allowNonLoopback: true).`,
        );
      warn(`the YARP bridge listens on ${host}, beyond this machine, WITHOUT AUTHENTICATION.`);
    }
    const server = parseNameServer(options.nameServer);
    try {
      new RosAllowlist(options.allow ?? []);
      normalizePrefix(options.prefix ?? '/qi');
    } catch (e) {
      throw configError((e as Error).message);
    }
    if ((options.allow ?? []).length === 0)
      warn('the YARP bridge bridges nothing (deny by default): name qi members with --yarp-allow.');
    const names = new NameClient(server);
    await names.list(); // fails early, with a clear error, when the name server is not there
    const session = options.session ?? (await Session.connect(options.sd, options.sessionOptions));
    const bridge = new YarpBridge(session, options.session === undefined, names, options);
    try {
      const off = await session.serviceAdded.connect((_id, name) => void bridge.bridgeService(name).catch(() => {}));
      bridge.unsubscribe.push(off);
      for (const s of await session.services()) await bridge.bridgeService(s.name);
    } catch (e) {
      await bridge.close();
      throw e;
    }
    return bridge;
  }

  /** The bridge's counters, summed over its ports. */
  get metrics(): YarpBridgeMetrics {
    const m = { sent: 0, dropped: 0, received: 0, refused: this.refusedCount };
    for (const p of this.ports.values()) {
      m.sent += p.counts.sent;
      m.dropped += p.counts.dropped;
      m.received += p.counts.received;
    }
    return m;
  }

  private async openPort(name: string, onData?: YarpPort['data'], publishes = false): Promise<YarpPort> {
    const o = this.options;
    const port = await YarpPort.open({
      name,
      host: o.host ?? '127.0.0.1',
      names: this.names,
      onData,
      publishes,
      allowNonLoopback: o.allowNonLoopback === true,
      maxConnections: o.maxConnections ?? 64,
      maxMessageBytes: o.maxMessageBytes ?? 16 * 1024 * 1024,
      maxQueuedBytes: o.maxQueuedBytes ?? 8 * 1024 * 1024,
      handshakeMs: o.handshakeMs ?? 5000,
      onRefused: (p, why) => {
        this.refusedCount++;
        this.warn(`a connection to the YARP port ${p} was closed: ${why}`);
      },
    });
    if (this.closed) {
      await port.close();
      throw new QiError('ERR_QI_CLOSED', 'the YARP bridge is closed');
    }
    this.ports.set(name, port);
    return port;
  }

  /** Opens the ports of the allowed members of `service` (once per member). */
  private async bridgeService(service: string): Promise<void> {
    if (this.closed || !this.allow.mentions(service)) return;
    let backend: ObjectBackend;
    try {
      backend = backendOf(await this.session.service(service))!;
    } catch (e) {
      return this.warn(`the YARP bridge cannot reach the qi service ${service}: ${(e as Error).message}`);
    }
    const base = `${this.prefix}/${service}`;
    for (const [name, info] of backend.type.signalsByName) {
      if (info.uid < 100) continue;
      const type = info.params.type;
      const sigs = type.kind === 'tuple' ? type.members : [type];
      if (this.allow.allows('signal', service, name) && !this.seen.has(`${service}.${name}:o`)) {
        this.seen.add(`${service}.${name}:o`);
        const port = await this.openPort(`${base}/${name}:o`, undefined, true);
        const off = await backend.subscribe(name, (args) => {
          try {
            port.write(sigs.map((s, i) => toBottleValue(s, args[i], `${service}.${name} argument ${i + 1}`)));
          } catch (e) {
            this.warn(`an emission of ${service}.${name} is not sent to YARP: ${(e as Error).message}`);
          }
        });
        this.unsubscribe.push(off);
      }
      if (this.allow.allows('emit', service, name) && !this.seen.has(`${service}.${name}:i`)) {
        this.seen.add(`${service}.${name}:i`);
        await this.openPort(`${base}/${name}:i`, async (b: Bottle, wantsReply: boolean, from: string) => {
          const what = `${service}.${name}`;
          try {
            if (b.length !== sigs.length)
              throw new QiError('ERR_QI_VALUE', `${what} takes ${sigs.length} values per Bottle, got ${b.length}`);
            backend.post(
              name,
              sigs.map((s, i) => fromBottleValue(s, b[i], `${what} value ${i + 1}`)),
            );
          } catch (e) {
            if (wantsReply)
              return [
                { t: 'vocab', v: 'fail' },
                { t: 'string', v: (e as Error).message },
              ];
            this.warn(`a Bottle from ${from} is not emitted: ${(e as Error).message}`);
          }
          return wantsReply ? [{ t: 'vocab', v: 'ok' }] : undefined;
        });
      }
    }
    const methods = new Map<string, MethodInfo[]>();
    for (const [name, all] of backend.type.methodsByName) {
      const overloads = all.filter((m) => m.uid >= 100);
      if (overloads.length > 0 && this.allow.allows('method', service, name)) methods.set(name, overloads);
    }
    if (methods.size > 0 && !this.seen.has(`${service}()`)) {
      this.seen.add(`${service}()`);
      const timeout = this.options.callTimeoutMs ?? 60_000;
      await this.openPort(`${base}/rpc:i`, (b) => rpcReply(backend, service, methods, b, timeout));
    }
  }

  /** Unregisters every port from the name server, closes them, stops watching qi, closes the session if its own. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.ports.values()].map((p) => p.close()));
    await Promise.allSettled(this.unsubscribe.map((off) => off()));
    if (this.ownsSession) await this.session.close();
  }
}
