/** `qi get SERVICE.PROPERTY` and `qi set SERVICE.PROPERTY VALUE`. */
import { serviceOf, connectSession, parseArg, print, run, splitTarget, UsageError, type GlobalOptions } from './common.js';

export async function property(spec: string, value: string | undefined, o: GlobalOptions): Promise<void> {
  await run(o, async () => {
    const [service, name] = splitTarget(spec, 'SERVICE.PROPERTY', 'qi get ALAudioDevice.outputVolume');
    const session = await connectSession(o);
    try {
      const proxy = await serviceOf(session, service, o);
      const p = proxy[name] as unknown as { get?: () => Promise<unknown>; set?: (v: unknown) => Promise<void> } | undefined;
      if (p?.get === undefined || p.set === undefined) throw new UsageError(`${service} has no property "${name}" (see: qi info ${service})`);
      if (value === undefined) print(o, await p.get());
      else await p.set(parseArg(value));
    } finally {
      await session.close();
    }
  });
}
