/**
 * The soak's command line (node's util.parseArgs): the user's options for the coordinator ({@link parseOptions}),
 * and the arguments the coordinator gives the processes it starts ({@link parseRoleArgs}, {@link roleArgv}).
 */
import { parseArgs } from 'node:util';
import { MAX_SECONDS, TASKS } from './spec.js';

/** What the user asked for. */
export interface Options {
  seconds: number;
  sampleSeconds: number;
  loads: number;
  warmup: number;
  signalHz: number;
  seed: number;
  ipc: boolean;
  skip: string;
  snapshots?: string;
  verbose: boolean;
}

/** Prints the usage (and the problem, if any) and exits: 2 after a problem, else 0. */
export function usage(problem?: string): never {
  if (problem) console.error(problem);
  console.error(
    'usage: node dist/scripts/soak.js [--minutes N (default 10) | --seconds N] [--sample-seconds S] [--loads N (default 2)]\n' +
      '                                 [--warmup F (default 0.2)] [--signal-hz H (default 100)] [--seed S] [--no-ipc] [--snapshots DIR] [--verbose]\n' +
      `                                 [--skip TASK,… (${TASKS.join(', ')})]`,
  );
  process.exit(problem ? 2 : 0);
}

const OPTIONS = {
  minutes: { type: 'string' },
  seconds: { type: 'string' },
  'sample-seconds': { type: 'string' },
  loads: { type: 'string' },
  warmup: { type: 'string' },
  'signal-hz': { type: 'string' },
  seed: { type: 'string' },
  'no-ipc': { type: 'boolean' },
  skip: { type: 'string' },
  snapshots: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseUser(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: false }).values;
  } catch (e) {
    return usage((e as Error).message);
  }
}

/** The coordinator's options from `argv` (without node and the script); exits with the usage when they are wrong. */
export function parseOptions(argv: string[]): Options {
  const values = parseUser(argv);
  if (values.help) usage();
  const num = (name: keyof typeof OPTIONS, min: number, max: number): number | undefined => {
    const v = values[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (typeof v !== 'string' || !Number.isFinite(n) || n < min || n > max)
      usage(`--${name} needs a number between ${min} and ${max}, not ${String(v)}`);
    return n;
  };
  const minutes = num('minutes', 0.01, MAX_SECONDS / 60);
  const seconds = num('seconds', 1, MAX_SECONDS) ?? (minutes !== undefined ? minutes * 60 : 600);
  const skip = values.skip ?? '';
  for (const k of skip === '' ? [] : skip.split(','))
    if (!TASKS.includes(k)) usage(`--skip: no task ${k} (tasks: ${TASKS.join(', ')})`);
  return {
    seconds,
    // Short runs sample more often, so that the warm-up and the end each have several samples.
    sampleSeconds: num('sample-seconds', 0.2, 3600) ?? Math.min(5, Math.max(0.5, seconds / 10)),
    loads: Math.round(num('loads', 1, 16) ?? 2),
    warmup: num('warmup', 0, 0.9) ?? 0.2,
    signalHz: num('signal-hz', 1, 1000) ?? 100,
    seed: (num('seed', 0, 2 ** 32) ?? Date.now() ^ (process.pid << 8)) >>> 0,
    ipc: !values['no-ipc'],
    skip,
    snapshots: values.snapshots,
    verbose: values.verbose ?? false,
  };
}

/** What the coordinator tells a process it starts. */
export interface RoleArgs {
  role: 'server' | 'gateway' | 'load';
  /** server: `fired` signals per second. */
  signalHz: number;
  /** server: also listen on a unix socket. */
  ipc: boolean;
  /** gateway and load: the SD's URL. */
  sd: string;
  /** load: the gateway's URL. */
  gw: string;
  /** load: its number (0 sets the property). */
  index: number;
  /** load: the run's seed. */
  seed: number;
  /** load: traffic kinds left out, comma-separated. */
  skip: string;
}

/** The command line of a process the coordinator starts: `--role <role>` first, then the arguments it needs. */
export function roleArgv(args: Partial<RoleArgs> & Pick<RoleArgs, 'role'>): string[] {
  const out = ['--role', args.role];
  if (args.signalHz !== undefined) out.push('--signal-hz', String(args.signalHz));
  if (args.ipc === false) out.push('--no-ipc');
  if (args.sd !== undefined) out.push('--sd', args.sd);
  if (args.gw !== undefined) out.push('--gw', args.gw);
  if (args.index !== undefined) out.push('--index', String(args.index));
  if (args.seed !== undefined) out.push('--seed', String(args.seed));
  if (args.skip) out.push('--skip', args.skip);
  return out;
}

/** The arguments {@link roleArgv} wrote. */
export function parseRoleArgs(argv: string[]): RoleArgs {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      role: { type: 'string' },
      'signal-hz': { type: 'string' },
      'no-ipc': { type: 'boolean' },
      sd: { type: 'string' },
      gw: { type: 'string' },
      index: { type: 'string' },
      seed: { type: 'string' },
      skip: { type: 'string' },
    },
  });
  return {
    role: v.role as RoleArgs['role'],
    signalHz: Number(v['signal-hz'] ?? 100),
    ipc: !v['no-ipc'],
    sd: v.sd ?? '',
    gw: v.gw ?? '',
    index: Number(v.index ?? 0),
    seed: Number(v.seed ?? 0),
    skip: v.skip ?? '',
  };
}
