/**
 * Direct links (docs/links.md): two sessions that reach each other only through a gateway (or XMPP)
 * use it to exchange ICE offers and answers, then move their qi sessions onto a direct path through
 * their NATs (STUN), or onto a TURN relay, or stay on the signaling path, saying which.
 *
 * @packageDocumentation
 */
export { DirectLink, type DirectLinkOptions, type LinkPath } from './link.js';
export { type LinkMove } from './mover.js';
export { type ResumeOptions } from './resume.js';
export { DirectLinkHost, type DirectLinkHostOptions, type HostedLinkInfo } from './host.js';
export { DirectLinkDefinition } from './signaling.js';
export { DataChannelDuplex, type DataChannelDuplexOptions, type DataChannelLike } from './duplex.js';
export {
  parseIceServer,
  parseIceServers,
  describeIceServer,
  toRtcIceServer,
  QiIceServerError,
  type IceServer,
  type RtcIceServer,
} from './servers.js';
export { type CandidateInfo, type IcePath } from './path.js';
export { type IceStackName, type IceStackOption } from './stack.js';
export {
  MediaReceiver,
  type MediaCodec,
  type MediaFrame,
  type MediaReceiveOptions,
  type MediaReceiverMetrics,
  type MediaSender,
  type MediaTrackSpec,
} from './media.js';
