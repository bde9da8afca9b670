/**
 * The accepting side of direct links: a qi service (`DirectLink` by default) through which a peer that
 * reaches us some other way (a gateway, XMPP) sends an ICE offer and gets our answer. Each link is
 * one RTCPeerConnection; each DataChannel the peer opens in it is one qi connection, handed to a
 * {@link Gateway} (so the link's sessions go through its users, tokens and permissions, as XMPP ones
 * do) or to any function that serves message streams.
 */
import { randomUUID } from 'node:crypto';
import type { Gateway } from '../../gateway/index.js';
import { LocalObject, defineObject, method, t } from '../../object/index.js';
import type { Session } from '../../session/index.js';
import { MessageStream } from '../../transport/index.js';
import { DataChannelDuplex, type DataChannelDuplexOptions, type DataChannelLike } from './duplex.js';
import type { MediaReceiveOptions, MediaReceiver } from './media.js';
import { selectedPath, setRemote } from './peer.js';
import type { CandidateInfo, IcePath } from './path.js';
import { probeServers } from './probe.js';
import { parseIceServers, type IceServer } from './servers.js';
import { loadStack, type IcePeer, type IceStack, type IceStackName, type IceStackOption } from './stack.js';
import { Inbox, Outbox, TRICKLE_GRACE_MS, TRICKLE_LIMITS } from './trickle.js';
import { ResumableChannel, firstMessage, parseHello, resumeLimits, type ResumeOptions } from './resume.js';

/** Streams of one resumable link at once. */
const MAX_STREAMS = 64;

/** The signaling service: offer/answer (whole, or trickled: trickle.ts), and hang-up. */
export const DirectLinkDefinition = defineObject({
  description: 'Signaling of direct ICE links (docs/links.md): offer an SDP, get the answer; hang up when done',
  methods: {
    offer: method([t.string, t.string], t.string, {
      description: 'Takes an ICE offer (all candidates gathered), returns the answer',
      paramNames: ['link', 'sdp'],
    }),
    offerTrickle: method([t.string, t.string], t.string, {
      description: 'Takes an ICE offer whose candidates follow through trickle, returns the answer at once',
      paramNames: ['link', 'sdp'],
    }),
    trickle: method([t.string, t.list(t.string)], t.list(t.string), {
      description:
        'Adds the caller’s candidates to a trickled link ("" ends them) and returns the host’s gathered since the last call, waiting up to 2 s when the caller sent none',
      paramNames: ['link', 'candidates'],
    }),
    offerResumable: method([t.string, t.string], t.string, {
      description:
        'As offerTrickle, for a link whose streams survive a move to a new path (resume.ts): restart moves it',
      paramNames: ['link', 'sdp'],
    }),
    restart: method([t.string, t.string], t.string, {
      description: 'Moves a resumable link onto a new peer connection: takes its offer, returns the answer',
      paramNames: ['link', 'sdp'],
    }),
    hangup: method([t.string], undefined, { description: 'Closes a link', paramNames: ['link'] }),
  },
});

/** A link as the host sees it. */
export interface HostedLinkInfo {
  id: string;
  /** The WebRTC stack that runs it. */
  stack: IceStackName;
  /** Once connected: direct or relay, and the selected pair. */
  path?: IcePath;
  local?: CandidateInfo;
  remote?: CandidateInfo;
}

/** Options of a {@link DirectLinkHost}. */
export interface DirectLinkHostOptions {
  /** Where the qi connections of links go: a gateway (its access rules apply), or a function. */
  accept: Gateway | ((stream: MessageStream, link: HostedLinkInfo) => void);
  /** STUN/TURN servers as URLs (docs/links.md): `stun:host:port`, `turn:user:password@host:port`. */
  iceServers?: string[];
  /** Use TURN only (hides this host's addresses from peers). */
  relayOnly?: boolean;
  /** Offer host candidates on this local address only, e.g. `127.0.0.1` (default: every interface's). */
  hostAddress?: string;
  /**
   * Offer and check IPv6 candidates too (default `true`): used when both sides have IPv6. Link-local
   * addresses (fe80::/10) are never offered, whatever this says.
   */
  ipv6?: boolean;
  /**
   * The WebRTC stack (docs/links.md): `auto` (default: libdatachannel when node-datachannel loads here,
   * else werift; werift first for TURN over TCP or TLS), `libdatachannel` or `werift`. Default from the
   * environment variable `QI_ICE_STACK`.
   */
  stack?: IceStackOption;
  /** Longest wait for STUN/TURN answers before answering an offer with what was gathered (default 3000 ms). */
  gatherTimeoutMs?: number;
  /** A link not connected this long after its offer is dropped (default 20,000 ms). */
  connectTimeoutMs?: number;
  /** Most links at once; more offers are refused (default 16). */
  maxLinks?: number;
  /** Chunking and backpressure of the DataChannels. */
  duplex?: DataChannelDuplexOptions;
  /**
   * Called with each media track a peer sends (docs/links.md#media-tracks): read its frames with
   * `for await`. Without it, tracks are accepted and their packets dropped. libdatachannel stack only.
   */
  onMedia?: (track: MediaReceiver, link: HostedLinkInfo) => void;
  /** Limits of each received track (queue, wait for lost packets, frame size). */
  media?: MediaReceiveOptions;
  /** Replay buffer and resume deadline of resumable links' streams (docs/links.md). */
  resume?: ResumeOptions;
}

