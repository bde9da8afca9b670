/**
 * Runs test fixtures in child processes and reads their first JSON line; kills them after the tests. The readers
 * of other processes' JSON lines are in running.ts (no node:test there, for the benches) and re-exported here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

export interface Child<T> {
  process: ChildProcess;
  ready: T;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `dist/test/<relative>.js` with `args`; resolves with its first stdout line parsed as JSON. */
export function startFixture<T>(relative: string, args: string[] = [], timeoutMs = 10_000): Promise<Child<T>> {
  const script = fileURLToPath(new URL(`../${relative}.js`, import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => (child.kill('SIGKILL'), reject(new Error(`${relative} not ready after ${timeoutMs} ms: ${stderr}`))),
      timeoutMs,
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve({
          process: child,
          ready: JSON.parse(out.slice(0, nl)) as T,
          kill: (signal = 'SIGKILL') =>
            new Promise<void>((r) => {
              if (child.exitCode !== null || child.signalCode !== null) return r();
              child.once('exit', () => r());
              child.kill(signal);
            }),
        });
      } catch (e) {
        reject(new Error(`${relative} printed ${out.slice(0, nl)}: ${(e as Error).message}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${relative} exited with ${code} before being ready: ${stderr}`));
    });
  });
}

export { finished, jsonLines, ready, type Running } from './running.js';
