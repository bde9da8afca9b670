/** `qi services`: the services the ServiceDirectory knows. */
import { connectSession, print, run, type GlobalOptions } from './common.js';

export async function services(o: GlobalOptions): Promise<void> {
  await run(o, async () => {
    const session = await connectSession(o);
    try {
      const list = await session.services();
      if (o.json) return print(o, list);
      for (const s of list) {
        console.log(
          `${String(s.serviceId).padStart(3)} ${s.name.padEnd(28)} machine ${s.machineId.slice(0, 8)} pid ${s.processId}  ${s.endpoints.join(' ')}`,
        );
      }
    } finally {
      await session.close();
    }
  });
}
