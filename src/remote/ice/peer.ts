/**
 * Waiting on a peer connection of any stack (stack.ts): for a DataChannel to open, for a description
 * to apply; which path the selected candidate pair takes; and, when a link fails, the facts behind it.
 */
import type { DataChannelLike } from './duplex.js';
import type { CandidateInfo, IcePath } from './path.js';
import { candidatesOf, withCandidates } from './sdp.js';
import { describeIceServer, type IceServer } from './servers.js';
import type { IcePeer } from './stack.js';
import { trickledOf } from './trickle.js';

/** Applies the peer's offer or answer, within `ms`. */
export async function setRemote(peer: IcePeer, type: 'offer' | 'answer', sdp: string, ms: number): Promise<void> {
  const p = peer.applyRemote(type, sdp);
  p.catch(() => {});
  await within(p, ms, `the ${type} could not be applied within ${ms} ms`);
}

/** Rejects with `what` after `ms` unless `p` settles first. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), Math.max(0, ms)))),
  ]).finally(() => clearTimeout(timer));
}

/** The selected pair of a connected peer connection, and the path it takes. */
export function selectedPath(
  peer: IcePeer,
): { path: IcePath; local: CandidateInfo; remote: CandidateInfo } | undefined {
  const pair = peer.selectedPair();
  if (pair === undefined) return undefined;
  const { local, remote } = pair;
  return { path: local.type === 'relay' || remote.type === 'relay' ? 'relay' : 'direct', local, remote };
}

/**
 * Resolves once `channel` is open; rejects when the connection fails or closes, or after `timeoutMs`,
 * with a message saying what was tried (`servers` and `notes` for {@link explain}; without them, just why).
 */
export function channelOpen(
  peer: IcePeer,
  channel: DataChannelLike,
  timeoutMs: number,
  servers?: IceServer[],
  notes: string[] = [],
): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const late = servers === undefined ? 'the DataChannel did not open' : 'no candidate pair worked';
    const timer = setTimeout(() => fail(`${late} within ${timeoutMs} ms`), Math.max(0, timeoutMs));
    const subs = [
      channel.onStateChange((s) => {
        if (s === 'open') {
          cleanup();
          resolve();
        } else if (s === 'closed') fail('the DataChannel closed before opening');
      }),
      peer.onState((s) => {
        if (s === 'failed') fail('ICE failed: every candidate pair was tried and none worked');
        else if (s === 'closed') fail('the connection was closed');
      }),
    ];
    function cleanup() {
      clearTimeout(timer);
      for (const unsubscribe of subs) unsubscribe();
    }
    function fail(why: string) {
      cleanup();
      reject(new Error(servers === undefined ? why : `${why} (${explain(peer, servers, notes)})`));
    }
  });
}

/** Opens one more DataChannel on a connected peer connection. */
export async function openChannel(peer: IcePeer): Promise<DataChannelLike> {
  const channel = peer.createChannel();
  await channelOpen(peer, channel, 10_000);
  return channel;
}

/** What was gathered and offered, and which servers were configured: the facts behind a failure. */
export function explain(peer: IcePeer, servers: IceServer[], notes: string[] = []): string {
  const trickled = trickledOf(peer);
  const local = candidatesOf(withCandidates(peer.localSdp ?? '', trickled.local));
  const remote = candidatesOf(withCandidates(peer.remoteSdp ?? '', trickled.remote));
  const parts = [
    `local candidates: ${local.join(', ') || 'none'}`,
    `remote candidates: ${remote.join(', ') || 'none'}`,
  ];
  // What the probe already said about a server is not guessed again.
  const noted = (s: IceServer) => notes.some((n) => n.startsWith(`${describeIceServer(s)} `));
  const turn = servers.find((s) => s.kind !== 'stun');
  if (turn === undefined) parts.push('no TURN server configured');
  else if (!local.some((c) => c.startsWith('relay ')) && !noted(turn))
    parts.push(`${describeIceServer(turn)} gave no relay address (it refused the credentials?)`);
  const stun = servers.find((s) => s.kind === 'stun');
  if (stun !== undefined && !local.some((c) => c.startsWith('srflx ') || c.startsWith('relay ')) && !noted(stun))
    parts.push(`${describeIceServer(stun)} gave no server-reflexive address`);
  return [...parts, ...notes].join('; ');
}
