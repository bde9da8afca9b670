/**
 * The body of a pool thread: loads the implementation module, runs the functions it is asked to, and
 * aborts a call's AbortSignal when the caller cancels it.
 */
import { parentPort, workerData } from 'node:worker_threads';

type Request = { id: number; method: string; args: unknown[] } | { id: number; abort: true };

const impl = (await import((workerData as { module: string }).module)) as Record<string, unknown>;
const running = new Map<number, AbortController>();

/** Runs one request; it answers every outcome itself, so nothing can reject. */
async function handle(req: Request): Promise<void> {
  if ('abort' in req) {
    running.get(req.id)?.abort(new Error('canceled by the caller'));
    return;
  }
  const controller = new AbortController();
  running.set(req.id, controller);
  try {
    const fn = impl[req.method];
    if (typeof fn !== 'function') throw new Error(`the worker module exports no function "${req.method}"`);
    const value = await (fn as (...a: unknown[]) => unknown)(...req.args, {
      signal: controller.signal,
      caller: 'worker',
    });
    parentPort!.postMessage({ id: req.id, ok: true, value });
  } catch (e) {
    parentPort!.postMessage({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  } finally {
    running.delete(req.id);
  }
}

parentPort!.on('message', (req: Request) => void handle(req));
