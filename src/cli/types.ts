/** `qi types [SERVICE...] [--import MODULE]`: TypeScript declarations from the live MetaObjects. */
import { backendOf } from '../index.js';
import { connectSession, run, serviceOf, type GlobalOptions } from './common.js';
import { declarations } from './typegen.js';

export async function types(names: string[], o: GlobalOptions & { import?: string }): Promise<void> {
  await run(o, async () => {
    const session = await connectSession(o);
    try {
      const targets =
        names.length > 0
          ? names
          : (await session.services()).map((s) => s.name).filter((n) => n !== 'ServiceDirectory');
      const services = [];
      for (const name of targets)
        services.push({ name, meta: backendOf(await serviceOf(session, name, o))!.type.metaObject });
      process.stdout.write(declarations(services, o.import ?? 'qimessaging', o.url));
    } finally {
      await session.close();
    }
  });
}
