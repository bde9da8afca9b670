/**
 * The accepting side of direct links: a qi service (`DirectLink` by default) through which a peer that
 * reaches us some other way (a gateway, XMPP) sends an ICE offer and gets our answer. Each link is
 * one RTCPeerConnection; each DataChannel the peer opens in it is one qi connection, handed to a
 * {@link Gateway} (so the link's sessions go through its users, tokens and permissions, as XMPP ones
 * do) or to any function that serves message streams.
 */
import { randomUUID } from 'node:crypto';
import type { Channel } from '../../channel/index.js';
import { envNumber } from '../../config/env.js';
import { QiError } from '../../errors/index.js';
import type { Gateway } from '../../gateway/index.js';
import { LocalObject, type CallContext } from '../../object/index.js';
import { DirectLinkDefinition } from './signaling.js';
import type { Session } from '../../session/index.js';
import { MessageStream } from '../../transport/index.js';
import { DataChannelDuplex, type DataChannelDuplexOptions, type DataChannelLike } from './duplex.js';
import type { MediaReceiveOptions, MediaReceiver } from './media.js';
import { selectedPath, setRemote } from './peer.js';
import type { CandidateInfo, IcePath } from './path.js';
import { probeServers } from './probe.js';
import { parseIceServers, type IceServer } from './servers.js';
import { linkMtu, loadStack, type IcePeer, type IceStack, type IceStackName, type IceStackOption } from './stack.js';
import { Inbox, Outbox, TRICKLE_GRACE_MS, TRICKLE_LIMITS } from './trickle.js';
import { ResumableChannel, firstMessage, parseHello, resumeLimits, type ResumeOptions } from './resume.js';
import { RestartBudget, keyDigest, keyMatches, keyRefused, newRestartKey, type RestartLimits } from './restarts.js';

