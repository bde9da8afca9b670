/** Runs test fixtures in child processes and reads their first JSON line; kills them after the tests. */
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

/** A process started by a test (in a network namespace, say), with what it printed so far. */
export interface Running {
  child: ChildProcess;
  out: () => string;
  err: () => string;
}

/** Resolves with the first JSON line a process prints; rejects if it exits or takes too long. */
export function ready<T>(p: Running, name: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => (
      cleanup(),
      reject(new Error(`${name} ${why}; stdout: ${p.out()} stderr: ${p.err()}`))
    );
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const onData = () => {
      const line = jsonLines(p.out())[0];
      if (line === undefined) return;
      cleanup();
      resolve(line as T);
    };
    const onExit = (code: number | null) => fail(`exited (${code}) before being ready`);
    const cleanup = () => (clearTimeout(timer), p.child.stdout!.off('data', onData), p.child.off('exit', onExit));
    p.child.stdout!.on('data', onData);
    p.child.once('exit', onExit);
    onData();
  });
}

/** Resolves with the last JSON line of a process that runs to its end (rejects on `{"error": …}`). */
export function finished<T>(p: Running, name: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => (
        p.child.kill('SIGKILL'),
        reject(new Error(`${name} not finished after ${timeoutMs} ms; stdout: ${p.out()} stderr: ${p.err()}`))
      ),
      timeoutMs,
    );
    const done = () => {
      clearTimeout(timer);
      const last = jsonLines(p.out()).at(-1);
      if (last === undefined || 'error' in last)
        reject(new Error(`${name} failed (exit ${p.child.exitCode}): ${String(last?.error ?? p.out())} ${p.err()}`));
      else resolve(last as T);
    };
    if (p.child.exitCode !== null || p.child.signalCode !== null) done();
    else p.child.once('exit', done);
  });
}

export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
