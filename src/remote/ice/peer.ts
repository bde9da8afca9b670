/**
 * The ICE side of a direct link, on werift's RTCPeerConnection: configuration from STUN/TURN URLs,
 * non-trickle gathering (all candidates are in the SDP that is sent), waiting for a DataChannel to
 * open, and which path the selected candidate pair takes.
 */
import type { RTCDataChannel, RTCPeerConnection } from 'werift';
import type { CandidateInfo, IcePath } from './path.js';
import { importOptional } from '../../errors/optional.js';
import { describeIceServer, toRtcIceServer, type IceServer } from './servers.js';

/** Options common to both ends. */
export interface PeerOptions {
  servers: IceServer[];
  /** Only relay candidates (TURN) are used: to test the relay, or to hide the host's addresses. */
  relayOnly?: boolean;
}

let werift: Promise<typeof import('werift')> | undefined;

/**
 * A peer connection configured with these servers, and no other server (werift would ask Google's STUN
 * by default). werift is loaded on first use: programs that never open a link do not pay for it, and
 * need not install it (a missing werift is a QiError naming the package).
 */
export async function createPeer(options: PeerOptions): Promise<RTCPeerConnection> {
  const { RTCPeerConnection } = await (werift ??= importOptional('ICE', 'werift', () => import('werift')));
  const stun = options.servers.find((s) => s.kind === 'stun');
  const turn = options.servers.find((s) => s.kind !== 'stun');
  const iceServers = [stun, turn].filter((s) => s !== undefined).map(toRtcIceServer);
  return new RTCPeerConnection({
    iceServers,
    iceTransportPolicy: options.relayOnly ? 'relay' : 'all',
    // werift's relay policy only holds when a TURN server is configured: only relay pairs are checked.
    ...(options.relayOnly
      ? { iceFilterCandidatePair: (pair: { localCandidate: { type: string } }) => pair.localCandidate.type === 'relay' }
      : {}),
    // TURN over TLS is the only case werift needs told: the URL's transport covers udp/tcp.
    ...(turn?.kind === 'turns' ? { turnTransport: 'tls' as const } : {}),
    // IPv6 link-local and unique-local candidates only slow the checks down between NATed hosts.
    iceUseIpv6: false,
  });
}

/** Called between creating and applying a local description: no STUN server unless one was configured. */
export function noDefaultStun(pc: RTCPeerConnection, servers: IceServer[]): void {
  if (servers.some((s) => s.kind === 'stun')) return;
  for (const t of pc.iceTransports) (t.connection as unknown as { stunServer?: unknown }).stunServer = undefined;
}

/** The SDPs exchanged on each peer connection, for messages (werift's own may still be pending). */
const exchanged = new WeakMap<RTCPeerConnection, { local?: string; remote?: string }>();

/** Applies the peer's offer or answer, within `ms`. */
export async function setRemote(
  pc: RTCPeerConnection,
  description: { type: 'offer' | 'answer'; sdp: string },
  ms: number,
): Promise<void> {
  exchanged.set(pc, { ...exchanged.get(pc), remote: description.sdp });
  const p = pc.setRemoteDescription(description);
  p.catch(() => {});
  await within(p, ms, `the ${description.type} could not be applied within ${ms} ms`);
}

/**
 * Applies a local offer or answer and gives the SDP to send, with every candidate: all of them once
 * gathering is complete, or after `timeoutMs` those gathered so far (a server that is slow to answer
 * would otherwise hold the offer; werift only puts candidates in its description once gathering ends).
 */
export async function setLocal(
  pc: RTCPeerConnection,
  description: { type: 'offer' | 'answer'; sdp: string },
  servers: IceServer[],
  timeoutMs: number,
  relayOnly = false,
): Promise<string> {
  const gatheredSoFar: string[] = [];
  const sub = pc.onIceCandidate.subscribe((c) => c && gatheredSoFar.push(c.candidate));
  noDefaultStun(pc, servers);
  const setting = pc.setLocalDescription(description);
  setting.catch(() => {}); // awaited below, or left to finish in the background
  let timer: NodeJS.Timeout | undefined;
  const complete = await Promise.race([
    setting.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, timeoutMs)))),
  ]);
  clearTimeout(timer);
  sub.unSubscribe();
  const sent = complete ? localSdp(pc, relayOnly) : withCandidates(description.sdp, gatheredSoFar, relayOnly);
  exchanged.set(pc, { ...exchanged.get(pc), local: sent });
  return sent;
}

