/** `qi info [SERVICE...]`: methods, signals and properties of services, with signatures and descriptions. */
import { connectSession, print, run, serviceOf, type GlobalOptions } from './common.js';
import { serviceTargets } from './targets.js';
import { backendOf } from '../index.js';

export async function info(names: string[], o: GlobalOptions & { hidden?: boolean }): Promise<void> {
  await run(o, async () => {
    const session = await connectSession(o);
    try {
      const targets = await serviceTargets(session, names);
      const out: unknown[] = [];
      for (const name of targets) {
        const meta = backendOf(await serviceOf(session, name, o))!.type.metaObject;
        const keep = (uid: number) => o.hidden || uid >= 100;
        const methods = [...meta.methods.values()].filter((m) => keep(m.uid));
        const signals = [...meta.signals.values()].filter((s) => keep(s.uid) && !meta.properties.has(s.uid));
        const properties = [...meta.properties.values()].filter((p) => keep(p.uid));
        if (o.json) {
          out.push({ name, description: meta.description, methods, signals, properties });
          continue;
        }
        console.log(`${name}${meta.description ? ` — ${meta.description}` : ''}`);
        for (const m of methods) {
          const params = m.parameters.map((p) => p.name).join(', ');
          console.log(
            `  method   ${String(m.uid).padStart(3)} ${m.name}${m.parametersSignature} -> ${m.returnSignature}${params ? `  (${params})` : ''}${m.description ? `  ${m.description}` : ''}`,
          );
        }
        for (const s of signals) console.log(`  signal   ${String(s.uid).padStart(3)} ${s.name}${s.signature}`);
        for (const p of properties) console.log(`  property ${String(p.uid).padStart(3)} ${p.name} ${p.signature}`);
      }
      if (o.json) print(o, out);
    } finally {
      await session.close();
    }
  });
}
