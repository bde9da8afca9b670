/** `qi sd [--listen URL...]`: a standalone ServiceDirectory, until Ctrl-C. */
import { listenStandalone, serveLogManager } from '../index.js';
import { run, sessionOptions, type GlobalOptions } from './common.js';

export async function sd(o: GlobalOptions & { listen: string[] }): Promise<void> {
  await run(o, async () => {
    const session = await listenStandalone(o.listen, sessionOptions(o));
    await serveLogManager(session); // as NAOqi's, so `qi log` works against it
    if (o.json) console.log(JSON.stringify({ endpoints: session.endpoints }));
    else console.log(`ServiceDirectory listening on ${session.endpoints.join(' ')}`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await session.close();
  });
}
