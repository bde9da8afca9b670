/** Waiting for a service to appear in a ServiceDirectory. */
import { QiTimeoutError } from '../channel/index.js';
import type { QiSignal } from '../object/index.js';
import type { ServiceInfo } from './serviceinfo.js';

/** What waiting needs from a session. */
export interface Directory {
  readonly serviceAdded: QiSignal<[number, string]>;
  services(): Promise<ServiceInfo[]>;
}

/**
 * Resolves once the service `name` is listed (at once if it already is): watches `serviceAdded` before
 * reading the list, so that a service added meanwhile is not missed.
 * @throws {@link QiTimeoutError} after `timeoutMs`
 */
export async function untilListed(sd: Directory, name: string, timeoutMs: number): Promise<void> {
  const ac = new AbortController();
  const timer = setTimeout(
    () =>
      ac.abort(
        new QiTimeoutError(
          `Service "${name}" did not appear within ${timeoutMs} ms. Is the process that provides it running and connected to the same ServiceDirectory?`,
        ),
      ),
    timeoutMs,
  );
  try {
    const added = sd.serviceAdded.iterate({ signal: ac.signal });
    const known = await sd.services();
    if (!known.some((s) => s.name === name)) {
      for (;;) {
        const next = await Promise.race([
          added.next(),
          new Promise<never>((_, reject) =>
            ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }),
          ),
        ]);
        if (next.done) throw ac.signal.reason;
        if (next.value[1] === name) break;
      }
    }
    await added.return?.();
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}