interface Hosted {
  info: HostedLinkInfo;
  pc: IcePeer;
  timer?: NodeJS.Timeout;
  /** Trickled links: the host's candidates not fetched yet, the caller's received. */
  outbox?: Outbox;
  inbox?: Inbox;
  /** Resumable links: their streams by id (resume.ts), and the time a lost path has to come back. */
  streams?: Map<string, ResumableChannel>;
  lostTimer?: NodeJS.Timeout;
}

/** Serves direct links; see the module comment. */
export class DirectLinkHost {
  /**
   * Offers answered (of which trickled), links connected (by path), qi connections accepted, links that
   * never connected.
   */
  readonly metrics = {
    offers: 0,
    trickled: 0,
    refused: 0,
    connected: 0,
    direct: 0,
    relay: 0,
    streams: 0,
    failed: 0,
    restarts: 0,
  };
  /** The signaling object: register it on any session the peers can reach (see {@link register}). */
  readonly object: LocalObject<typeof DirectLinkDefinition>;
  private readonly servers: IceServer[];
  private readonly links = new Map<string, Hosted>();
  private closed = false;

  constructor(private readonly options: DirectLinkHostOptions) {
    this.servers = parseIceServers(options.iceServers);
    this.object = new LocalObject(DirectLinkDefinition, {
      offer: (id, sdp) => this.offer(id, sdp, false),
      offerTrickle: (id, sdp) => this.offer(id, sdp, true),
      offerResumable: (id, sdp) => this.offer(id, sdp, true, true),
      restart: (id, sdp) => this.restart(id, sdp),
      trickle: (id, candidates) => this.trickle(id, candidates),
      hangup: (id) => this.drop(id),
    });
  }

  /**
   * Registers the signaling service as `name` (default `DirectLink`) on `session`: a session
   * connected to a gateway registers it there, where peers outside can call it.
   */
  static async register(session: Session, options: DirectLinkHostOptions & { name?: string }): Promise<DirectLinkHost> {
    const host = new DirectLinkHost(options);
    await session.registerService(options.name ?? 'DirectLink', host.object);
    return host;
  }

  /** The links open now. */
  get active(): HostedLinkInfo[] {
    return [...this.links.values()].map((l) => l.info);
  }

  private async offer(id: string, sdp: string, trickle: boolean, resumable = false): Promise<string> {
    if (this.closed) throw new Error('this host no longer accepts direct links');
    if (!/^[\w-]{1,64}$/.test(id)) throw new Error('a link id is 1 to 64 letters, digits, _ or -');
    if (this.links.has(id)) throw new Error(`link ${id} already exists`);
    if (this.links.size >= (this.options.maxLinks ?? 16)) {
      this.metrics.refused++;
      throw new Error(`too many direct links open (${this.links.size}); try again later`);
    }
    this.metrics.offers++;
    const { pc, stack } = await this.peer();
    const link: Hosted = { info: { id, stack: stack.name }, pc };
    if (resumable) link.streams = new Map();
    if (trickle) {
      this.metrics.trickled++;
      link.outbox = new Outbox(pc);
      link.inbox = new Inbox(pc);
    }
    this.links.set(id, link);
    link.timer = setTimeout(() => {
      this.metrics.failed++;
      void this.drop(id);
    }, this.options.connectTimeoutMs ?? 20_000);
    this.watch(link, pc);
    const onMedia = this.options.onMedia;
    if (onMedia !== undefined) pc.media?.onReceiver((track) => onMedia(track, link.info), this.options.media);
    try {
      await setRemote(pc, 'offer', sdp, 5000);
      return await pc.describe('answer', trickle ? TRICKLE_GRACE_MS : (this.options.gatherTimeoutMs ?? 3000));
    } catch (e) {
      await this.drop(id);
      throw new Error(`cannot answer this offer: ${(e as Error).message}`, { cause: e });
    }
  }

  private async peer(): Promise<{ pc: IcePeer; stack: IceStack }> {
    const { usable } = await probeServers(this.servers);
    const stack = await loadStack(this.options.stack, this.servers);
    const pc = stack.createPeer({
      servers: usable,
      relayOnly: this.options.relayOnly,
      hostAddress: this.options.hostAddress,
      ipv6: this.options.ipv6,
    });
    return { pc, stack };
  }

  /** Follows `pc`, the link's peer connection until a restart replaces it. */
  private watch(link: Hosted, pc: IcePeer): void {
    pc.onChannel((channel) => this.channel(link, channel));
    pc.onState((s) => {
      if (link.pc !== pc) return;
      if (s === 'connected') this.connected(link);
      else if (link.streams !== undefined && link.info.path !== undefined && (s === 'failed' || s === 'disconnected')) {
        // A resumable link waits for the opener's restart, as long as its streams do.
        link.lostTimer ??= setTimeout(() => void this.drop(link.info.id), resumeLimits().resumeMs);
      } else if (s === 'failed' || s === 'closed') void this.drop(link.info.id);
    });
  }

