/**
 * The opening side of a direct link. From a session that reaches the peer only through a gateway (or
 * XMPP), {@link DirectLink.open} asks the peer's `DirectLink` service for an ICE link (offer and
 * answer travel as qi calls over that path), waits for a DataChannel to open, and gives a
 * {@link Session} whose connections all run over the link: `direct` through the NATs when a pair of
 * host/server-reflexive/peer-reflexive candidates works, `relay` through TURN otherwise. When no pair
 * works within the time allowed, the link falls back to the signaling path itself (`gateway`) and
 * says why.
 */
import type { AnyProxy } from '../../object/index.js';
import { Session, type SessionOptions } from '../../session/index.js';
import { QiError } from '../../errors/index.js';
import { MessageStream, QiConnectError } from '../../transport/index.js';
import { registerLink } from './dialer.js';
import { DataChannelDuplex, linkBroke, type DataChannelDuplexOptions } from './duplex.js';
import { newLinkId } from './host.js';
import { channelOpen, explain, openChannel, selectedPath, setRemote, within } from './peer.js';
import type { CandidateInfo, IcePath } from './path.js';
import { addSenders, type MediaSender, type MediaTrackSpec } from './media.js';
import { probeServers } from './probe.js';
import { describeIceServer, parseIceServers, type IceServer } from './servers.js';
import { linkMtu, loadStack, type IcePeer, type IceStackName, type IceStackOption } from './stack.js';
import { Inbox, Outbox, TRICKLE_GRACE_MS, trickleWith } from './trickle.js';
import { LinkMover, type LinkMove } from './mover.js';
import type { ResumeOptions } from './resume.js';

/** Options of {@link DirectLink.open}. */
export interface DirectLinkOptions {
  /** The peer's signaling service (default `DirectLink`). */
  service?: string;
  /** STUN/TURN servers as URLs (docs/links.md): `stun:host:port`, `turn:user:password@host:port?transport=udp`. */
  iceServers?: string[];
  /** Use TURN only (to test the relay, or to hide this host's addresses from the peer). */
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
  /** Budget for the whole setup: gathering, offer/answer, connectivity checks (default 10,000 ms). */
  timeoutMs?: number;
  /**
   * Longest wait for STUN/TURN answers before offering what was gathered (default 3000 ms, within
   * timeoutMs), when the host does not take trickled candidates.
   */
  gatherTimeoutMs?: number;
  /**
   * Trickle ICE (default `true`): the offer leaves at once and candidates follow as they are gathered,
   * when the host's signaling service knows how (else the offer waits for gathering, as with `false`).
   */
  trickle?: boolean;
  /**
   * When no candidate pair works: `true` (default) gives a link on the signaling path (`path: 'gateway'`,
   * with the reason); `false` throws.
   */
  fallback?: boolean;
  /** Options of the session opened over the link (credentials for the peer's gateway, limits…). */
  session?: SessionOptions;
  /** Chunking and backpressure of the DataChannels. */
  duplex?: DataChannelDuplexOptions;
  /**
   * Media tracks to send to the peer (docs/links.md#media-tracks), e.g. `[{ name: 'camera', kind: 'video' }]`:
   * negotiated in the offer; send frames with {@link DirectLink.track}. libdatachannel stack only.
   */
  media?: MediaTrackSpec[];
  /**
   * Keep the link's sessions across a path change (default `true`, when the host knows how): the link
   * restarts ICE and its streams resume on the new path, their calls and subscriptions intact
   * (docs/links.md, "Moving a link"). `replayBytes` and `resumeMs` bound it. Needs `trickle`, and no
   * `media` (tracks do not move).
   */
  resume?: boolean | ResumeOptions;
  /** Silence from the peer after which a resumable link's path counts as broken (default 5000 ms). */
  pathTimeoutMs?: number;
}

/** Which way a link goes: {@link IcePath}, or the signaling path when ICE did not work. */
export type LinkPath = IcePath | 'gateway';

