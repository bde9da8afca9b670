/** A session that hosts its own ServiceDirectory: what `qi sd` and libqi's `listenStandalone` run. */
import { Session, type SessionOptions } from '../session/index.js';
import { ServiceDirectory } from './directory.js';

/**
 * Starts a ServiceDirectory listening on `urls` (default `tcp://127.0.0.1:9559`), hosted by a session
 * that can also register and call services itself (in-process).
 */
export async function listenStandalone(
  urls: string | string[] = 'tcp://127.0.0.1:9559',
  options?: SessionOptions,
): Promise<Session> {
  const session = new Session(options);
  const directory = new ServiceDirectory({ machineId: session.machineId, endpoints: () => session.endpoints });
  session.hostDirectory(directory.object);
  try {
    await session.listen(urls);
  } catch (e) {
    await session.close();
    throw e;
  }
  return session;
}
