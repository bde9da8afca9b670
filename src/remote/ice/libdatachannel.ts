/**
 * The libdatachannel stack (C++: libjuice for ICE, OpenSSL DTLS, usrsctp), through the node-datachannel
 * binding, whose prebuilt binary comes from the registry: its PeerConnection and DataChannel adapted to
 * the seam of stack.ts. Its logger is never started (it would print TURN credentials), and its native
 * threads are stopped when the last peer connection closes, so that a program exits by itself.
 * node-datachannel's types do not leave this file.
 */
import type { DataChannel, PeerConnection, IceServer as NdcIceServer } from 'node-datachannel';
import { importOptional } from '../../errors/optional.js';
import type { DataChannelLike, Unsubscribe } from './duplex.js';
import { LibdatachannelMedia } from './media-libdatachannel.js';
import { filterCandidates, mediaId, parseCandidate, trickled, type CandidateFilter } from './sdp.js';
import type { IceServer } from './servers.js';
import type { IcePeer, IceStack, PeerOptions, PeerState } from './stack.js';

type Binding = typeof import('node-datachannel');

let loading: Promise<Binding> | undefined;

/** Loads node-datachannel (and its native binary) on first use; a QiError names the package when missing. */
export async function libdatachannelStack(): Promise<IceStack> {
  const binding = await (loading ??= importOptional('ICE', 'node-datachannel', () => import('node-datachannel')));
  return { name: 'libdatachannel', createPeer: (options) => new LibdatachannelPeer(binding, options) };
}

/** Peer connections open now: the native threads are stopped when none is left. */
let live = 0;

function released(binding: Binding): void {
  if (--live > 0) return;
  // After the close's own callbacks; a peer created meanwhile keeps the threads.
  setImmediate(() => live === 0 && binding.cleanup());
}

/** A server in node-datachannel's form (the first STUN and the first TURN server are used, as with werift). */
function toNdcServer(s: IceServer): string | NdcIceServer {
  if (s.kind === 'stun') return `stun:${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`;
  const relayType = s.kind === 'turns' ? 'TurnTls' : s.transport === 'tcp' ? 'TurnTcp' : 'TurnUdp';
  return { hostname: s.host, port: s.port, username: s.username, password: s.credential, relayType };
}

/** Handlers of one event; node-datachannel keeps one callback per event, this fans it out. */
class Handlers<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();
  add(handler: (...args: A) => void): Unsubscribe {
    this.set.add(handler);
    return () => this.set.delete(handler);
  }
  get size(): number {
    return this.set.size;
  }
  emit(...args: A): void {
    for (const h of [...this.set]) h(...args);
  }
}

/** A node-datachannel DataChannel as a {@link DataChannelLike}. */
class LibdatachannelChannel implements DataChannelLike {
  private state: 'connecting' | 'open' | 'closed';
  private readonly messages = new Handlers<[Buffer | string]>();
  private readonly lows = new Handlers<[]>();
  private readonly states = new Handlers<[string]>();
  /** Messages that arrived before anyone listened. */
  private early: (Buffer | string)[] = [];

  constructor(private readonly dc: DataChannel) {
    this.state = dc.isOpen() ? 'open' : 'connecting';
    dc.onOpen(() => this.became('open'));
    dc.onClosed(() => this.became('closed'));
    dc.onError(() => this.became('closed'));
    dc.onBufferedAmountLow(() => this.lows.emit());
    dc.onMessage((m) => {
      const data = typeof m === 'string' || Buffer.isBuffer(m) ? m : Buffer.from(m);
      if (this.messages.size === 0) this.early.push(data);
      else this.messages.emit(data);
    });
  }

  /** The channel's new state (also set by its peer connection when it closes). */
  became(state: 'open' | 'closed'): void {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this.states.emit(state);
  }

  get readyState(): string {
    return this.state;
  }
  get bufferedAmount(): number {
    return this.state === 'closed' ? 0 : this.dc.bufferedAmount();
  }
  get maxMessageSize(): number {
    return this.state === 'closed' ? Infinity : this.dc.maxMessageSize();
  }
  setBufferedAmountLowThreshold(bytes: number): void {
    this.dc.setBufferedAmountLowThreshold(bytes);
  }
  send(data: Buffer): void {
    if (this.state !== 'open') throw new Error(`the DataChannel is ${this.state}`);
    this.dc.sendMessageBinary(data); // false only says that it was queued (bufferedAmount)
  }
  sendText(text: string): void {
    if (this.state !== 'open') throw new Error(`the DataChannel is ${this.state}`);
    this.dc.sendMessage(text);
  }
  close(): void {
    if (this.state === 'closed') return;
    try {
      this.dc.close();
    } finally {
      this.became('closed');
    }
  }
  onMessage(handler: (data: Buffer | string) => void): Unsubscribe {
    const off = this.messages.add(handler);
    const early = this.early.splice(0);
    for (const m of early) handler(m);
    return off;
  }
  onBufferedAmountLow(handler: () => void): Unsubscribe {
    return this.lows.add(handler);
  }
  onStateChange(handler: (state: string) => void): Unsubscribe {
    return this.states.add(handler);
  }
}

