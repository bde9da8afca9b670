/** Hosting the LogManager on a session (the demo robot and `qi sd` do, in the ServiceDirectory's process). */
import type { Session } from '../session/index.js';
import { LogManager, type LogManagerOptions } from './manager.js';

/** Registers a {@link LogManager} as the `LogManager` service of `session`'s bus; resolves with it. */
export async function serveLogManager(session: Session, options?: LogManagerOptions): Promise<LogManager> {
  const manager = new LogManager(options);
  await session.registerService('LogManager', manager.object);
  return manager;
}
