/**
 * The child processes of a benchmark, from both ends. The parent spawns them ({@link spawnChild}: `node <script>
 * <args>`, ready when the child prints one line `READY <json>`), talks to them over stdin/stdout, and stops them
 * ({@link stopChild}); every one is killed when the benchmark ends, also on error or signal, and the unix socket
 * paths it asked for ({@link socketPath}) are removed. The child side: {@link exitWithParent} (a child exits,
 * cleanly, when its stdin closes, i.e. when the parent closes the pipe or dies).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Session } from '../src/index.js';

const children = new Set<ChildProcess>();
const paths = new Set<string>();
let hooked = false;

/** Kills every child still running (SIGKILL) and removes the socket paths. */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const p of paths) rmSync(p, { force: true });
}

/** Kills `child` (with every other) when this process exits or gets SIGINT, SIGTERM or SIGHUP. */
export function track<C extends ChildProcess>(child: C): C {
  if (!hooked) {
    hooked = true;
    process.on('exit', killAll);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(sig, () => {
        killAll();
        process.exit(130);
      });
    }
  }
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** A unix socket path in the temp directory, unique to this process, removed by {@link killAll}. */
export function socketPath(tag: string): string {
  const p = join(tmpdir(), `qi-bench-${tag}-${process.pid}.sock`);
  paths.add(p);
  return p;
}

/** A running child, once it said READY. */
export interface Child {
  child: ChildProcess;
  /** The JSON of its READY line. */
  ready: Record<string, unknown>;
  /** Sends a command line and resolves with the JSON of the first reply line starting with `prefix`. */
  ask(cmd: string, prefix: string): Promise<Record<string, unknown>>;
}

/** How {@link spawnChild} runs a child. */
export interface SpawnOptions {
  /** Node's own flags for the child (`--expose-gc`, `--cpu-prof`…). */
  execArgv?: string[];
  /** Drop the lines it prints besides READY and replies (else they are shown, prefixed with its name). */
  quiet?: boolean;
}

/** Runs `node <script> <args>` and resolves once it printed `READY <json>` (30 s at most). */
export function spawnChild(script: string, args: string[], opts: SpawnOptions = {}): Promise<Child> {
  const child = track(
    spawn(process.execPath, [...(opts.execArgv ?? []), script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const waiting: Array<{ prefix: string; resolve: (j: Record<string, unknown>) => void }> = [];
  const what = `${script.split('/').pop()} ${args[0]}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready after 30 s`)), 30_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited before ready (code ${code}, signal ${signal})`));
    });
    child.once('error', reject);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve({
          child,
          ready: JSON.parse(line.slice(6)) as Record<string, unknown>,
          ask: (cmd, prefix) =>
            new Promise((res, rej) => {
              if (child.exitCode !== null || child.signalCode !== null) return rej(new Error(`${what} has exited`));
              waiting.push({ prefix, resolve: res });
              child.stdin.write(`${cmd}\n`);
            }),
        });
        return;
      }
      const i = waiting.findIndex((w) => line.startsWith(`${w.prefix} `));
      if (i >= 0) {
        const [w] = waiting.splice(i, 1);
        return w.resolve(JSON.parse(line.slice(w.prefix.length + 1)) as Record<string, unknown>);
      }
      if (!opts.quiet) process.stdout.write(`[${what}] ${line}\n`);
    });
  });
}

/** Asks a child to exit (closing its stdin: it exits cleanly, so --cpu-prof writes), SIGKILL after `killAfterMs`. */
export async function stopChild(child: ChildProcess, killAfterMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}

/** Closes a session, but never waits more than `ms` for it (reported on stderr). */
export async function closeWithin(what: string, s: Session | undefined, ms: number): Promise<void> {
  if (s === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    s.close().then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(true), ms))),
  ]);
  clearTimeout(timer);
  if (timedOut) console.error(`warning: ${what}.close() did not finish within ${ms} ms`);
}

/**
 * The child side: when stdin closes (the parent closed the pipe or died), runs `cleanups` in order (their
 * errors ignored) and exits 0, after `ms` at most.
 */
export function exitWithParent(cleanups: Array<() => unknown>, ms: number): void {
  process.stdin.on('end', () => {
    const timer = setTimeout(() => process.exit(0), ms);
    void (async () => {
      for (const c of cleanups)
        await Promise.resolve()
          .then(c)
          .catch(() => {});
      clearTimeout(timer);
      process.exit(0);
    })();
  });
  process.stdin.resume();
}
