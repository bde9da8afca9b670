/**
 * The qi methods of one service as a YARP RPC port, the way YARP modules answer `yarp rpc`: each
 * command is a Bottle whose first word is the method name and the rest its arguments
 * (`add 1 2`); the reply is the result (`3`), `[ok]` for a void method, or `[fail] "why"`. `help`
 * lists the methods with their qi signatures. Overloads are tried in order, the first whose
 * parameters take the arguments is called.
 */
import { QiError } from '../../errors/index.js';
import type { MethodInfo, ObjectBackend } from '../../object/index.js';
import type { Signature } from '../../type/index.js';
import type { Bottle, BottleValue } from './bottle.js';
import { fromBottleValue, toBottleValue } from './values.js';

const membersOf = (sig: Signature): readonly Signature[] => (sig.kind === 'tuple' ? sig.members : [sig]);
const fail = (why: string): Bottle => [
  { t: 'vocab', v: 'fail' },
  { t: 'string', v: why },
];

/** The methods of `service` served: name → overloads (user methods only). */
export type ServedMethods = Map<string, MethodInfo[]>;

/** The arguments of `args` for `m`, or an error message. */
function argsFor(m: MethodInfo, args: readonly BottleValue[], what: string): unknown[] | string {
  const params = membersOf(m.params.type);
  if (params.length !== args.length)
    return `${what} takes ${params.length} argument${params.length === 1 ? '' : 's'}${params.length ? ` (${m.meta.parametersSignature})` : ''}, got ${args.length}`;
  try {
    return params.map((p, i) => fromBottleValue(p, args[i], `${what} argument ${i + 1}`));
  } catch (e) {
    return (e as Error).message;
  }
}

/** The reply to one RPC Bottle. Never throws: failures are `[fail] "why"` replies. */
export async function rpcReply(
  backend: ObjectBackend,
  service: string,
  methods: ServedMethods,
  b: Bottle,
  timeoutMs: number,
): Promise<Bottle> {
  const head = b[0];
  const name = head && (head.t === 'string' || head.t === 'vocab') ? head.v : undefined;
  if (name === undefined)
    return fail(
      `send a method name first, then its arguments (e.g. ${[...methods.keys()][0] ?? 'method'} 1 2); help lists them`,
    );
  if (name === 'help' && !methods.has('help'))
    return [
      { t: 'vocab', v: 'many' },
      ...[...methods.values()].flat().map((m): BottleValue => ({
        t: 'string',
        v: `${m.name} ${m.meta.parametersSignature} -> ${m.meta.returnSignature}`,
      })),
    ];
  const overloads = methods.get(name);
  if (!overloads)
    return fail(
      `${service} has no method ${name} served over YARP (served: ${[...methods.keys()].join(', ') || 'none'})`,
    );
  let why = '';
  for (const m of overloads) {
    const args = argsFor(m, b.slice(1), `${service}.${name}`);
    if (typeof args === 'string') {
      why ||= args;
      continue;
    }
    try {
      const result = await backend.call(m.name, args, { timeoutMs });
      const ret = m.returns.type;
      if (ret.kind === 'void') return [{ t: 'vocab', v: 'ok' }];
      return [toBottleValue(ret, result, `the result of ${service}.${name}`)];
    } catch (e) {
      return fail(e instanceof QiError ? e.message : String(e));
    }
  }
  return fail(why);
}