/** A node-datachannel PeerConnection as an {@link IcePeer}. */
class LibdatachannelPeer implements IcePeer {
  readonly stack = 'libdatachannel';
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  readonly media: LibdatachannelMedia;
  private readonly pc: PeerConnection;
  private readonly filter: CandidateFilter;
  private readonly channels = new Set<LibdatachannelChannel>();
  private readonly states = new Handlers<[PeerState]>();
  private readonly gathered = new Handlers<[]>();
  private readonly candidates = new Handlers<[string | null]>();
  private channelHandler: ((channel: DataChannelLike) => void) | undefined;
  private closed = false;

  constructor(
    private readonly binding: Binding,
    options: PeerOptions,
  ) {
    const { relayOnly, hostAddress } = options;
    this.filter = { relayOnly, hostAddress, ipv4Only: options.ipv6 === false };
    const stun = options.servers.find((s) => s.kind === 'stun');
    const turn = options.servers.find((s) => s.kind !== 'stun');
    this.pc = new binding.PeerConnection('qi', {
      iceServers: [stun, turn].filter((s) => s !== undefined).map(toNdcServer),
      iceTransportPolicy: relayOnly ? 'relay' : 'all',
      // Offers and answers are made when describe() asks, never on their own.
      disableAutoNegotiation: true,
      ...(options.mtu !== undefined ? { mtu: options.mtu } : {}),
      ...(hostAddress !== undefined ? { bindAddress: hostAddress } : {}),
    });
    live++;
    this.media = new LibdatachannelMedia(binding, this.pc);
    this.pc.onStateChange((s) => {
      if (s === 'closed') this.closeChannels();
      this.states.emit(s as PeerState);
    });
    this.pc.onGatheringStateChange((s) => {
      if (s !== 'complete') return;
      this.gathered.emit();
      this.candidates.emit(null);
    });
    this.pc.onLocalCandidate((line) => {
      const c = trickled(line, this.filter);
      if (c !== undefined) this.candidates.emit(c);
    });
    this.pc.onDataChannel((dc) => {
      const channel = this.adopt(dc);
      this.channelHandler?.(channel);
    });
  }

  private adopt(dc: DataChannel): LibdatachannelChannel {
    const channel = new LibdatachannelChannel(dc);
    this.channels.add(channel);
    channel.onStateChange((s) => s === 'closed' && this.channels.delete(channel));
    return channel;
  }

  /** Channels end with their connection, even when its own callbacks are not delivered any more. */
  private closeChannels(): void {
    for (const c of [...this.channels]) c.became('closed');
    this.media.close();
  }

  createChannel(): DataChannelLike {
    return this.adopt(this.pc.createDataChannel('qi'));
  }

  onChannel(handler: (channel: DataChannelLike) => void): void {
    this.channelHandler = handler;
  }

  onState(handler: (state: PeerState) => void): Unsubscribe {
    return this.states.add(handler);
  }

  async describe(type: 'offer' | 'answer', timeoutMs: number): Promise<string> {
    // libdatachannel aborts the process on a description out of turn: refuse it here instead.
    const expected = type === 'offer' ? 'stable' : 'have-remote-offer';
    if (this.pc.signalingState() !== expected) throw new Error(`cannot make an ${type} now`);
    let timer: NodeJS.Timeout | undefined;
    let off: Unsubscribe | undefined;
    const complete = new Promise<void>((r) => (off = this.gathered.add(r)));
    this.pc.setLocalDescription(type);
    if (this.pc.gatheringState() !== 'complete')
      await Promise.race([complete, new Promise((r) => (timer = setTimeout(r, Math.max(0, timeoutMs))))]);
    clearTimeout(timer);
    off?.();
    // The description has the candidates gathered so far.
    const d = this.pc.localDescription();
    if (d === null) throw new Error(`no local ${type}`);
    this.localSdp = filterCandidates(d.sdp, this.filter);
    return this.localSdp;
  }

  async applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void> {
    this.remoteSdp = sdp;
    const expected = type === 'offer' ? 'stable' : 'have-local-offer';
    if (this.pc.signalingState() !== expected) throw new Error(`cannot take an ${type} now`);
    // libjuice checks pairs from its own socket even under the relay policy: with relayOnly, only the
    // peer's relay candidates are given to it, so that nothing reaches the peer but through TURN.
    this.pc.setRemoteDescription(this.filter.relayOnly ? filterCandidates(sdp, { relayOnly: true }) : sdp, type);
  }

  onCandidate(handler: (candidate: string | null) => void): Unsubscribe {
    return this.candidates.add(handler);
  }

  async addRemoteCandidate(candidate: string): Promise<void> {
    if (this.closed) return;
    if (this.filter.relayOnly && parseCandidate(candidate)?.type !== 'relay') return;
    this.pc.addRemoteCandidate(candidate, mediaId(this.remoteSdp));
  }

  selectedPair(): ReturnType<IcePeer['selectedPair']> {
    if (this.closed) return undefined;
    const pair = this.pc.getSelectedCandidatePair();
    if (pair === null) return undefined;
    const local = parseCandidate(pair.local.candidate);
    const remote = parseCandidate(pair.remote.candidate);
    return local !== undefined && remote !== undefined ? { local, remote } : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.pc.close();
    } catch {
      // already gone
    }
    this.closeChannels();
    released(this.binding);
  }
}
