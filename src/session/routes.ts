/**
 * Which endpoint to use for a service, and the connections already open. The cheapest route wins:
 * a unix socket (IPC) when the service runs on this machine, then loopback TCP, then the other
 * endpoints; a remote machine's loopback and unix endpoints are never dialled. Candidates of the
 * same rank are tried at once and the first to connect is used, as libqi does. Connections are
 * shared by every service reached through the same endpoint.
 */
import { QiError } from '../errors/index.js';
import { isLoopbackHost, parseEndpoint, reachOf } from '../transport/index.js';
import type { Channel } from '../channel/index.js';
import type { ServiceInfo } from './serviceinfo.js';

/** Route classes, cheapest first. */
export const enum Rank {
  Ipc = 0,
  Loopback = 1,
  Network = 2,
}

/**
 * Candidate endpoints grouped by rank, cheapest group first; endpoints that cannot work are left out.
 * `ofItsMachine` receives those left out because only a process of the service's own machine can use
 * them (its unix sockets and loopback addresses, when it is on another machine).
 */
export function candidates(info: ServiceInfo, local: boolean, ofItsMachine?: string[]): string[][] {
  const groups: string[][] = [[], [], []];
  for (const url of info.endpoints) {
    let e;
    try {
      e = parseEndpoint(url);
    } catch {
      continue; // an endpoint we cannot read is one we cannot use
    }
    const reach = reachOf(e);
    if (reach === 'relative') continue; // only reachable through an existing connection
    if (reach === 'ipc') {
      if (local) groups[Rank.Ipc].push(url);
      else ofItsMachine?.push(url);
      continue;
    }
    if (reach === 'relay' || !('host' in e)) {
      groups[Rank.Network].push(url); // through a server: the most expensive route, never the first
      continue;
    }
    const loop = isLoopbackHost(e.host);
    if (loop && !local) {
      ofItsMachine?.push(url); // another machine's loopback is our own machine
      continue;
    }
    groups[loop ? Rank.Loopback : Rank.Network].push(url);
  }
  return groups.filter((g) => g.length > 0);
}

/** A service that no endpoint could reach, with every attempt's error. */
export class QiNoRouteError extends QiError {
  /**
   * @param others when nothing was tried because the service is on another machine by its id: the
   *   endpoints left out (loopback, unix) and both machine ids
   */
  constructor(
    readonly service: string,
    readonly attempts: { url: string; error: Error }[],
    others?: { endpoints: string[]; theirs: string; ours: string },
  ) {
    const detail =
      attempts.length > 0
        ? attempts.map((a) => `${a.url}: ${a.error.message}`).join('; ')
        : others !== undefined && others.endpoints.length > 0
          ? `it listens only where a process of its own machine can connect (${others.endpoints.join(', ')}), and its machine id (${others.theirs}) is not this one's (${others.ours}). ` +
            'If it runs on this machine, the two disagree on the machine id: a libqi built without systemd keeps a random one in ~/.config/qimessaging/machine_id; ' +
            'start this program with QI_MACHINE_ID="$(cat ~/.config/qimessaging/machine_id)", or write machineId() of qimessaging into that file before libqi starts (docs/sessions.md, Machine id)'
          : 'it advertises no endpoint this machine can use';
    super(
      'ERR_QI_CONNECT',
      `Could not connect to service "${service}": ${detail}. If the service runs on another machine, it must listen on an address this machine can reach (libqi listens on loopback only by default).`,
    );
  }
}

/** Opens (or reuses) a connection to an endpoint. */
export type Opener = (url: string) => Promise<Channel>;

/**
 * Connects to a service: reuses an open connection to any of its endpoints, else tries the cheapest
 * group of candidates at once, then the next group.
 */
export async function connectService(
  info: ServiceInfo,
  ours: string,
  open: Opener,
  existing: (url: string) => Promise<Channel> | undefined,
): Promise<Channel> {
  const local = info.machineId === ours;
  for (const url of info.endpoints) {
    const known = existing(url);
    if (known !== undefined) {
      try {
        return await known;
      } catch {
        // that connection failed meanwhile: fall through to fresh attempts
      }
    }
  }
  const attempts: { url: string; error: Error }[] = [];
  const ofItsMachine: string[] = [];
  for (const group of candidates(info, local, ofItsMachine)) {
    try {
      return await Promise.any(
        group.map((url) =>
          open(url).catch((error: Error) => {
            attempts.push({ url, error });
            throw error;
          }),
        ),
      );
    } catch {
      // every endpoint of this rank failed: try the next rank
    }
  }
  throw new QiNoRouteError(
    info.name,
    attempts,
    local ? undefined : { endpoints: ofItsMachine, theirs: info.machineId, ours },
  );
}
