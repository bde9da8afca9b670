/** `qi call SERVICE.METHOD ARGS...` and `qi post …`: arguments are JSON-like literals, converted to the method's signature. */
import { backendOf } from '../index.js';
import { serviceOf, connectSession, parseArg, print, run, splitTarget, UsageError, type GlobalOptions } from './common.js';

export async function call(spec: string, args: string[], o: GlobalOptions, post = false): Promise<void> {
  await run(o, async () => {
    const [service, method] = splitTarget(spec, 'SERVICE.METHOD', 'qi call ALTextToSpeech.say "hello"');
    const session = await connectSession(o);
    try {
      const proxy = await serviceOf(session, service, o);
      const values = args.map(parseArg);
      if (post) {
        // A post reaches a method (its result is dropped) or a signal (the owner emits it).
        backendOf(proxy)!.post(method, values);
        return;
      }
      const fn = proxy[method] as unknown;
      if (typeof fn !== 'function') throw new UsageError(`${service} has no method "${method}" (see: qi info ${service})`);
      const timeoutMs = o.timeout === undefined ? undefined : Number(o.timeout);
      const result = await (fn as (...a: unknown[]) => Promise<unknown>)(...values, ...(timeoutMs ? [{ timeoutMs }] : []));
      print(o, result);
    } finally {
      await session.close();
    }
  });
}
