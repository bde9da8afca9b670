/**
 * What a direct link reports about its path. Kept apart from peer.ts so that the package's types name
 * no werift type: an app's compilation does not load werift's declarations (nor the DOM typings they use).
 */

/** Which way a link's bytes go: straight between the two hosts (through their NATs), or through TURN. */
export type IcePath = 'direct' | 'relay';

/** One end of the selected candidate pair. */
export interface CandidateInfo {
  /** host, srflx (address seen by STUN), prflx (address seen by the peer) or relay (TURN). */
  type: string;
  address: string;
  port: number;
  protocol: string;
}
