/**
 * ServiceInfo: what the ServiceDirectory knows of a service (spec §7.3). libqi 4.x has 7 fields;
 * NAOqi 2.x has 6 (no objectUid). Calls use whichever the directory's MetaObject says, so both work.
 */
import { isLoopbackHost, parseEndpoint } from '../transport/index.js';

/** A service as the ServiceDirectory describes it. */
export interface ServiceInfo {
  name: string;
  serviceId: number;
  machineId: string;
  processId: number;
  /** URLs the service is reached at, best first. */
  endpoints: string[];
  /** Id of the registering session; `"0"` for the ServiceDirectory itself. */
  sessionId: string;
  /** 20 bytes identifying the service object (empty when unknown or from a 6-field directory). */
  objectUid: string | Uint8Array;
}

/** The 7-field signature (libqi ≥ 2.9.x and 4.x). */
export const SERVICE_INFO_SIGNATURE =
  '(sIsI[s]ss)<ServiceInfo,name,serviceId,machineId,processId,endpoints,sessionId,objectUid>';
/** The 6-field signature (NAOqi 2.1 – 2.5). */
export const SERVICE_INFO_SIGNATURE_6 =
  '(sIsI[s]s)<ServiceInfo,name,serviceId,machineId,processId,endpoints,sessionId>';

/** Fills what a 6-field directory leaves out. */
export function normalizeServiceInfo(v: unknown): ServiceInfo {
  const o = v as Partial<ServiceInfo>;
  return {
    name: String(o.name ?? ''),
    serviceId: Number(o.serviceId ?? 0),
    machineId: String(o.machineId ?? ''),
    processId: Number(o.processId ?? 0),
    endpoints: [...(o.endpoints ?? [])].map(String),
    sessionId: String(o.sessionId ?? ''),
    objectUid: o.objectUid ?? '',
  };
}

function rank(url: string): [number, string] {
  if (url.startsWith('qi:')) return [url === 'qi:ServiceDirectory' ? 0 : 1, url];
  try {
    const e = parseEndpoint(url);
    if (!('host' in e)) return [4, url]; // unix, qi and plugged-in transports (xmpp)
    return [isLoopbackHost(e.host) ? 2 : 3, url];
  } catch {
    return [5, url];
  }
}

/** libqi's endpoint order (spec §8.3): relative first, then loopback, then other hosts; ties by text. */
export function sortEndpoints(urls: Iterable<string>): string[] {
  return [...new Set(urls)].sort((a, b) => {
    const [ra, ta] = rank(a),
      [rb, tb] = rank(b);
    return ra - rb || (ta < tb ? -1 : ta > tb ? 1 : 0);
  });
}
