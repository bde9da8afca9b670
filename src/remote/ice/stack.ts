/**
 * The seam between direct links and the WebRTC stack under them: what link.ts, host.ts and peer.ts
 * need from a peer connection, in our own types, and which stack runs. Each stack adapts its own peer
 * connection and DataChannels to these in a file of its own (libdatachannel.ts, werift.ts; no stack's
 * types leave its file).
 */
import { QiError } from '../../errors/index.js';
import { importFirst } from '../../errors/optional.js';
import { envNumber } from '../../config/env.js';
import type { DataChannelLike, Unsubscribe } from './duplex.js';
import type { PeerMedia } from './media.js';
import type { CandidateInfo } from './path.js';
import type { IceServer } from './servers.js';

/**
 * The WebRTC stacks a direct link can run on: `libdatachannel` (native, through the node-datachannel
 * package) or `werift` (pure TypeScript).
 */
export type IceStackName = 'libdatachannel' | 'werift';

/** Which stack to run: one by name, or `auto` (libdatachannel when it loads here, else werift). */
export type IceStackOption = 'auto' | IceStackName;

/** What a peer connection is configured with. */
export interface PeerOptions {
  /** STUN/TURN servers (the stack uses the first of each kind). */
  servers: IceServer[];
  /** Only relay candidates (TURN) are offered and checked: to test the relay, or to hide the host's addresses. */
  relayOnly?: boolean;
  /** Host candidates on this local address only (default: every interface's). */
  hostAddress?: string;
  /** Offer and check IPv6 candidates too (default true; link-local ones never: sdp.ts). */
  ipv6?: boolean;
  /** Largest UDP payload SCTP sends (libdatachannel; {@link linkMtu}); undefined: the stack's own (1280). */
  mtu?: number;
}

/** The states of a peer connection that links act on. */
export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** One peer connection of a stack. */
export interface IcePeer {
  /** Which stack runs it. */
  readonly stack: IceStackName;
  /** A new reliable, ordered DataChannel labelled `qi` (the first one, created before the offer, carries SCTP). */
  createChannel(): DataChannelLike;
  /** Called with each DataChannel the peer opens. */
  onChannel(handler: (channel: DataChannelLike) => void): void;
  /** Called with each new connection state. */
  onState(handler: (state: PeerState) => void): Unsubscribe;
  /**
   * Creates and applies the local offer or answer, and gives its SDP with every candidate: all once
   * gathering completes, or those gathered within `timeoutMs` (a slow server must not hold the offer).
   * Candidates that `relayOnly` or `hostAddress` leave out are not in it.
   */
  describe(type: 'offer' | 'answer', timeoutMs: number): Promise<string>;
  /** Applies the peer's offer or answer. */
  applyRemote(type: 'offer' | 'answer', sdp: string): Promise<void>;
  /**
   * Called with each local candidate as it is gathered (a `candidate:…` line; those that `relayOnly` or
   * `hostAddress` leave out are not given), then with `null` once gathering ends: trickle ICE (trickle.ts).
   */
  onCandidate(handler: (candidate: string | null) => void): Unsubscribe;
  /** Adds a candidate the peer trickled (a `candidate:…` line), after its description was applied. */
  addRemoteCandidate(candidate: string): Promise<void>;
  /** The SDPs sent and applied so far, for messages. */
  readonly localSdp: string | undefined;
  readonly remoteSdp: string | undefined;
  /** Both ends of the selected candidate pair, once connected. */
  selectedPair(): { local: CandidateInfo; remote: CandidateInfo } | undefined;
  /** Closes the connection and its channels; never throws. */
  close(): Promise<void>;
  /** Media tracks (media.ts), on stacks that carry them (libdatachannel). */
  readonly media?: PeerMedia;
}

/** A WebRTC stack: a factory of peer connections. */
export interface IceStack {
  readonly name: IceStackName;
  createPeer(options: PeerOptions): IcePeer;
}

/** The package each stack comes from. */
const PACKAGES: Record<IceStackName, string> = { libdatachannel: 'node-datachannel', werift: 'werift' };

const STACKS: Record<IceStackName, () => Promise<IceStack>> = {
  libdatachannel: async () => (await import('./libdatachannel.js')).libdatachannelStack(),
  werift: async () => (await import('./werift.js')).weriftStack(),
};

/**
 * The stack that runs a link: `option`, else the environment variable `QI_ICE_STACK`, else `auto`,
 * which takes libdatachannel when node-datachannel loads here (it has no prebuilt binary for some
 * platforms, e.g. 32-bit ARM) and werift otherwise; werift first when the TURN server of `servers` is
 * reached over TCP or TLS, which libjuice cannot do.
 * @throws {@link QiError} `ERR_QI_CONFIG` for an unknown name, or when the stack's package (for `auto`:
 *   both packages) does not load
 */
export function loadStack(option?: IceStackOption, servers: IceServer[] = []): Promise<IceStack> {
  const choice = option ?? process.env.QI_ICE_STACK ?? 'auto';
  if (choice === 'auto') {
    const turn = servers.find((s) => s.kind !== 'stun');
    const order: IceStackName[] =
      turn?.transport === 'tcp' ? ['werift', 'libdatachannel'] : ['libdatachannel', 'werift'];
    return importFirst(
      'ICE',
      order.map((name) => ({ name: PACKAGES[name], load: STACKS[name] })),
    );
  }
  if (choice !== 'libdatachannel' && choice !== 'werift')
    return Promise.reject(
      new QiError('ERR_QI_CONFIG', `Unknown ICE stack ${JSON.stringify(choice)}: use auto, libdatachannel or werift`),
    );
  return STACKS[choice]();
}

/** Bounds of {@link linkMtu}: IPv6's minimum link MTU, and a jumbo frame. */
const MTU_RANGE = [1280, 9000] as const;

/**
 * The MTU a link's SCTP packets are cut for: `option`, else `QI_ICE_MTU`, else undefined (libdatachannel's
 * 1280, which every IPv4 and IPv6 path carries). 1500 suits paths known to carry full Ethernet frames end to
 * end (a LAN, most home NATs): fewer, larger packets, +10–20% throughput (docs/links.md); on a path that
 * carries less (PPPoE, VPNs, tunnels) large packets are fragmented or, where ICMP is filtered, lost.
 * werift ignores it.
 * @throws {@link QiError} `ERR_QI_CONFIG` for a value outside 1280–9000
 */
export function linkMtu(option?: number): number | undefined {
  const mtu = option ?? envNumber('QI_ICE_MTU', 0, { zero: true, integer: true });
  if (mtu === 0 && option === undefined) return undefined;
  if (!Number.isInteger(mtu) || mtu < MTU_RANGE[0] || mtu > MTU_RANGE[1])
    throw new QiError(
      'ERR_QI_CONFIG',
      `A direct link's mtu must be a whole number from ${MTU_RANGE[0]} to ${MTU_RANGE[1]} bytes, not ${String(mtu)}: leave it unset for 1280 (every path), or give 1500 for paths that carry full Ethernet frames`,
    );
  return mtu;
}