/** Streams of one resumable link at once. */
const MAX_STREAMS = 64;

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
   * Largest UDP payload of the link's SCTP packets (libdatachannel; werift ignores it): default the
   * environment variable `QI_ICE_MTU`, else 1280, which every path carries. 1500 on paths that carry full
   * Ethernet frames end to end (a LAN, most home NATs) moves 10–20% more bytes per second (docs/links.md).
   */
  mtu?: number;
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
  /**
   * Most links at once offered over one connection (default 4, env `QI_ICE_MAX_LINKS_PER_CALLER`). Calls
   * relayed by the gateway this host registered through all come over one connection: it is not bounded
   * by this (see docs/links.md, "Limits").
   */
  maxLinksPerCaller?: number;
  /** Restarts per link per minute, and at once on the host (docs/links.md, "Moving a link"). */
  restart?: RestartLimits;
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
  /** Movable links: the digest of the key a move must present (restarts.ts). */
  key?: Buffer;
  /** The connection the offer came on (counted per caller), unless a shared one. */
  caller?: Channel | 'local';
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
    /** Restarts refused: no key or a wrong one, or past a bound. */
    restartsRefused: 0,
    /** Peer connections made (each offer and each restart that was let through). */
    peers: 0,
  };
  /** The signaling object: register it on any session the peers can reach (see {@link register}). */
  readonly object: LocalObject<typeof DirectLinkDefinition>;
  private readonly servers: IceServer[];
  private readonly links = new Map<string, Hosted>();
  /** Ids of links whose peer connection is being made. */
  private readonly opening = new Set<string>();
  private readonly perCaller = new Map<Channel | 'local', number>();
  private readonly budget: RestartBudget;
  private closed = false;
  /** The session this host was registered on (its connection to a gateway carries every outside caller). */
  private session: Session | undefined;

  /** MTU of the links' SCTP packets (undefined: the stack's own). */
  private readonly mtu: number | undefined;

  constructor(private readonly options: DirectLinkHostOptions) {
    this.servers = parseIceServers(options.iceServers);
    this.mtu = linkMtu(options.mtu);
    this.budget = new RestartBudget(options.restart);
    this.object = new LocalObject(
      DirectLinkDefinition,
      {
        offer: (id, sdp, ctx) => this.offer(id, sdp, ctx, false),
        offerTrickle: (id, sdp, ctx) => this.offer(id, sdp, ctx, true),
        offerResumable: (id, sdp, ctx) => this.offer(id, sdp, ctx, true, true),
        offerMovable: async (id, sdp, ctx) => {
          const key = newRestartKey();
          const answer = await this.offer(id, sdp, ctx, true, true, keyDigest(key));
          return { answer, key };
        },
        move: (id, key, sdp) => this.restart(id, key, sdp),
        restart: () => {
          this.metrics.restartsRefused++;
          throw keyRefused();
        },
        trickle: (id, candidates) => this.trickle(id, candidates),
        hangup: (id) => this.hangup(id),
        release: (id, key) => this.release(id, key),
      },
      // Restart keys (and the SDPs' ICE passwords) never go into a trace a peer turned on.
      { untraced: true },
    );
  }

  /**
   * Registers the signaling service as `name` (default `DirectLink`) on `session`: a session
   * connected to a gateway registers it there, where peers outside can call it.
   */
  static async register(session: Session, options: DirectLinkHostOptions & { name?: string }): Promise<DirectLinkHost> {
    const host = new DirectLinkHost(options);
    host.session = session;
    await session.registerService(options.name ?? 'DirectLink', host.object);
    return host;
  }

  /** The links open now. */
  get active(): HostedLinkInfo[] {
    return [...this.links.values()].map((l) => l.info);
  }

  private async offer(
    id: string,
    sdp: string,
    ctx: CallContext,
    trickle: boolean,
    resumable = false,
    key?: Buffer,
  ): Promise<string> {
    if (this.closed) throw new Error('this host no longer accepts direct links');
    if (!/^[\w-]{1,64}$/.test(id)) throw new Error('a link id is 1 to 64 letters, digits, _ or -');
    if (this.links.has(id) || this.opening.has(id)) throw new Error(`link ${id} already exists`);
    const open = this.links.size + this.opening.size;
    if (open >= (this.options.maxLinks ?? 16)) {
      this.metrics.refused++;
      throw new QiError('ERR_QI_LIMIT', `Too many direct links open (${open}, maxLinks); try again later.`);
    }
    const caller = this.callerOf(ctx);
    const mine = caller === undefined ? 0 : (this.perCaller.get(caller) ?? 0);
    const perCaller = maxLinksPerCaller(this.options);
    if (mine >= perCaller) {
      this.metrics.refused++;
      throw new QiError(
        'ERR_QI_LIMIT',
        `Too many direct links open from this connection (${mine}, maxLinksPerCaller / QI_ICE_MAX_LINKS_PER_CALLER); close one (hangup) or try again later.`,
      );
    }
    // Counted before the first await, so that offers sent at once cannot all pass the bounds.
    if (caller !== undefined) this.perCaller.set(caller, mine + 1);
    this.opening.add(id);
    this.metrics.offers++;
    let made: { pc: IcePeer; stack: IceStack };
    try {
      made = await this.peer();
    } catch (e) {
      this.uncount(caller);
      throw e;
    } finally {
      this.opening.delete(id);
    }
    const { pc, stack } = made;
    const link: Hosted = { info: { id, stack: stack.name }, pc, caller, key };
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

  /** Who an offer counts against: its connection, or none when the connection carries every caller. */
  private callerOf(ctx: CallContext): Channel | 'local' | undefined {
    const ch = ctx.channel;
    if (ch === undefined) return 'local';
    // Registered through a gateway: its relayed calls all come on our one connection to it.
    return ch === this.session?.directoryConnection ? undefined : ch;
  }

  private uncount(caller: Channel | 'local' | undefined): void {
    if (caller === undefined) return;
    const n = (this.perCaller.get(caller) ?? 1) - 1;
    if (n > 0) this.perCaller.set(caller, n);
    else this.perCaller.delete(caller);
  }

  private async peer(): Promise<{ pc: IcePeer; stack: IceStack }> {
    this.metrics.peers++;
    const { usable } = await probeServers(this.servers);
    const stack = await loadStack(this.options.stack, this.servers);
    const pc = stack.createPeer({
      servers: usable,
      relayOnly: this.options.relayOnly,
      hostAddress: this.options.hostAddress,
      ipv6: this.options.ipv6,
      mtu: this.mtu,
    });
    return { pc, stack };
  }

  /** Follows `pc`, the link's peer connection until a restart replaces it. */
  private watch(link: Hosted, pc: IcePeer): void {
    pc.onChannel((channel) => this.channel(link, channel));
    pc.onState((s) => {
      // Nothing for a link already dropped: its connection's last states come after its close.
      if (link.pc !== pc || this.links.get(link.info.id) !== link) return;
      if (s === 'connected') this.connected(link);
      else if (link.streams !== undefined && link.info.path !== undefined && (s === 'failed' || s === 'disconnected')) {
        // A resumable link waits for the opener's restart, as long as its streams do.
        link.lostTimer ??= setTimeout(() => void this.drop(link.info.id), resumeLimits().resumeMs);
      } else if (s === 'failed' || s === 'closed') void this.drop(link.info.id);
    });
  }

  /**
   * Moves a movable link onto a new peer connection (its path changed), for the holder of its key: its
   * streams resume on it. Refused before any peer connection is made when the key is wrong or a bound is
   * reached (restarts.ts).
   */
  private async restart(id: string, key: string, sdp: string): Promise<string> {
    const link = this.links.get(id);
    if (!keyMatches(link?.key, key) || link === undefined) {
      this.metrics.restartsRefused++;
      throw keyRefused();
    }
    try {
      this.budget.take(id);
    } catch (e) {
      this.metrics.restartsRefused++;
      throw e;
    }
    try {
      return await this.moveLink(link, sdp);
    } finally {
      this.budget.done(id);
    }
  }

  private async moveLink(link: Hosted, sdp: string): Promise<string> {
    const id = link.info.id;
    this.metrics.restarts++;
    const { pc } = await this.peer();
    if (this.links.get(id) !== link) {
      await pc.close();
      throw keyRefused();
    }
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

  /** A caller's hang-up: a movable link closes only with its key (its id is no secret). */
  private async hangup(id: string): Promise<void> {
    if (this.links.get(id)?.key !== undefined)
      throw new QiError(
        'ERR_QI_AUTH',
        'Hang-up refused: a link opened with offerMovable closes only for the holder of its key (release).',
      );
    await this.drop(id);
  }

  /** The opener of a movable link closes it. */
  private async release(id: string, key: string): Promise<void> {
    const link = this.links.get(id);
    if (!keyMatches(link?.key, key) || link === undefined)
      throw new QiError('ERR_QI_AUTH', 'Release refused: no movable link with that id and key here.');
    await this.drop(id);
  }

  /** Closes a link (the peer hung up, it failed, or it never connected). */
  private async drop(id: string): Promise<void> {
    const link = this.links.get(id);
    if (link === undefined) return;
    this.links.delete(id);
    this.uncount(link.caller);
    this.budget.forget(id);
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

/** The bound on links per connection: the option, else `QI_ICE_MAX_LINKS_PER_CALLER`, else 4. */
export function maxLinksPerCaller(o: Pick<DirectLinkHostOptions, 'maxLinksPerCaller'>): number {
  return o.maxLinksPerCaller ?? envNumber('QI_ICE_MAX_LINKS_PER_CALLER', 4, { integer: true });
}

/** A fresh link id. */
export function newLinkId(): string {
  return randomUUID();
}
