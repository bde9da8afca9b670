/**
 * A ROS 1 node: it registers with a rosmaster (ROS/Master_API), answers the slave API that the master
 * and other nodes call (ROS/Slave_API), publishes topics to the subscribers that connect over TCPROS,
 * and subscribes to topics of other nodes. Its XML-RPC and TCPROS listeners take at most
 * `maxConnections` connections each, and every length a peer sends is bounded.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { QiError } from '../../errors/index.js';
import { acceptInbound } from './inbound.js';
import { fullText, md5sum, type MsgSpec } from './msgspec.js';
import { serialize } from './serialize.js';
import { serveConnection, type ServiceServer } from './service-server.js';
import { Subscription, type MessageHandler } from './subscription.js';
import { encodeHeader, frame, type ConnectionHeader } from './tcpros.js';
import { xmlRpcCall, XmlRpcServer } from './xmlrpc-http.js';
import type { XmlRpcValue } from './xmlrpc.js';

/** Options of {@link RosNode.start}. */
export interface RosNodeOptions {
  /** The master: `http://127.0.0.1:11311/`. */
  masterUri: string;
  /** The node's name (default `/qi_bridge`). */
  name?: string;
  /** The address the node listens on and gives to others (default 127.0.0.1). */
  host?: string;
  /** Most connections at once on each listener (default 64). */
  maxConnections?: number;
  /** Largest message or service request read (default 16 MiB). */
  maxMessageBytes?: number;
  /** Bytes waiting to be sent to one subscriber beyond which its messages are dropped (default 8 MiB). */
  maxBufferedBytes?: number;
  /** Largest message a latched topic keeps for its next subscribers (default 1 MiB); a bigger one is only sent live. */
  maxLatchedBytes?: number;
  /** Receives warnings meant for the operator. */
  onWarning?: (message: string) => void;
}

interface Publication {
  spec: MsgSpec;
  md5: string;
  definition: string;
  subscribers: Set<net.Socket>;
  /** Latched: the last message (framed) goes to each new subscriber, as ROS does for state. */
  latched: boolean;
  last?: Buffer;
  /** The last message was too big to keep (warned once until one fits again). */
  tooBig?: boolean;
}

/** Counters of a node. */
export interface RosNodeMetrics {
  published: number;
  dropped: number;
  refused: number;
}

const ok = (value: XmlRpcValue, message = ''): XmlRpcValue => [1, message, value];

/** A node in a ROS 1 graph. */
export class RosNode {
  readonly name: string;
  readonly metrics: RosNodeMetrics = { published: 0, dropped: 0, refused: 0 };
  private readonly publications = new Map<string, Publication>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly services = new Map<string, ServiceServer>();
  private readonly sockets = new Set<net.Socket>();
  private slave!: XmlRpcServer;
  private tcp!: net.Server;
  private tcpPort = 0;
  private closed = false;
  private readonly warn: (m: string) => void;

  private constructor(private readonly options: RosNodeOptions) {
    this.name = options.name ?? '/qi_bridge';
    this.warn = options.onWarning ?? ((m) => console.error(`qi: warning: ${m}`));
  }

  /** Listens (XML-RPC and TCPROS) and checks that the master answers. @throws QiError `ERR_QI_CONNECT` */
  static async start(options: RosNodeOptions): Promise<RosNode> {
    const node = new RosNode(options);
    const host = options.host ?? '127.0.0.1';
    node.slave = await XmlRpcServer.listen(host, 0, (m, p) => node.slaveCall(m, p), options.maxConnections ?? 64);
    try {
      node.tcp = net.createServer((s) => node.accept(s));
      node.tcp.maxConnections = options.maxConnections ?? 64;
      await new Promise<void>((resolve, reject) => {
        node.tcp.once('error', reject);
        node.tcp.listen(0, host, () => resolve());
      });
      node.tcpPort = (node.tcp.address() as AddressInfo).port;
      await node.master('getPid', []);
    } catch (e) {
      await node.close();
      throw e instanceof QiError
        ? e
        : new QiError('ERR_QI_CONNECT', `the ROS node cannot start: ${(e as Error).message}`);
    }
    return node;
  }

  /** The node's slave API URI, as registered with the master. */
  get uri(): string {
    return this.slave.uri;
  }

  /** The `rosrpc://host:port` of the node's services. */
  get serviceUri(): string {
    return `rosrpc://${this.options.host ?? '127.0.0.1'}:${this.tcpPort}`;
  }