  /** Moves a resumable link onto a new peer connection (its path changed): its streams resume on it. */
  private async restart(id: string, sdp: string): Promise<string> {
    const link = this.links.get(id);
    if (link?.streams === undefined) throw new Error(`no resumable link ${id} here (open it with offerResumable)`);
    this.metrics.restarts++;
    const { pc } = await this.peer();
    const old = link.pc;
    link.pc = pc;
    link.info.path = undefined;
    link.outbox?.close();
    link.outbox = link.inbox = undefined;
    clearTimeout(link.lostTimer);
    link.lostTimer = setTimeout(() => void this.drop(id), resumeLimits().resumeMs);
    await old.close();
    this.watch(link, pc);
    try {
      await setRemote(pc, 'offer', sdp, 5000);
      return await pc.describe('answer', this.options.gatherTimeoutMs ?? 3000);
    } catch (e) {
      await this.drop(id);
      throw new Error(`cannot answer this restart: ${(e as Error).message}`, { cause: e });
    }
  }

  /** A trickled link's candidates: the caller's added, the host's returned (see trickle.ts). */
  private async trickle(id: string, candidates: string[]): Promise<string[]> {
    const link = this.links.get(id);
    if (link?.outbox === undefined || link.inbox === undefined)
      throw new Error(`no trickled link ${id} is being set up here (offer it with offerTrickle first)`);
    await link.inbox.add(candidates);
    // A caller that sends nothing waits for the host's next candidates, a bounded number at once.
    const wait = candidates.length === 0 && link.outbox.waiting < TRICKLE_LIMITS.waiting ? TRICKLE_LIMITS.pollMs : 0;
    return link.outbox.take(wait);
  }

  private connected(link: Hosted): void {
    if (link.info.path !== undefined) return;
    clearTimeout(link.timer);
    clearTimeout(link.lostTimer);
    link.lostTimer = undefined;
    const sel = selectedPath(link.pc);
    if (sel === undefined) return;
    Object.assign(link.info, sel);
    this.metrics.connected++;
    this.metrics[sel.path]++;
  }

  /** A DataChannel of a link: once open, a qi connection. */
  private channel(link: Hosted, raw: DataChannelLike): void {
    const go = () => {
      if (link.streams !== undefined) return void this.resumable(link, raw, serve);
      serve(raw);
    };
    const serve = (channel: DataChannelLike) => {
      this.connected(link);
      this.metrics.streams++;
      const r = link.info.remote;
      const l = link.info.local;
      // Not dialable URLs: they name the link's path for messages and per-address limits.
      const remote = r ? `ice://${r.address}:${r.port}` : `ice://${link.info.id}`;
      const local = l ? `ice://${l.address}:${l.port}` : 'ice://local';
      const stream = new MessageStream(new DataChannelDuplex(channel, this.options.duplex), remote, local);
      const accept = this.options.accept;
      if (typeof accept === 'function') accept(stream, link.info);
      else accept.acceptStream(stream);
    };
    if (raw.readyState === 'open') go();
    else {
      const unsubscribe = raw.onStateChange((s) => {
        if (s === 'open') {
          unsubscribe();
          go();
        } else if (s === 'closed') unsubscribe();
      });
    }
  }

  /**
   * A channel of a resumable link: its hello opens a stream (served as a qi connection) or resumes one
   * (the host's count goes back first, then each side resends what the other missed).
   */
  private async resumable(link: Hosted, raw: DataChannelLike, serve: (c: DataChannelLike) => void): Promise<void> {
    const streams = link.streams!;
    try {
      const hello = parseHello(await firstMessage(raw, 5000));
      if (hello === undefined) throw new Error('not a hello');
      const known = streams.get(hello.stream);
      if (hello.kind === 'open') {
        if (known !== undefined || streams.size >= MAX_STREAMS) throw new Error('stream refused');
        const stream = new ResumableChannel(hello.stream, this.options.resume ?? {});
        streams.set(hello.stream, stream);
        stream.onStateChange(
          (s) => s === 'closed' && streams.get(hello.stream) === stream && streams.delete(hello.stream),
        );
        stream.attach(raw, 0);
        serve(stream);
      } else {
        if (known === undefined) throw new Error('no such stream');
        raw.sendText(`a${known.count}`);
        known.attach(raw, hello.received);
      }
    } catch {
      raw.close();
    }
  }

  /** Closes a link (the peer hung up, it failed, or it never connected). */
  private async drop(id: string): Promise<void> {
    const link = this.links.get(id);
    if (link === undefined) return;
    this.links.delete(id);
    clearTimeout(link.timer);
    clearTimeout(link.lostTimer);
    link.outbox?.close();
    for (const stream of link.streams?.values() ?? []) stream.close();
    await link.pc.close();
  }

  /** Closes every link and refuses new ones (unregister the service yourself if it was registered). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.links.keys()].map((id) => this.drop(id)));
  }
}

/** A fresh link id. */
export function newLinkId(): string {
  return randomUUID();
}