/** A direct link; see the module comment. */
export class DirectLink {
  private closed = false;
  private senders: ReadonlyMap<string, MediaSender> = new Map();
  private readonly closeListeners: ((error?: Error) => void)[] = [];
  /** The byte streams of the link's qi connections, to fail their calls with why the link broke. */
  private duplexes = new Set<DataChannelDuplex>();
  /** Moves the link when its path breaks (resumable links only). */
  private mover: LinkMover | undefined;

  private constructor(
    /** direct, relay, or gateway (the signaling path: ICE did not work, see `reason`). */
    private readonly firstPath: LinkPath,
    /**
     * A session over the link, connected to `ice:<id>` (its ServiceDirectory is the one the peer's host
     * serves links with); on the `gateway` path, the signaling session itself (not closed with the link).
     */
    readonly session: Session,
    /** Why the link is on the gateway path. */
    readonly reason: string | undefined,
    /** The selected candidate pair (not on the gateway path). */
    private readonly firstLocal: CandidateInfo | undefined,
    private readonly firstRemote: CandidateInfo | undefined,
    /** The link's id, as the peer knows it. */
    readonly id: string,
    private readonly firstPc: IcePeer | undefined,
    /** Takes the link out of the `ice:` registry (src/remote/ice/dialer.ts). */
    private readonly unregister: ((why?: Error) => void) | undefined,
    private readonly signaling: AnyProxy | undefined,
    private readonly duplex: DataChannelDuplexOptions | undefined,
    /** Milliseconds the setup took. */
    readonly setupMs: number,
    /** STUN/TURN servers that did not answer and were left out. */
    readonly warnings: string[],
    /** The WebRTC stack that ran ICE (on the gateway path: the one that tried). */
    readonly stack: IceStackName,
    mover?: LinkMover,
  ) {
    this.mover = mover;
    if (mover !== undefined) {
      mover.onMove((m) => (this.last = m));
      return;
    }
    firstPc?.onState((s) => {
      if (s === 'failed' || s === 'closed')
        void this.shut(new Error(`the direct link ${s === 'failed' ? 'failed' : 'was closed by the peer'}`));
    });
  }

  /** The last move (see {@link onMove}). */
  private last: LinkMove | undefined;

  /** direct, relay, or gateway (the signaling path: ICE did not work, see `reason`); the new path after a move. */
  get path(): LinkPath {
    return this.last?.path ?? this.firstPath;
  }
  /** The selected candidate pair (not on the gateway path). */
  get local(): CandidateInfo | undefined {
    return this.last?.local ?? this.firstLocal;
  }
  get remote(): CandidateInfo | undefined {
    return this.last?.remote ?? this.firstRemote;
  }
  private get pc(): IcePeer | undefined {
    return this.mover?.pc ?? this.firstPc;
  }
  /** True when the link's sessions survive a path change (the host knows how, and `resume` was not false). */
  get resumable(): boolean {
    return this.mover !== undefined;
  }

  /**
   * Called each time a resumable link moved to a new path (ICE restart), with the new path and why; its
   * sessions went on over it.
   */
  onMove(listener: (move: LinkMove) => void): void {
    this.mover?.onMove(listener);
  }