  /** Calls the master; its answer's value. @throws QiError `ERR_QI_CALL` when the master says no */
  async master(method: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const r = await xmlRpcCall(this.options.masterUri, method, [this.name, ...params]);
    if (!Array.isArray(r) || r.length < 3 || r[0] !== 1)
      throw new QiError(
        'ERR_QI_CALL',
        `the ROS master refused ${method}: ${Array.isArray(r) ? String(r[1]) : 'bad answer'}`,
      );
    return r[2];
  }

  /**
   * Publishes `topic` with messages of `spec`; resolves once the master knows. A `latched` topic sends
   * its last message to each new subscriber (up to `maxLatchedBytes`).
   */
  async advertise(topic: string, spec: MsgSpec, options: { latched?: boolean } = {}): Promise<void> {
    if (!this.publications.has(topic))
      this.publications.set(topic, {
        spec,
        md5: md5sum(spec),
        definition: fullText(spec),
        subscribers: new Set(),
        latched: options.latched === true,
      });
    await this.master('registerPublisher', [topic, spec.type, this.uri]);
  }

  /** Stops publishing `topic`: its subscribers are disconnected and the master forgets it (best effort). */
  async unadvertise(topic: string): Promise<void> {
    const p = this.publications.get(topic);
    if (p === undefined) return;
    this.publications.delete(topic);
    for (const s of p.subscribers) s.destroy();
    await this.master('unregisterPublisher', [topic, this.uri]).catch(() => {});
  }

  /** Sends one message to every subscriber of `topic` (dropped for one too far behind). @throws QiError `ERR_QI_VALUE` */
  publish(topic: string, message: Record<string, unknown>): void {
    const p = this.publications.get(topic);
    if (p === undefined || (p.subscribers.size === 0 && !p.latched)) return;
    const bytes = frame(serialize(p.spec, message));
    if (p.latched) this.latch(topic, p, bytes);
    if (p.subscribers.size === 0) return;
    this.metrics.published++;
    for (const s of p.subscribers) {
      if (s.writableLength > (this.options.maxBufferedBytes ?? 8 * 1024 * 1024)) this.metrics.dropped++;
      else s.write(bytes);
    }
  }

  private latch(topic: string, p: Publication, bytes: Buffer): void {
    const max = this.options.maxLatchedBytes ?? 1024 * 1024;
    const fits = bytes.length - 4 <= max;
    p.last = fits ? bytes : undefined;
    if (!fits && p.tooBig !== true)
      this.warn(
        `a message of ${topic} has ${bytes.length - 4} bytes, over maxLatchedBytes (${max}): it is sent live but not kept for later subscribers`,
      );
    p.tooBig = !fits;
  }

  /** The number of subscribers connected to `topic`. */
  subscriberCount(topic: string): number {
    return this.publications.get(topic)?.subscribers.size ?? 0;
  }

  /** Subscribes to `topic` of type `type` (messages of any definition the publisher sends). */
  async subscribe(topic: string, type: string, handler: MessageHandler): Promise<void> {
    if (this.subscriptions.has(topic)) throw new QiError('ERR_QI_CONFIG', `${topic} is subscribed already`);
    const sub = new Subscription(this.name, topic, handler, {
      maxMessageBytes: this.options.maxMessageBytes ?? 16 * 1024 * 1024,
      warn: this.warn,
    });
    this.subscriptions.set(topic, sub);
    const publishers = await this.master('registerSubscriber', [topic, type, this.uri]);
    sub.update(Array.isArray(publishers) ? publishers : []);
  }

  /** Serves the ROS service `service`; resolves once the master knows. */
  async advertiseService(service: string, server: ServiceServer): Promise<void> {
    this.services.set(service, server);
    await this.master('registerService', [service, this.serviceUri, this.uri]);
  }

  /** Stops serving `service` (new clients are refused, the master forgets it: best effort). */
  async unadvertiseService(service: string): Promise<void> {
    if (!this.services.delete(service)) return;
    await this.master('unregisterService', [service, this.serviceUri]).catch(() => {});
  }

