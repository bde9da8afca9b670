/**
 * Network namespaces for tests and benches, and the processes run in them: every name carries the
 * test's pid; {@link Netns.close} stops the processes and deletes the namespaces, and an exit hook does
 * it too should the test die. The host's own interfaces are never touched. No node:test import here:
 * benches use it too.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Running } from './running.js';

/** Runs a command and returns its output (throws with its stderr when it fails). */
export const sh = (cmd: string, args: string[], input?: string): string =>
  execFileSync(cmd, args, { stdio: 'pipe', timeout: 5000, input }).toString();

/** Namespaces by role, and the processes running in them; see the module comment. */
export class Netns<Role extends string> {
  /** The namespace of each role. */
  readonly ns: Record<Role, string>;
  /** A temporary folder, deleted on close. */
  readonly dir = mkdtempSync(join(tmpdir(), 'qi-netns-'));
  private readonly created: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly onExit = () => this.killNow();

  private constructor(roles: readonly Role[], prefix: string) {
    this.ns = Object.fromEntries(roles.map((r) => [r, `${prefix}-${r.toLowerCase()}-${process.pid}`])) as Record<
      Role,
      string
    >;
    process.on('exit', this.onExit);
  }

  /**
   * Creates one namespace per role (named `<prefix>-<role>-<pid>`); returns why it cannot where the
   * kernel refuses network namespaces (not root, a container without them).
   */
  static create<Role extends string>(roles: readonly Role[], prefix = 'qi'): Netns<Role> | string {
    const n = new Netns(roles, prefix);
    for (const ns of Object.values<string>(n.ns)) {
      try {
        sh('ip', ['netns', 'add', ns]);
        n.created.push(ns);
      } catch (e) {
        n.killNow();
        const why = String((e as { stderr?: Buffer }).stderr ?? '').trim() || (e as Error).message.split('\n')[0];
        return `network namespaces are not available here (ip netns add ${ns}: ${why})`;
      }
    }
    return n;
  }

  /**
   * Writes `/etc/netns/<namespace>/<name>`: processes started in that namespace afterwards see it as
   * `/etc/<name>` (`ip netns exec` mounts it there), e.g. a `hosts` file that names the robot. Rewriting
   * it later changes what they see (the same file is mounted).
   */
  etc(role: Role, name: string, content: string): void {
    const dir = join('/etc/netns', this.ns[role]);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), content);
  }

  /** `ip -n <namespace of role> args…` */
  ip(role: Role, ...args: string[]): string {
    return sh('ip', ['-n', this.ns[role], ...args]);
  }

  /** Runs a command inside the namespace of `role` and returns its output. */
  exec(role: Role, cmd: string, args: string[], input?: string): string {
    return sh('ip', ['netns', 'exec', this.ns[role], cmd, ...args], input);
  }

  /**
   * Starts `node script args…` in the namespace of `role` (the same process: `ip netns exec` execs it).
   * Its stdin is closed unless `stdin` is `'pipe'` (then `child.stdin` writes to it).
   */
  run(
    role: Role,
    script: string,
    args: string[] = [],
    env: Record<string, string> = {},
    stdin: 'ignore' | 'pipe' = 'ignore',
  ): Running {
    return this.spawn(role, process.execPath, [script, ...args], env, stdin);
  }

  /** Starts any command in the namespace of `role`. */
  spawn(
    role: Role,
    cmd: string,
    args: string[],
    env: Record<string, string> = {},
    stdin: 'ignore' | 'pipe' = 'ignore',
  ): Running {
    const child = spawn('ip', ['netns', 'exec', this.ns[role], cmd, ...args], {
      stdio: [stdin, 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    return { child, out: () => out, err: () => err };
  }

  /** Kills every process at once and deletes everything (synchronous: also used from the exit hook). */
  killNow(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of this.created.splice(0)) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
      rmSync(join('/etc/netns', ns), { recursive: true, force: true });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops every process (SIGTERM, then SIGKILL), deletes the namespaces and the temporary files. */
  async close(): Promise<void> {
    await Promise.all([...this.children].map((c) => stop(c)));
    this.killNow();
    process.off('exit', this.onExit);
  }
}

/** SIGTERM, and SIGKILL if the process is still there 1.5 s later. */
export function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => c.kill('SIGKILL'), 1500);
    c.once('exit', () => (clearTimeout(timer), resolve()));
    c.kill('SIGTERM');
  });
}
