/**
 * `qi watch SERVICE.SIGNAL... [--time SECONDS]`: prints each emission (one JSON line each with
 * `--json`) until the time is up or Ctrl-C. A watched service that goes away ends the watch with
 * exit code 1 and a message saying so.
 */
import { backendOf, type Signature } from '../index.js';
import { serviceOf, connectSession, run, splitTarget, toJson, type GlobalOptions } from './common.js';
import { checkMember } from './names.js';
import { shown } from './values.js';
import { inspect } from 'node:util';

export async function watch(specs: string[], o: GlobalOptions & { time?: string }): Promise<void> {
  await run(o, async () => {
    const targets = specs.map((s) => splitTarget(s, 'SERVICE.SIGNAL', 'qi watch ALMemory.dataChanged'));
    const session = await connectSession(o);
    const stops: (() => Promise<void>)[] = [];
    try {
      const watched = new Set(targets.map(([service]) => service));
      let gone: string | undefined;
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      stops.push(await session.serviceRemoved.connect((_id, name) => {
        if (watched.has(name)) {
          gone = name;
          finish();
        }
      }));
      for (const [service, name] of targets) {
        const proxy = await serviceOf(session, service, o);
        const type = backendOf(proxy)!.type;
        checkMember(type, service, name, 'watch');
        const property = type.propertiesByName.get(name);
        const sig: Signature | undefined = property !== undefined ? { kind: 'tuple', members: [property.type.type] } : type.signalsByName.get(name)?.params.type;
        type Listen = (l: (...a: unknown[]) => void) => Promise<() => Promise<void>>;
        const member = proxy[name] as unknown as { connect?: Listen; watch?: Listen } | undefined;
        // A signal, or a property (whose changes are its signal).
        const listen = (member?.connect ?? member?.watch)!;
        stops.push(await listen((...args) => {
          if (o.json) console.log(JSON.stringify({ service, signal: name, args: toJson(args, sig) }));
          else console.log(`${service}.${name} ${args.map((a, i) => inspect(shown(a, sig?.kind === 'tuple' ? sig.members[i] : undefined, true), { depth: 4, breakLength: Infinity })).join(' ')}`);
        }));
      }
      if (process.stderr.isTTY && !o.json) process.stderr.write(`watching ${specs.join(', ')} (Ctrl-C to stop)\n`);
      const timer = o.time === undefined ? undefined : setTimeout(finish, Number(o.time) * 1000);
      process.once('SIGINT', finish);
      await finished;
      clearTimeout(timer);
      if (gone !== undefined) throw new Error(`service ${gone} went away while it was watched`);
    } finally {
      await Promise.allSettled(stops.map((s) => s()));
      await session.close();
    }
  });
}
