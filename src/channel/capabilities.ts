/**
 * Capabilities: the `{sm}` map each side advertises (spec §6.2), and the rules for what is in effect.
 */
import { Dynamic } from '../type/index.js';

/** Capability names of the protocol. */
export const Capability = {
  ClientServerSocket: 'ClientServerSocket',
  MessageFlags: 'MessageFlags',
  MetaObjectCache: 'MetaObjectCache',
  RemoteCancelableCalls: 'RemoteCancelableCalls',
  ObjectPtrUID: 'ObjectPtrUID',
  RelativeEndpointURI: 'RelativeEndpointURI',
  /**
   * Ours (libqi ignores keys it does not know): a reference to an object of the receiver, sent back to it,
   * names the object by its address, and the receiver calls the object itself. Without it, a proxy is sent
   * back as libqi sends every object it did not create: served by the sender, forwarding (object/forward.ts).
   */
  OwnObjectsByAddress: 'qimessaging.OwnObjectsByAddress',
} as const;

/** A capability map as it travels: name → dynamic value. */
export type CapabilityMap = Map<string, Dynamic>;

/**
 * What we advertise, libqi 4.x's set: we serve calls on connections we opened, understand the header
 * flags, never use the MetaObject cache, cancel remotely, send object uids and accept `qi:` endpoints;
 * and one of ours, {@link Capability.OwnObjectsByAddress}.
 */
export function defaultCapabilities(): CapabilityMap {
  const t = new Dynamic('b', true);
  return new Map([
    [Capability.ClientServerSocket, t],
    [Capability.MessageFlags, t],
    [Capability.MetaObjectCache, new Dynamic('b', false)],
    [Capability.ObjectPtrUID, t],
    [Capability.RelativeEndpointURI, t],
    [Capability.RemoteCancelableCalls, t],
    [Capability.OwnObjectsByAddress, t],
  ]);
}

/** True when a capability value means "yes": a true bool, or a non-zero number (libqi converts). */
export function truthy(d: Dynamic | undefined): boolean {
  if (d === undefined) return false;
  const v = d.value;
  return v === true || (typeof v === 'number' && v !== 0) || (typeof v === 'bigint' && v !== 0n);
}

/** Merges received capabilities the libqi way: a key already known keeps its first value. */
export function mergeCapabilities(into: CapabilityMap, received: CapabilityMap): void {
  for (const [k, v] of received) {
    // A key that is not UTF-8 decodes to bytes: no capability we know, and nothing to crash on.
    if (typeof k !== 'string' || k.startsWith('auth_') || k.startsWith('__qi_auth')) continue;
    if (!into.has(k)) into.set(k, v);
  }
}

/** Our own capabilities (not libqi's), offered by a server only to clients that offer them first. */
const OURS: ReadonlySet<string> = new Set([Capability.OwnObjectsByAddress]);

/**
 * What a server answers with: its capabilities, without those of ours the client did not offer, so that a
 * libqi client gets exactly libqi's answer.
 */
export function answeredCapabilities(local: CapabilityMap, remote: CapabilityMap): CapabilityMap {
  return new Map([...local].filter(([k]) => !OURS.has(k) || remote.has(k)));
}
