/**
 * One topic the node subscribes to: for each publisher the master (or a publisherUpdate) names, ask it
 * for a TCPROS address (requestTopic), connect, send our header, read its header (the type, md5sum and
 * full definition, which we check against each other) and then its messages. At most
 * {@link MAX_PUBLISHERS} publishers per topic; every frame is bounded.
 */
import net from 'node:net';
import { QiError } from '../../errors/index.js';
import { md5sum, parseDefinition, type MsgSpec } from './msgspec.js';
import { deserialize } from './serialize.js';
import { FrameReader, MAX_HEADER_BYTES, encodeHeader, parseHeader } from './tcpros.js';
import { xmlRpcCall } from './xmlrpc-http.js';
import type { XmlRpcValue } from './xmlrpc.js';

/** Most publishers one subscription connects to. */
export const MAX_PUBLISHERS = 16;

/** Receives each message of a subscription, decoded with the publisher's definition. */
export type MessageHandler = (message: Record<string, unknown>, spec: MsgSpec, publisher: string) => void;

/** A subscription to one topic. */
export class Subscription {
  /** The type publishers announced (once one connected). */
  type: string | undefined;
  private readonly links = new Map<string, net.Socket | undefined>();
  private closed = false;

  constructor(
    private readonly callerId: string,
    readonly topic: string,
    private readonly handler: MessageHandler,
    private readonly limits: { maxMessageBytes: number; warn: (m: string) => void },
  ) {}

  /** The publishers (slave URIs) connected now. */
  get connected(): string[] {
    return [...this.links].filter(([, s]) => s !== undefined).map(([u]) => u);
  }

  /** The publishers are now `uris`: connect to new ones, drop the others. */
  update(uris: XmlRpcValue[]): void {
    if (this.closed) return;
    const wanted = new Set(uris.filter((u): u is string => typeof u === 'string' && /^http:\/\//.test(u)));
    for (const [uri, socket] of this.links)
      if (!wanted.has(uri)) {
        socket?.destroy();
        this.links.delete(uri);
      }
    for (const uri of wanted) {
      if (this.links.has(uri)) continue;
      if (this.links.size >= MAX_PUBLISHERS) {
        this.limits.warn(`${this.topic} has more than ${MAX_PUBLISHERS} publishers: ignoring ${uri}`);
        break;
      }
      this.links.set(uri, undefined);
      this.connect(uri).catch((e: Error) => {
        this.links.delete(uri);
        this.limits.warn(`cannot receive ${this.topic} from ${uri}: ${e.message}`);
      });
    }
  }

  private async connect(uri: string): Promise<void> {
    const r = await xmlRpcCall(uri, 'requestTopic', [this.callerId, this.topic, [['TCPROS']]], 5000);
    const proto = Array.isArray(r) && r[0] === 1 ? r[2] : undefined;
    if (!Array.isArray(proto) || proto[0] !== 'TCPROS' || typeof proto[1] !== 'string' || typeof proto[2] !== 'number')
      throw new QiError(
        'ERR_QI_PROTOCOL',
        `the publisher offers no TCPROS address (${JSON.stringify(r).slice(0, 200)})`,
      );
    if (this.closed || !this.links.has(uri)) return;
    const socket = net.connect({ host: proto[1], port: proto[2] });
    this.links.set(uri, socket);
    socket.setNoDelay(true);
    socket.write(
      encodeHeader({ callerid: this.callerId, topic: this.topic, md5sum: '*', type: '*', tcp_nodelay: '1' }),
    );
    const reader = new FrameReader(MAX_HEADER_BYTES);
    let spec: MsgSpec | undefined;
    const fail = (e: Error) => {
      this.limits.warn(`dropping the publisher ${uri} of ${this.topic}: ${e.message}`);
      socket.destroy();
    };
    socket.on('error', (e) => fail(e));
    socket.on('close', () => {
      if (this.links.get(uri) === socket) this.links.delete(uri);
    });
    socket.on('data', (data: Buffer) => {
      try {
        for (const f of reader.push(data)) {
          if (spec === undefined) {
            spec = this.checkHeader(parseHeader(f.body));
            reader.limit(this.limits.maxMessageBytes);
          } else this.handler(deserialize(spec, f.body), spec, uri);
        }
      } catch (e) {
        fail(e as Error);
      }
    });
  }

  private checkHeader(h: Record<string, string>): MsgSpec {
    if (h.error !== undefined) throw new QiError('ERR_QI_PROTOCOL', `the publisher refused: ${h.error}`);
    if (!h.type || h.message_definition === undefined || !h.md5sum)
      throw new QiError('ERR_QI_PROTOCOL', 'the publisher header lacks type, md5sum or message_definition');
    const spec = parseDefinition(h.type, h.message_definition);
    if (md5sum(spec) !== h.md5sum)
      throw new QiError(
        'ERR_QI_PROTOCOL',
        `the definition of ${h.type} sent by the publisher hashes to ${md5sum(spec)}, not to the md5sum it announced (${h.md5sum})`,
      );
    this.type = h.type;
    return spec;
  }

  /** Closes every publisher connection. */
  close(): void {
    this.closed = true;
    for (const s of this.links.values()) s?.destroy();
    this.links.clear();
  }
}
