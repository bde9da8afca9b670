/**
 * The seam between direct links and the WebRTC stack under them: what link.ts, host.ts and peer.ts
 * need from a peer connection, in our own types, and which stack runs. Each stack adapts its own peer
 * connection and DataChannels to these in a file of its own (libdatachannel.ts, werift.ts; no stack's
 * types leave its file).
 */
import { QiError } from '../../errors/index.js';
import { importFirst } from '../../errors/optional.js';
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
