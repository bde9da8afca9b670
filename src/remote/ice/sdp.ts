/**
 * The candidate lines of a non-trickle SDP, whatever the stack that wrote it: parsing one, listing
 * them for messages, adding those gathered so far, and keeping only some (relay only, or host
 * candidates on one address only).
 */
import type { CandidateInfo } from './path.js';

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

/** An SDP with candidate lines added at its end (its only media section: the DataChannel one). */
export function withCandidates(sdp: string, candidates: string[]): string {
  const lines = candidates.map((c) => `a=${c.startsWith('candidate:') ? c : `candidate:${c}`}`);
  return (sdp.endsWith('\n') ? sdp : `${sdp}\r\n`) + lines.map((l) => `${l}\r\n`).join('');
}

/**
 * What a peer may offer: relay candidates only, host candidates on one address only, IPv4 only. IPv6
 * link-local addresses (fe80::/10) are never offered: a peer cannot use them without a scope (the
 * interface), which a candidate does not carry.
 */
export interface CandidateFilter {
  relayOnly?: boolean;
  hostAddress?: string;
  /** Leave IPv6 candidates out. */
  ipv4Only?: boolean;
}

/** True when a candidate passes `filter`. */
export function allowedCandidate(c: CandidateInfo, filter: CandidateFilter): boolean {
  if (filter.relayOnly && c.type !== 'relay') return false;
  if (c.address.includes(':') && (filter.ipv4Only || /^fe[89ab][0-9a-f]:/i.test(c.address))) return false;
  return filter.hostAddress === undefined || c.type !== 'host' || c.address === filter.hostAddress;
}

/** The SDP without the candidate lines that `filter` leaves out. */
export function filterCandidates(sdp: string, filter: CandidateFilter): string {
  return sdp
    .split(/(?<=\n)/)
    .filter((l) => {
      if (!l.startsWith('a=candidate:')) return true;
      const c = parseCandidate(l);
      return c !== undefined && allowedCandidate(c, filter);
    })
    .join('');
}

/** A gathered candidate as a `candidate:…` line, or undefined when `filter` leaves it out (or it does not parse). */
export function trickled(line: string, filter: CandidateFilter): string | undefined {
  const text = line.trim().replace(/^a=/, '');
  const c = parseCandidate(text);
  return c !== undefined && allowedCandidate(c, filter) ? text : undefined;
}

/** The media id (`a=mid:`) of an SDP's DataChannel section, which trickled candidates name (default `0`). */
export function mediaId(sdp: string | undefined): string {
  return /^a=mid:(\S+)/m.exec(sdp ?? '')?.[1] ?? '0';
}
