/**
 * The seam between direct links and the WebRTC stack under them: what link.ts, host.ts and peer.ts
 * need from a peer connection, in our own types, and which stack runs. Each stack adapts its own peer
 * connection and DataChannels to these in a file of its own (werift.ts; no stack's types leave
 * its file).
 */
import type { DataChannelLike, Unsubscribe } from './duplex.js';
import type { CandidateInfo } from './path.js';
import type { IceServer } from './servers.js';

/** The WebRTC stacks a direct link can run on. */
export type IceStackName = 'werift';

/** What a peer connection is configured with. */
export interface PeerOptions {
  /** STUN/TURN servers (the stack uses the first of each kind). */
  servers: IceServer[];
  /** Only relay candidates (TURN) are offered and checked: to test the relay, or to hide the host's addresses. */
  relayOnly?: boolean;
  /** Host candidates on this local address only (default: every interface's). */
  hostAddress?: string;
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
  /** The SDPs sent and applied so far, for messages. */
  readonly localSdp: string | undefined;
  readonly remoteSdp: string | undefined;
  /** Both ends of the selected candidate pair, once connected. */
  selectedPair(): { local: CandidateInfo; remote: CandidateInfo } | undefined;
  /** Closes the connection and its channels; never throws. */
  close(): Promise<void>;
}

/** A WebRTC stack: a factory of peer connections. */
export interface IceStack {
  readonly name: IceStackName;
  createPeer(options: PeerOptions): IcePeer;
}

/** The stack that runs links. */
export async function loadStack(): Promise<IceStack> {
  const { weriftStack } = await import('./werift.js');
  return weriftStack();
}