  /**
   * Opens a link to the peer whose signaling service `session` can call.
   * @throws {@link QiConnectError} when ICE fails and `fallback` is false, or the service is missing
   */
  static async open(session: Session, options: DirectLinkOptions = {}): Promise<DirectLink> {
    const started = Date.now();
    const budget = options.timeoutMs ?? 10_000;
    const left = () => budget - (Date.now() - started);
    const servers = parseIceServers(options.iceServers);
    const mtu = linkMtu(options.mtu);
    const name = options.service ?? 'DirectLink';
    const id = newLinkId();
    const signaling = (await session.service(name, { timeoutMs: budget })) as AnyProxy;
    const probe = await probeServers(servers, Math.min(1500, budget / 4));
    const stack = await loadStack(options.stack, servers);
    const peerOptions = {
      servers: probe.usable,
      relayOnly: options.relayOnly,
      hostAddress: options.hostAddress,
      ipv6: options.ipv6,
      mtu,
    };
    const pc = stack.createPeer(peerOptions);
    let senders: Map<string, MediaSender>;
    try {
      senders = addSenders(pc.media, stack.name, options.media);
    } catch (e) {
      await pc.close();
      throw e;
    }
    // The first DataChannel is created before the offer (so that it carries SCTP); it is the first qi connection.
    const first = pc.createChannel();
    // Trickle when the host knows how (older hosts only take whole offers).
    // Media tracks belong to the first peer connection: a link that sends them does not move.
    // A host that moves links only for the holder of their key (restarts.ts); older hosts' links do not move.
    const resumable =
      options.resume !== false && options.trickle !== false && !options.media?.length && 'move' in signaling;
    const trickle = resumable || (options.trickle !== false && 'trickle' in signaling);
    const outbox = trickle ? new Outbox(pc) : undefined;
    let answered = false;
    let settled = false;
    let sel: ReturnType<typeof selectedPath>;
    let key = '';
    try {
      const sdp = await pc.describe(
        'offer',
        trickle ? TRICKLE_GRACE_MS : Math.min(options.gatherTimeoutMs ?? 3000, left() / 2),
      );
      const method = resumable ? 'offerMovable' : trickle ? 'offerTrickle' : 'offer';
      const reply = (await within(
        signaling[method](id, sdp, { timeoutMs: Math.max(1, left()) }),
        left(),
        `${name}.${method} got no answer within ${budget} ms of the start`,
      )) as string | { answer: string; key: string };
      answered = true;
      const answer = typeof reply === 'string' ? reply : reply.answer;
      if (typeof reply !== 'string') key = reply.key;
      await setRemote(pc, 'answer', answer, left());
      if (outbox !== undefined) {
        const exchange = async (mine: string[]) =>
          (await signaling.trickle(id, mine, { timeoutMs: Math.max(1, left()) })) as string[];
        void trickleWith(outbox, new Inbox(pc), exchange, () => settled || left() <= 0);
      }
      await channelOpen(pc, first, left(), servers, probe.unreachable);
      settled = true;
      sel = selectedPath(pc);
      if (sel === undefined)
        throw new Error(`connected, but no selected candidate pair (${explain(pc, servers, probe.unreachable)})`);
    } catch (e) {
      settled = true;
      outbox?.close();
      await pc.close();
      if (answered) void hangUp(signaling, id, key);
      const why = (e as Error).message;
      if (options.fallback === false) {
        throw new QiConnectError(
          `${name} (direct link)`,
          'connect to',
          new Error(`${why}; servers: ${servers.map(describeIceServer).join(', ') || 'none'}`),
        );
      }
      return new DirectLink(
        'gateway',
        session,
        why,
        undefined,
        undefined,
        id,
        undefined,
        undefined,
        undefined,
        options.duplex,
        Date.now() - started,
        probe.unreachable,
        stack.name,
      );
    }
    // The link works: what fails from here (credentials refused by the peer's gateway…) is an error, not a reason to fall back.
    let opened = false;
    let dead: ((e: Error) => void) | undefined;
    const resume = typeof options.resume === 'object' ? options.resume : {};
    const mover = resumable
      ? new LinkMover(
          id,
          key,
          pc,
          signaling,
          () => stack.createPeer(peerOptions),
          { resume, pathTimeoutMs: options.pathTimeoutMs, gatherTimeoutMs: options.gatherTimeoutMs },
          (e) => dead?.(e),
        )
      : undefined;
    const duplexes = new Set<DataChannelDuplex>();
    const unregister = registerLink(id, async () => {
      const channel = opened ? undefined : first;
      opened = true;
      const ch = mover !== undefined ? await mover.openStream(channel) : (channel ?? (await openChannel(pc)));
      return tracked(duplexes, new DataChannelDuplex(ch, options.duplex));
    });
    try {
      const over = await Session.connect(`ice:${id}`, {
        ...options.session,
        ipc: false,
        connectTimeoutMs: Math.max(5000, left()),
      });
      const link = new DirectLink(
        sel.path,
        over,
        undefined,
        sel.local,
        sel.remote,
        id,
        pc,
        unregister,
        signaling,
        options.duplex,
        Date.now() - started,
        probe.unreachable,
        stack.name,
        mover,
      );
      link.senders = senders;
      link.duplexes = duplexes;
      dead = (e) => void link.shut(e);
      return link;
    } catch (e) {
      mover?.close();
      unregister(e as Error);
      await pc.close();
      void hangUp(signaling, id, key);
      throw e;
    }
  }

