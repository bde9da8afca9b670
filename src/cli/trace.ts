/**
 * `qi trace [SERVICE...]`: every call, reply, error and signal of the services as they happen, from
 * libqi's trace built-ins (enableTrace and the traceObject signal), as libqi's `qicli trace`. One line
 * per event with abbreviated arguments and the duration of replies, or one JSON object per line with
 * `--json`. Stops on Ctrl-C, `--count` or `--time`, and turns tracing off again if it turned it on.
 */
import { inspect } from 'node:util';
import { connectSession, run, serviceOf, toJson, UsageError, type GlobalOptions } from './common.js';
import { serviceTargets } from './targets.js';
import { backendOf, Dynamic, type AnyProxy } from '../index.js';

/** Options of `qi trace`. */
export interface TraceOptions extends GlobalOptions {
  /** Stop after this many events (default: until Ctrl-C). */
  count?: string;
  /** Stop after this many seconds (default: until Ctrl-C). */
  time?: string;
  /** Print arguments whole instead of abbreviated (default: abbreviated). */
  full?: boolean;
}

interface EventTrace {
  id: number;
  kind: number;
  slotId: number;
  arguments: Dynamic;
  timestamp: { tv_sec: bigint | number; tv_usec: bigint | number };
  userUsTime: bigint | number;
  systemUsTime: bigint | number;
}

const KINDS = ['?', 'call', 'reply', 'error', 'signal'];
/** Calls whose reply has not come yet, remembered for the durations of replies; bounded. */
const MAX_PENDING = 10_000;

/** A value in one short line: at most `max` characters. */
function short(v: unknown, max: number, full: boolean): string {
  const j = toJson(v);
  const text =
    typeof j === 'string'
      ? JSON.stringify(j)
      : inspect(j, {
          depth: full ? Infinity : 3,
          breakLength: Infinity,
          maxArrayLength: full ? Infinity : 10,
          maxStringLength: full ? Infinity : max,
        });
  return full || text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export async function trace(names: string[], o: TraceOptions): Promise<void> {
  await run(o, async () => {
    const limit = o.count === undefined ? Infinity : Number(o.count);
    if (!(limit > 0) || (!Number.isInteger(limit) && limit !== Infinity))
      throw new UsageError(`--count must be a positive integer, got "${o.count}"`);
    if (o.time !== undefined && !(Number(o.time) > 0))
      throw new UsageError(`--time must be a positive number of seconds, got "${o.time}"`);
    const session = await connectSession(o);
    const traced: { name: string; proxy: AnyProxy; off: () => Promise<void>; enabledByUs: boolean }[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let seen = 0;
    let gone: string | undefined;
    const pending = new Map<string, number>();
    const print = (service: string, names: (id: number) => string, e: EventTrace) => {
      if (seen >= limit) return;
      seen++;
      const at = Number(e.timestamp.tv_sec) * 1000 + Number(e.timestamp.tv_usec) / 1000;
      const kind = KINDS[e.kind] ?? KINDS[0];
      const key = `${service}#${e.id}`;
      let durationMs: number | undefined;
      if (kind === 'call') {
        if (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value!);
        pending.set(key, at);
      } else if (kind === 'reply' || kind === 'error') {
        const start = pending.get(key);
        pending.delete(key);
        if (start !== undefined) durationMs = Math.round((at - start) * 1000) / 1000;
      }
      const args = e.arguments instanceof Dynamic ? e.arguments.value : e.arguments;
      const member = names(e.slotId);
      if (o.json) {
        console.log(
          JSON.stringify({
            time: new Date(at).toISOString(),
            service,
            member,
            kind,
            id: e.id,
            slotId: e.slotId,
            args: toJson(args),
            durationMs,
            userUs: Number(e.userUsTime),
            systemUs: Number(e.systemUsTime),
          }),
        );
      } else {
        const full = o.full === true;
        const shown =
          kind === 'call' || kind === 'signal'
            ? `(${(Array.isArray(args) ? args : [args]).map((a) => short(a, 40, full)).join(', ')})`
            : short(args, 80, full);
        const took = durationMs === undefined ? '' : ` ${durationMs.toFixed(1)} ms`;
        console.log(
          `${new Date(at).toISOString().slice(11, 23)} ${`${service}.${member}`.padEnd(28)} ${kind.padEnd(6)} #${e.id}${took} ${shown}`,
        );
      }
      if (seen >= limit) finish();
    };
    const offRemoved = await session.serviceRemoved.connect((_id, name) => {
      if (traced.some((t) => t.name === name)) {
        gone = name;
        finish();
      }
    });
    process.once('SIGINT', finish);
    try {
      for (const name of await serviceTargets(session, names)) {
        const proxy = await serviceOf(session, name, o);
        const type = backendOf(proxy)!.type;
        const memberName = (id: number) => type.methods.get(id)?.name ?? type.signals.get(id)?.name ?? `#${id}`;
        if (proxy.traceObject === undefined) {
          console.error(`qi: ${name} has no traceObject signal; left out`);
          continue;
        }
        try {
          const was = (await proxy.isTraceEnabled()) as boolean;
          // Subscribing turns tracing on with libqi; enableTrace says it to servers that wait to be told.
          const off = await proxy.traceObject.connect((e) => print(name, memberName, e as EventTrace));
          traced.push({ name, proxy, off, enabledByUs: !was });
          if (!was) await proxy.enableTrace(true);
        } catch (e) {
          console.error(`qi: ${name} cannot be traced (${(e as Error).message}); left out`);
        }
      }
      if (traced.length === 0)
        throw new Error(
          "none of these services can be traced (they answer libqi's enableTrace and traceObject built-ins)",
        );
      if (process.stderr.isTTY && !o.json)
        process.stderr.write(`tracing ${traced.map((t) => t.name).join(', ')} (Ctrl-C to stop)\n`);
      const timer = o.time === undefined ? undefined : setTimeout(finish, Number(o.time) * 1000);
      await finished;
      clearTimeout(timer);
      if (gone !== undefined) throw new Error(`service ${gone} went away while it was traced`);
    } finally {
      process.off('SIGINT', finish);
      await Promise.allSettled([
        offRemoved(),
        ...traced.map(async (t) => {
          await t.off();
          if (t.enabledByUs) await t.proxy.enableTrace(false);
        }),
      ]);
      await session.close();
    }
  });
}
