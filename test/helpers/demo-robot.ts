/**
 * The demo robot (examples/robot.js) in a child process, and the real `qi` binary run against it: what
 * the CLI tests share. The robot listens on a free loopback port; its gateway and web server are off
 * unless `env` turns them on.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled `qi` command (dist/src/cli/main.js). */
export const QI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ROBOT = fileURLToPath(new URL('../../examples/robot.js', import.meta.url));

/** A running demo robot. */
export interface DemoRobot {
  child: ChildProcess;
  /** Its ServiceDirectory URL, once it has started (rejects after 10 s). */
  url: Promise<string>;
  stop(): void;
}

/** Starts the demo robot with `env` on top of tcp://127.0.0.1:0 and no gateway or web server. */
export function startDemoRobot(env: Record<string, string> = {}): DemoRobot {
  const child = spawn(process.execPath, [ROBOT], {
    env: { ...process.env, QI_LISTEN: 'tcp://127.0.0.1:0', QI_GATEWAY: 'off', QI_WEB: 'off', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = firstMatch(child, /client\.js (\S+)/, 'the demo robot');
  url.catch(() => {});
  return { child, url, stop: () => void child.kill('SIGINT') };
}

/**
 * The first capture of `pattern` in what `child` prints on stdout; rejects after `timeoutMs` with
 * "`what` did not start" and what it printed so far.
 */
export function firstMatch(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${out}`)), timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve((clearTimeout(timer), m[1]));
    });
  });
}

/** What a `qi` run gave. */
export interface QiResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `qi …` to its end (killed after `timeoutMs`: a test never hangs), with `env` added to this process's. */
export function runQi(args: string[], timeoutMs = 15_000, env: Record<string, string> = {}): Promise<QiResult> {
  return new Promise((resolve) => {
    const options = { timeout: timeoutMs, env: { ...process.env, ...env } };
    execFile(process.execPath, [QI, ...args], options, (e, stdout, stderr) =>
      resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
