/**
 * `qi watch SERVICE.SIGNAL... [--time SECONDS] [--reconnect]`: prints each emission (one JSON line
 * each with `--json`) until the time is up or Ctrl-C. A lost connection (to the ServiceDirectory or to
 * a watched service) or a watched service that goes away ends the watch with exit code 1 and a line
 * saying what was lost; with `--reconnect`, the watch says so, waits until the robot and the services
 * are back, and goes on.
 */
import { inspect } from 'node:util';
import { Session, backendOf, type Signature } from '../index.js';
import type { Channel } from '../channel/index.js';
import { connectSession, run, serviceOf, splitTarget, toJson, type GlobalOptions } from './common.js';
import { checkMember } from './names.js';
import { shown } from './values.js';

/** Options of `qi watch`. */
export interface WatchOptions extends GlobalOptions {
  /** Stop after this many seconds (default: until Ctrl-C). */
  time?: string;
  /** After a loss, wait for the robot and the services to be back and go on (default: exit 1). */
  reconnect?: boolean;
}

type Target = [service: string, member: string];

export async function watch(specs: string[], o: WatchOptions): Promise<void> {
  await run(o, async () => {
    const targets = specs.map((s) => splitTarget(s, 'SERVICE.SIGNAL', 'qi watch ALMemory.dataChanged'));
    let finish!: () => void;
    const stopped = new Promise<undefined>((resolve) => (finish = () => resolve(undefined)));
    const timer = o.time === undefined ? undefined : setTimeout(finish, Number(o.time) * 1000);
    process.once('SIGINT', finish);
    try {
      let session: Session | undefined = await connectSession(o, false);
      for (let again = false; session !== undefined; again = true) {
        const lost = await watchOnce(session, targets, o, again, stopped);
        if (lost === undefined) return;
        const why = lost.startsWith('lost the connection')
          ? ' The robot (or its ServiceDirectory) stopped, or the network dropped;'
          : '';
        if (!o.reconnect) throw new Error(`${lost}.${why} --reconnect waits for it instead`);
        status(o, 'reconnecting', `${lost}; waiting for it to come back (--reconnect)…`);
        session = await reach(o, stopped);
      }
    } finally {
      clearTimeout(timer);
      process.off('SIGINT', finish);
    }
  });
}

/** A line on stderr about the watch itself (JSON with `--json`), apart from the emissions on stdout. */
function status(o: GlobalOptions, state: string, text: string): void {
  console.error(o.json ? JSON.stringify({ status: state, message: text }) : `qi: ${text}`);
}

/** Connects again, once a second, until it works or the watch is stopped. */
async function reach(o: GlobalOptions, stopped: Promise<undefined>): Promise<Session | undefined> {
  let done = false;
  void stopped.then(() => (done = true));
  while (!done) {
    try {
      return await connectSession(o, false);
    } catch {
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 1000))]);
    }
  }
  return undefined;
}

/**
 * Subscribes to every target and prints emissions until the watch is stopped (resolves `undefined`)
 * or something is lost (resolves with what). After a loss (`again`), services are waited for.
 */
async function watchOnce(
  session: Session,
  targets: Target[],
  o: WatchOptions,
  again: boolean,
  stopped: Promise<undefined>,
): Promise<string | undefined> {
  const stops: (() => Promise<void>)[] = [];
  let report!: (what: string) => void;
  const lost = new Promise<string>((resolve) => (report = resolve));
  const sd = session.directoryConnection;
  const losses: { ch: Channel; what: string }[] = [];
  const watchClose = (ch: Channel | undefined, what: string) =>
    ch?.onClose((e) => {
      losses.push({ ch, what: `lost the connection to ${what}${e ? ` (${e.message.replace(/\.$/, '')})` : ''}` });
      // When the robot dies, all its connections close: name the ServiceDirectory's if it is among them.
      if (losses.length === 1) setTimeout(() => report((losses.find((l) => l.ch === sd) ?? losses[0]).what), 250);
    });
  watchClose(sd, `the ServiceDirectory at ${o.url}`);
  const setup = async () => {
    const watched = new Set(targets.map(([service]) => service));
    stops.push(
      await session.serviceRemoved.connect((_id, name) => {
        if (watched.has(name)) report(`service ${name} went away while it was watched`);
      }),
    );
    for (const [service, name] of targets) {
      const proxy = again ? await session.waitForService(service, 24 * 3600_000) : await serviceOf(session, service, o);
      const ch = Session.channelOf(proxy);
      if (ch !== sd && !losses.some((l) => l.ch === ch)) watchClose(ch, `${service} at ${ch?.remote}`);
      const type = backendOf(proxy)!.type;
      checkMember(type, service, name, 'watch');
      const property = type.propertiesByName.get(name);
      const sig: Signature | undefined =
        property !== undefined
          ? { kind: 'tuple', members: [property.type.type] }
          : type.signalsByName.get(name)?.params.type;
      type Listen = (l: (...a: unknown[]) => void) => Promise<() => Promise<void>>;
      const member = proxy[name] as unknown as { connect?: Listen; watch?: Listen } | undefined;
      // A signal, or a property (whose changes are its signal).
      const listen = (member?.connect ?? member?.watch)!;
      stops.push(
        await listen((...args) => {
          if (o.json) console.log(JSON.stringify({ service, signal: name, args: toJson(args, sig) }));
          else
            console.log(
              `${service}.${name} ${args.map((a, i) => inspect(shown(a, sig?.kind === 'tuple' ? sig.members[i] : undefined, true), { depth: 4, breakLength: Infinity })).join(' ')}`,
            );
        }),
      );
    }
    const specs = targets.map((t) => t.join('.')).join(', ');
    // With --json a script learns when the watch is live (nothing emitted before this line is missed).
    if (again) status(o, 'watching', `watching ${specs} again`);
    else if (o.json) status(o, 'watching', `watching ${specs}`);
    else if (process.stderr.isTTY) process.stderr.write(`watching ${specs} (Ctrl-C to stop)\n`);
  };
  try {
    const ready = setup();
    ready.catch(() => {}); // a loss or a stop while setting up wins; the setup then fails on the closed session
    return await Promise.race([ready.then(() => Promise.race([lost, stopped])), lost, stopped]);
  } finally {
    await Promise.allSettled(stops.map((s) => s()));
    await session.close();
  }
}
