/**
 * A process started by a test or a bench (in a network namespace, say) and the JSON lines it prints: its first
 * one ({@link ready}), its last one once it ends ({@link finished}). Loads no node:test, so that benches can use
 * it (and the NAT lab, which starts such processes) without a TAP report in their output.
 */
import type { ChildProcess } from 'node:child_process';

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
