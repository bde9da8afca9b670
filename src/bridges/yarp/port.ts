/**
 * A YARP port of the bridge: a TCP listener registered with the name server under its port name. What
 * it carries is its handler's business (./bridge.ts): an output port publishes Bottles to the readers
 * YARP asked it to add (`yarp read`, `yarp connect`), an input port hands written Bottles to qi, an RPC
 * port answers each. Every port answers YARP's administrative commands (./admin.ts). Connections are
 * bounded in number per port; outputs only go to ports the name server knows, on loopback unless the
 * bridge was told otherwise.
 */
import net from 'node:net';
import { QiError } from '../../errors/index.js';
import { isLoopbackHost } from '../../transport/index.js';
import { encodeBottle, type Bottle } from './bottle.js';
import { adminReply, type AdminTarget } from './admin.js';
import { serveInbound, type InboundPort } from './inbound.js';
import type { NameClient } from './name-client.js';
import { YarpOutput } from './output.js';
import type { SocketReader } from './socket-reader.js';

/** Options of a port, from the bridge's. */
export interface YarpPortOptions {
  name: string;
  host: string;
  names: NameClient;
  /** Handles written Bottles; absent: the port takes none (an output port). */
  onData?: (bottle: Bottle, wantsReply: boolean, from: string) => Promise<Bottle | undefined>;
  /** Whether readers may be added (output ports). */
  publishes: boolean;
  allowNonLoopback: boolean;
  maxConnections: number;
  maxMessageBytes: number;
  maxQueuedBytes: number;
  handshakeMs: number;
  onRefused: (port: string, why: string) => void;
}

export class YarpPort implements InboundPort, AdminTarget {
  readonly outputs = new Map<string, YarpOutput>();
  readonly inputs = new Set<string>();
  private readonly sockets = new Set<net.Socket>();
  /** Bottles handed to readers, and dropped because a reader was behind. */
  readonly counts = { sent: 0, dropped: 0, received: 0 };
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    readonly tcpPort: number,
    private readonly options: YarpPortOptions,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  get name(): string {
    return this.options.name;
  }

  get publishes(): boolean {
    return this.options.publishes;
  }

  /**
   * Listens and registers with the name server.
   * @throws QiError `ERR_QI_CONNECT` when the name server cannot be reached or refuses
   */
  static async open(options: YarpPortOptions): Promise<YarpPort> {
    const server = net.createServer();
    server.maxConnections = options.maxConnections;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, options.host, () => resolve());
    });
    const port = new YarpPort(server, (server.address() as net.AddressInfo).port, options);
    try {
      await options.names.register(options.name, options.host, port.tcpPort);
    } catch (e) {
      server.close();
      throw e;
    }
    return port;
  }

  private accept(socket: net.Socket): void {
    if (this.closed) return void socket.destroy();
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    const { maxMessageBytes, handshakeMs } = this.options;
    void serveInbound(socket, this, { maxMessageBytes, handshakeMs });
  }

  async data(bottle: Bottle, wantsReply: boolean, from: string): Promise<Bottle | undefined> {
    this.counts.received++;
    const handler = this.options.onData;
    if (!handler)
      return wantsReply
        ? [
            { t: 'vocab', v: 'fail' },
            { t: 'string', v: `${this.name} takes no input: it publishes` },
          ]
        : undefined;
    this.inputs.add(from);
    return handler(bottle, wantsReply, from);
  }

  admin(bottle: Bottle, from: string): Promise<Bottle> {
    return adminReply(this, bottle, from);
  }

  reverse(from: string, socket: net.Socket, reader: SocketReader, acked: boolean): void {
    if (!this.publishes || this.outputs.has(from)) return void socket.destroy();
    this.keep(YarpOutput.reversed(from, socket, reader, acked, this.options.maxQueuedBytes));
  }

  refused(why: string): void {
    this.options.onRefused(this.name, why);
  }

  private keep(out: YarpOutput): void {
    this.outputs.set(out.target, out);
    void out.done.then(() => {
      if (this.outputs.get(out.target) === out) this.outputs.delete(out.target);
    });
  }

  /**
   * Adds a reader, found through the name server.
   * @throws QiError `ERR_QI_CONNECT` when it is unknown, not on loopback (unless allowed) or unreachable
   */
  async addOutput(target: string): Promise<void> {
    if (this.closed) throw new QiError('ERR_QI_CLOSED', `${this.name} is closed`);
    if (this.outputs.has(target)) return;
    if (this.outputs.size >= this.options.maxConnections)
      throw new QiError('ERR_QI_LIMIT', `${this.name} already has ${this.outputs.size} readers`);
    const c = await this.options.names.query(target);
    if (!c) throw new QiError('ERR_QI_CONNECT', `the name server does not know ${target}`);
    if (c.carrier !== 'tcp' && c.carrier !== 'fast_tcp' && c.carrier !== 'text')
      throw new QiError('ERR_QI_CONNECT', `${target} is a ${c.carrier} port: this bridge connects with tcp only`);
    if (!isLoopbackHost(c.host) && !this.options.allowNonLoopback)
      throw new QiError(
        'ERR_QI_CONNECT',
        `${target} is at ${c.host}, not on this machine: the bridge connects to loopback only unless allowNonLoopback`,
      );
    const out = await YarpOutput.open(target, c.host, c.port, this.name, this.options.maxQueuedBytes);
    if (this.closed || this.outputs.has(target)) return out.close();
    this.keep(out);
  }

  /** Removes a reader; false when it was not one. */
  removeOutput(target: string): boolean {
    const out = this.outputs.get(target);
    out?.close();
    return this.outputs.delete(target);
  }

  /** Sends a Bottle to every reader. */
  write(bottle: Bottle): void {
    if (this.outputs.size === 0) return;
    const bytes = encodeBottle(bottle);
    for (const out of this.outputs.values()) {
      if (out.send(bytes)) this.counts.sent++;
      else this.counts.dropped++;
    }
  }

  /** Unregisters, closes the readers' connections and every inbound connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.options.names.unregister(this.name).catch(() => {});
    for (const out of this.outputs.values()) out.close();
    this.outputs.clear();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
