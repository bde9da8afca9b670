/**
 * The werift stack (pure TypeScript ICE, DTLS and SCTP): its RTCPeerConnection and RTCDataChannel
 * adapted to the seam of stack.ts. It runs wherever Node does, so it stays the fallback where no
 * native stack loads. werift's types do not leave this file.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import { importOptional } from '../../errors/optional.js';
import type { DataChannelLike, Unsubscribe } from './duplex.js';
import {
  parseCandidate,
  withCandidates,
  filterCandidates,
  allowedCandidate,
  mediaId,
  trickled,
  type CandidateFilter,
} from './sdp.js';
import { toRtcIceServer } from './servers.js';
import type { IcePeer, IceStack, PeerOptions, PeerState } from './stack.js';

let loading: Promise<typeof import('werift')> | undefined;

/**
 * The werift stack, loaded on first use: programs that never open a link do not pay for it, and need
 * not install it (a missing werift is a QiError naming the package).
 */
export async function weriftStack(): Promise<IceStack> {
  const werift = await (loading ??= importOptional('ICE', 'werift', () => import('werift')));
  return { name: 'werift', createPeer: (options) => new WeriftPeer(werift, options) };
}

/** A werift RTCDataChannel as a {@link DataChannelLike}. */
class WeriftChannel implements DataChannelLike {
  constructor(readonly channel: RTCDataChannel) {}
  get readyState(): string {
    return this.channel.readyState;
  }
  get bufferedAmount(): number {
    return this.channel.bufferedAmount;
  }
  /** werift keeps the peer's SDP `max-message-size` on its SCTP transport (0: no limit). */
  get maxMessageSize(): number {
    const n = (this.channel.sctp as unknown as { remoteMaxMessageSize?: number }).remoteMaxMessageSize;
    return typeof n === 'number' && n > 0 ? n : Infinity;
  }
  setBufferedAmountLowThreshold(bytes: number): void {
    this.channel.bufferedAmountLowThreshold = bytes;
  }
  send(data: Buffer): void {
    this.channel.send(data);
  }
  sendText(text: string): void {
    this.channel.send(text);
  }
  close(): void {
    this.channel.close();
  }
  onMessage(handler: (data: Buffer | string) => void): Unsubscribe {
    const sub = this.channel.onMessage.subscribe(handler);
    return () => sub.unSubscribe();
  }
  onBufferedAmountLow(handler: () => void): Unsubscribe {
    const sub = this.channel.bufferedAmountLow.subscribe(() => handler());
    return () => sub.unSubscribe();
  }
  onStateChange(handler: (state: string) => void): Unsubscribe {
    const sub = this.channel.stateChanged.subscribe(handler);
    return () => sub.unSubscribe();
  }
}

/** A werift RTCPeerConnection as an {@link IcePeer}. */
class WeriftPeer implements IcePeer {
  readonly stack = 'werift';
  localSdp: string | undefined;
  remoteSdp: string | undefined;
  private readonly pc: RTCPeerConnection;
  private readonly filter: CandidateFilter;

  constructor(
    werift: typeof import('werift'),
    private readonly options: PeerOptions,
  ) {
    const { relayOnly, hostAddress } = options;
    this.filter = { relayOnly, hostAddress, ipv4Only: options.ipv6 === false };
    const stun = options.servers.find((s) => s.kind === 'stun');
    const turn = options.servers.find((s) => s.kind !== 'stun');
    // Only these servers: werift would ask Google's STUN by default (see also noDefaultStun).
    const iceServers = [stun, turn].filter((s) => s !== undefined).map(toRtcIceServer);
    const filter = this.filter;
    this.pc = new werift.RTCPeerConnection({
      iceServers,
      iceTransportPolicy: relayOnly ? 'relay' : 'all',
      // werift's relay policy only holds when a TURN server is configured, and it gathers host
      // candidates on every interface (link-local IPv6 ones too): only pairs whose local end we would
      // offer are checked.
      iceFilterCandidatePair: (pair: { localCandidate: { type: string; host: string; port: number } }) => {
        const c = pair.localCandidate;
        return allowedCandidate({ type: c.type, address: c.host, port: c.port, protocol: 'udp' }, filter);
      },
      ...(hostAddress !== undefined ? { iceAdditionalHostAddresses: [hostAddress] } : {}),
      // TURN over TLS is the only case werift needs told: the URL's transport covers udp/tcp.
      ...(turn?.kind === 'turns' ? { turnTransport: 'tls' as const } : {}),
      iceUseIpv6: options.ipv6 !== false,
    });
  }

  createChannel(): DataChannelLike {
    return new WeriftChannel(this.pc.createDataChannel('qi', { ordered: true }));
  }

  onChannel(handler: (channel: DataChannelLike) => void): void {
    this.pc.onDataChannel.subscribe((ch) => handler(new WeriftChannel(ch)));
  }

  onState(handler: (state: PeerState) => void): Unsubscribe {
    const sub = this.pc.connectionStateChange.subscribe((s) => handler(s as PeerState));
    return () => sub.unSubscribe();
  }

  async describe(type: 'offer' | 'answer', timeoutMs: number): Promise<string> {
    const description = type === 'offer' ? await this.pc.createOffer() : await this.pc.createAnswer();
    const gatheredSoFar: string[] = [];
    const sub = this.pc.onIceCandidate.subscribe((c) => c && gatheredSoFar.push(c.candidate));
    this.noDefaultStun();
    const setting = this.pc.setLocalDescription(description);
    setting.catch(() => {}); // awaited below, or left to finish in the background
    let timer: NodeJS.Timeout | undefined;
    const complete = await Promise.race([
      setting.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, timeoutMs)))),
    ]);
    clearTimeout(timer);
    sub.unSubscribe();
    // werift only puts candidates in its description once gathering ends.
    const sdp = complete ? this.pc.localDescription!.sdp : withCandidates(description.sdp, gatheredSoFar);
    this.localSdp = filterCandidates(sdp, this.filter);
    return this.localSdp;
  }

  /** Called between creating and applying a local description: no STUN server unless one was configured. */
  private noDefaultStun(): void {
    if (this.options.servers.some((s) => s.kind === 'stun')) return;
    for (const t of this.pc.iceTransports) (t.connection as unknown as { stunServer?: unknown }).stunServer = undefined;
  }

  async applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void> {
    this.remoteSdp = sdp;
    await this.pc.setRemoteDescription({ type, sdp });
  }

  onCandidate(handler: (candidate: string | null) => void): Unsubscribe {
    const sub = this.pc.onIceCandidate.subscribe((c) => {
      if (c === undefined) return handler(null);
      const line = trickled(c.candidate, this.filter);
      if (line !== undefined) handler(line);
    });
    return () => sub.unSubscribe();
  }

  async addRemoteCandidate(candidate: string): Promise<void> {
    await this.pc.addIceCandidate({ candidate, sdpMid: mediaId(this.remoteSdp) });
  }

  selectedPair(): ReturnType<IcePeer['selectedPair']> {
    for (const t of this.pc.iceTransports) {
      const pair = t.getSelectedCandidatePair();
      if (pair === null) continue;
      const local = parseCandidate(pair.local.candidate);
      const remote = parseCandidate(pair.remote.candidate);
      if (local !== undefined && remote !== undefined) return { local, remote };
    }
    return undefined;
  }

  async close(): Promise<void> {
    await Promise.race([this.pc.close().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
  }
}
