/** `qi get SERVICE.PROPERTY` and `qi set SERVICE.PROPERTY VALUE`. */
import { backendOf } from '../index.js';
import { serviceOf, connectSession, parseArg, print, run, splitTarget, type GlobalOptions } from './common.js';
import { checkValue } from './fit.js';
import { checkMember } from './names.js';

export async function property(spec: string, value: string | undefined, o: GlobalOptions): Promise<void> {
  await run(o, async () => {
    const [service, name] = splitTarget(spec, 'SERVICE.PROPERTY', 'qi get ALAudioDevice.outputVolume');
    const session = await connectSession(o);
    try {
      const backend = backendOf(await serviceOf(session, service, o))!;
      checkMember(backend.type, service, name, value === undefined ? 'get' : 'set');
      const type = backend.type.propertiesByName.get(name)!.type;
      if (value === undefined) return print(o, await backend.getProperty(name), type.type);
      const parsed = parseArg(value);
      checkValue(type, parsed, value, `${service}.${name}`);
      await backend.setProperty(name, parsed);
    } finally {
      await session.close();
    }
  });
}