  private accept(socket: net.Socket): void {
    if (this.closed) return void socket.destroy();
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    acceptInbound(
      socket,
      {
        subscriber: (h, s) => this.addSubscriber(h, s),
        serviceClient: (h, s, r, pending) => {
          const server = this.services.get(h.service);
          if (server === undefined) throw new QiError('ERR_QI_PROTOCOL', `this node serves no service ${h.service}`);
          serveConnection(this.name, server, h, s, r, pending);
        },
        refused: () => void this.metrics.refused++,
      },
      this.options.maxMessageBytes ?? 16 * 1024 * 1024,
    );
  }

  private addSubscriber(h: ConnectionHeader, socket: net.Socket): void {
    const p = this.publications.get(h.topic);
    if (p === undefined) throw new QiError('ERR_QI_PROTOCOL', `this node does not publish ${h.topic}`);
    if (h.md5sum !== '*' && h.md5sum !== p.md5)
      throw new QiError(
        'ERR_QI_PROTOCOL',
        `${h.topic} is of type ${p.spec.type} with md5sum ${p.md5}; the subscriber expects ${h.type ?? '?'} with md5sum ${h.md5sum ?? '?'}`,
      );
    if (h.tcp_nodelay !== '1') socket.setNoDelay(false);
    socket.write(
      encodeHeader({
        callerid: this.name,
        md5sum: p.md5,
        type: p.spec.type,
        message_definition: p.definition,
        latching: p.latched ? '1' : '0',
        topic: h.topic,
      }),
    );
    if (p.last !== undefined) socket.write(p.last);
    p.subscribers.add(socket);
    socket.on('close', () => p.subscribers.delete(socket));
  }

  private slaveCall(method: string, params: XmlRpcValue[]): XmlRpcValue {
    const str = (i: number) => (typeof params[i] === 'string' ? (params[i] as string) : '');
    switch (method) {
      case 'getPid':
        return ok(process.pid);
      case 'getMasterUri':
        return ok(this.options.masterUri);
      case 'getBusStats':
        return ok([[], [], []]);
      case 'getBusInfo': {
        const info: XmlRpcValue[] = [];
        let id = 0;
        for (const [topic, p] of this.publications)
          for (const s of p.subscribers)
            info.push([++id, `${s.remoteAddress}:${s.remotePort}`, 'o', 'TCPROS', topic, true]);
        for (const [topic, sub] of this.subscriptions)
          for (const uri of sub.connected) info.push([++id, uri, 'i', 'TCPROS', topic, true]);
        return ok(info);
      }
      case 'getSubscriptions':
        return ok([...this.subscriptions].map(([t, s]) => [t, s.type ?? '*']));
      case 'getPublications':
        return ok([...this.publications].map(([t, p]) => [t, p.spec.type]));
      case 'paramUpdate':
        return ok(0);
      case 'shutdown':
        this.warn(
          `the ROS node ${this.name} was asked to shut down by ${str(0) || 'an unnamed caller'}: it leaves the graph`,
        );
        setImmediate(() => void this.close());
        return ok(0);
      case 'publisherUpdate': {
        const sub = this.subscriptions.get(str(1));
        if (sub !== undefined && Array.isArray(params[2])) sub.update(params[2]);
        return ok(0);
      }
      case 'requestTopic': {
        const topic = str(1);
        if (!this.publications.has(topic)) return [0, `this node does not publish ${topic}`, []];
        const protocols = Array.isArray(params[2]) ? params[2] : [];
        if (!protocols.some((p) => Array.isArray(p) && p[0] === 'TCPROS'))
          return [0, 'this node speaks TCPROS only', []];
        return ok(['TCPROS', this.options.host ?? '127.0.0.1', this.tcpPort], 'ready');
      }
      default:
        throw new QiError('ERR_QI_CALL', `unknown slave API method ${method.slice(0, 80)}`);
    }
  }

  /** True once the node has left the graph. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Unregisters everything from the master (best effort), closes every connection and listener. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.slave !== undefined) {
      const calls: Promise<unknown>[] = [];
      for (const topic of this.publications.keys()) calls.push(this.master('unregisterPublisher', [topic, this.uri]));
      for (const topic of this.subscriptions.keys()) calls.push(this.master('unregisterSubscriber', [topic, this.uri]));
      for (const service of this.services.keys())
        calls.push(this.master('unregisterService', [service, this.serviceUri]));
      await Promise.allSettled(calls);
    }
    for (const s of this.subscriptions.values()) s.close();
    for (const s of this.sockets) s.destroy();
    await this.slave?.close();
    if (this.tcp !== undefined) await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}