  /**
   * A new qi connection over the link (a DataChannel of its own), for code that speaks to the peer's
   * host without a Session (e.g. `openChannel(await link.openStream())`).
   * @throws when the link is on the gateway path or closed
   */
  async openStream(): Promise<MessageStream> {
    if (this.pc === undefined)
      throw new Error(`this link runs on the gateway path (${this.reason}): it has no streams of its own`);
    if (this.closed) throw new Error('the link is closed');
    const ch = this.mover !== undefined ? await this.mover.openStream() : await openChannel(this.pc);
    const sel = selectedPath(this.pc);
    const remote = sel ? `ice://${sel.remote.address}:${sel.remote.port}` : `ice://${this.id}`;
    const local = sel ? `ice://${sel.local.address}:${sel.local.port}` : 'ice://local';
    return new MessageStream(tracked(this.duplexes, new DataChannelDuplex(ch, this.duplex)), remote, local);
  }

  /**
   * The sending end of the media track `name` asked for in `options.media`.
   * @throws {@link QiError} `ERR_QI_CONFIG` when no track has that name, or the link is on the gateway
   *   path (media needs the direct or relay path)
   */
  track(name: string): MediaSender {
    const sender = this.senders.get(name);
    if (sender !== undefined) return sender;
    if (this.pc === undefined)
      throw new QiError(
        'ERR_QI_CONFIG',
        `This link runs on the gateway path (${this.reason}): it carries no media tracks`,
      );
    const asked = [...this.senders.keys()].join(', ') || 'none';
    throw new QiError('ERR_QI_CONFIG', `No media track ${JSON.stringify(name)} on this link (asked for: ${asked})`);
  }

  /** True once closed (by us, by the peer, or by a failure). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Called once when the link closes; `error` says why when it was not closed by {@link close}. */
  onClose(listener: (error?: Error) => void): void {
    if (this.closed) queueMicrotask(() => listener());
    else this.closeListeners.push(listener);
  }

  private async shut(error?: Error): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pc !== undefined) {
      // Calls in flight fail saying that the link broke and what to do, not with a bare "closed".
      if (error !== undefined && this.duplexes.size > 0) {
        for (const d of this.duplexes) d.destroy(linkBroke(error.message));
        // Their connections take the error (emitted on the next tick) before the session closes them.
        await new Promise((r) => setImmediate(r));
      }
      this.mover?.close(error?.message);
      this.unregister?.(error);
      await this.session.close().catch(() => {});
      await this.pc.close();
      if (error === undefined)
        await (
          this.mover?.release(2000) ?? Promise.resolve(this.signaling?.hangup(this.id, { timeoutMs: 2000 }))
        ).catch(() => {});
    }
    for (const l of this.closeListeners.splice(0)) l(error);
  }

  /** Closes the link and its session (on the gateway path, the signaling session stays open). */
  close(): Promise<void> {
    return this.shut();
  }
}

/** Asks the host to close a link that will not be used (with its key when it is movable); never throws. */
async function hangUp(signaling: AnyProxy, id: string, key: string): Promise<void> {
  await Promise.resolve(key !== '' ? signaling.release(id, key) : signaling.hangup(id)).catch(() => {});
}

/** Keeps `duplex` in `set` while it is open. */
function tracked(set: Set<DataChannelDuplex>, duplex: DataChannelDuplex): DataChannelDuplex {
  set.add(duplex);
  duplex.once('close', () => set.delete(duplex));
  return duplex;
}

export type { IceServer };
