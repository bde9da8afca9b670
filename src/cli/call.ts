/** `qi call SERVICE.METHOD ARGS...` and `qi post …`: arguments are JSON-like literals, converted to the method's signature. */
import type { Channel } from '../channel/index.js';
import { backendOf } from '../index.js';
import { resolveMethod } from '../object/index.js';
import { serviceOf, connectSession, parseArg, print, run, splitTarget, type GlobalOptions } from './common.js';
import { checkArgs } from './fit.js';
import { checkMember } from './names.js';
import { withProgress } from './progress.js';

export async function call(spec: string, args: string[], o: GlobalOptions, post = false): Promise<void> {
  await run(o, async () => {
    const [service, method] = splitTarget(spec, 'SERVICE.METHOD', 'qi call ALTextToSpeech.say "hello"');
    const session = await connectSession(o);
    try {
      const proxy = await serviceOf(session, service, o);
      const backend = backendOf(proxy)!;
      const type = backend.type;
      checkMember(type, service, method, post ? 'post' : 'call');
      const values = args.map(parseArg);
      const signal = type.signalsByName.get(method);
      if (post && signal !== undefined && !type.methodsByName.has(method)) {
        // A post to a signal: the owner emits it.
        checkArgs(signal.params, values, args, `${service}.${method}`);
        backend.post(method, values);
        return;
      }
      const m = resolveMethod(type, service, method, values);
      checkArgs(
        m.params,
        values,
        args,
        `${service}.${method}`,
        m.meta.parameters.map((p) => p.name),
      );
      if (post) {
        // A post to a method: its result is dropped.
        backend.post(method, values);
        return;
      }
      const timeoutMs = o.timeout === undefined ? undefined : Number(o.timeout);
      const result = await withProgress(
        backend.call(method, values, timeoutMs ? { timeoutMs } : undefined),
        `${service}.${method}`,
        () => (backend as { channel?: Channel }).channel,
        process.stderr.isTTY === true && !o.json,
      );
      print(o, result, m.returns.type);
    } finally {
      await session.close();
    }
  });
}