/** An SDP with candidate lines added at its end (its only media section: the DataChannel one). */
function withCandidates(sdp: string, candidates: string[], relayOnly: boolean): string {
  const lines = candidates
    .map((c) => `a=${c.startsWith('candidate:') ? c : `candidate:${c}`}`)
    .filter((l) => !relayOnly || parseCandidate(l)?.type === 'relay');
  return (sdp.endsWith('\n') ? sdp : `${sdp}\r\n`) + lines.map((l) => `${l}\r\n`).join('');
}

/** Rejects with `what` after `ms` unless `p` settles first. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), Math.max(0, ms)))),
  ]).finally(() => clearTimeout(timer));
}

/** The local description's SDP (with the candidates gathered so far; relay ones only with `relayOnly`). */
export function localSdp(pc: RTCPeerConnection, relayOnly = false): string {
  const d = pc.localDescription;
  if (d === null) throw new Error('no local description');
  if (!relayOnly) return d.sdp;
  return d.sdp
    .split(/(?<=\n)/)
    .filter((l) => !l.startsWith('a=candidate:') || parseCandidate(l)?.type === 'relay')
    .join('');
}

/** Parses one `candidate:…` line (with or without the `a=candidate:` prefix). */
export function parseCandidate(line: string): CandidateInfo | undefined {
  const f = line
    .replace(/^a=/, '')
    .replace(/^candidate:/, '')
    .trim()
    .split(/\s+/);
  // foundation component protocol priority address port typ type …
  if (f.length < 8 || f[6] !== 'typ') return undefined;
  return { protocol: f[2].toLowerCase(), address: f[4], port: Number(f[5]), type: f[7] };
}

/** The candidates of an SDP, as `type address:port` texts, for messages. */
export function candidatesOf(sdp: string): string[] {
  return sdp
    .split(/\r?\n/)
    .filter((l) => l.startsWith('a=candidate:'))
    .map((l) => parseCandidate(l))
    .filter((c) => c !== undefined)
    .map((c) => `${c.type} ${c.address}:${c.port}`);
}

/** The selected pair of a connected peer connection, and the path it takes. */
export function selectedPath(
  pc: RTCPeerConnection,
): { path: IcePath; local: CandidateInfo; remote: CandidateInfo } | undefined {
  for (const t of pc.iceTransports) {
    const pair = t.getSelectedCandidatePair();
    if (pair === null) continue;
    const local = parseCandidate(pair.local.candidate);
    const remote = parseCandidate(pair.remote.candidate);
    if (local === undefined || remote === undefined) continue;
    return { path: local.type === 'relay' || remote.type === 'relay' ? 'relay' : 'direct', local, remote };
  }
  return undefined;
}

/**
 * Resolves once `channel` is open; rejects when the connection fails or closes, or after `timeoutMs`,
 * with a message saying what was tried.
 */
export function channelOpen(
  pc: RTCPeerConnection,
  channel: RTCDataChannel,
  timeoutMs: number,
  servers: IceServer[],
  notes: string[] = [],
): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`no candidate pair worked within ${timeoutMs} ms`), Math.max(0, timeoutMs));
    const subs = [
      channel.stateChanged.subscribe((s) => {
        if (s === 'open') {
          cleanup();
          resolve();
        } else if (s === 'closed') fail('the DataChannel closed before opening');
      }),
      pc.connectionStateChange.subscribe((s) => {
        if (s === 'failed') fail('ICE failed: every candidate pair was tried and none worked');
        else if (s === 'closed') fail('the connection was closed');
      }),
    ];
    function cleanup() {
      clearTimeout(timer);
      for (const s of subs) s.unSubscribe();
    }
    function fail(why: string) {
      cleanup();
      reject(new Error(`${why} (${explain(pc, servers, notes)})`));
    }
  });
}

/** What was gathered and offered, and which servers were configured: the facts behind a failure. */
export function explain(pc: RTCPeerConnection, servers: IceServer[], notes: string[] = []): string {
  const sdps = exchanged.get(pc);
  const local = candidatesOf(sdps?.local ?? pc.localDescription?.sdp ?? '');
  const remote = candidatesOf(sdps?.remote ?? pc.remoteDescription?.sdp ?? '');
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

/** Closes a peer connection without throwing or waiting forever. */
export async function closePeer(pc: RTCPeerConnection): Promise<void> {
  await Promise.race([pc.close().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
}
