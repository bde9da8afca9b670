/**
 * The coordinator's handle on one child process of the soak: forks it (the soak's entry, scripts/soak.js, with
 * `--role …`), keeps the last lines it printed, and asks it for samples, heap snapshots and to stop, each with a
 * bound.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { READY_TIMEOUT_MS, REPLY_TIMEOUT_MS, STOP_TIMEOUT_MS, type FromChild, type ToChild } from './spec.js';
import { describe, withTimeout } from './tools.js';

/** The soak's entry point, which every child runs too. */
const ENTRY = new URL('../soak.js', import.meta.url);

/** A child process of the soak, seen from the coordinator. */
export class Child {
  readonly process: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (m: FromChild) => void>();
  private readonly output: string[] = [];
  readonly warnings: string[] = [];
  fatal: string | undefined;
  stopped: Extract<FromChild, { type: 'stopped' }> | undefined;
  private readyWaiter: ((m: Extract<FromChild, { type: 'ready' }>) => void) | undefined;
  private stopWaiter: (() => void) | undefined;
  private exitWaiters: (() => void)[] = [];
  exited = false;
  /** Expected to exit (told to stop, or killed by us). */
  leaving = false;

  constructor(
    readonly name: string,
    args: string[],
    private readonly onTrouble: (child: Child, what: string) => void,
    verbose: boolean,
  ) {
    // Run as a test's subprocess, node:test (imported by the fixtures) would report to the test runner.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    this.process = fork(ENTRY, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execArgv: [],
    });
    const keep = (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (line === '') continue;
        this.output.push(line);
        if (this.output.length > 40) this.output.shift();
        if (verbose) console.error(`[${this.name}] ${line}`);
      }
    };
    this.process.stdout!.on('data', keep);
    this.process.stderr!.on('data', keep);
    this.process.on('message', (m: FromChild) => {
      if (m.type === 'ready') this.readyWaiter?.(m);
      else if (m.type === 'sample' || m.type === 'snapshot') {
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
      } else if (m.type === 'stopped') {
        this.stopped = m;
        this.stopWaiter?.();
      } else if (m.type === 'fatal') {
        this.fatal ??= m.error;
        this.onTrouble(this, m.error);
      } else if (m.type === 'warning') {
        this.warnings.push(m.warning);
        this.onTrouble(this, `warning: ${m.warning}`);
      }
    });
    this.process.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.exitWaiters) w();
      if (!this.leaving) this.onTrouble(this, `exited unexpectedly (code ${code}, signal ${signal})`);
    });
    this.process.on('error', (e) => this.onTrouble(this, `process error: ${describe(e)}`));
  }

  /** The last lines the child printed. */
  get tail(): string {
    return this.output.map((l) => `    ${l}`).join('\n');
  }

  ready(): Promise<Record<string, unknown>> {
    return withTimeout(
      new Promise<Record<string, unknown>>((resolve, reject) => {
        this.readyWaiter = (m) => resolve(m.info);
        this.process.once('exit', (code) =>
          reject(new Error(`${this.name} exited (code ${code}) before being ready:\n${this.tail}`)),
        );
      }),
      READY_TIMEOUT_MS,
      `${this.name} getting ready`,
    );
  }

  private request<T extends FromChild>(m: { type: 'sample' } | { type: 'snapshot'; file: string }): Promise<T> {
    const id = this.nextId++;
    return withTimeout(
      new Promise<T>((resolve, reject) => {
        if (!this.process.connected) return reject(new Error(`${this.name} is gone`));
        this.waiting.set(id, resolve as (m: FromChild) => void);
        this.process.send({ ...m, id } satisfies ToChild);
      }),
      REPLY_TIMEOUT_MS,
      `${this.name} answering a ${m.type} request`,
    ).finally(() => this.waiting.delete(id));
  }

  sample() {
    return this.request<Extract<FromChild, { type: 'sample' }>>({ type: 'sample' });
  }

  snapshot(file: string) {
    return this.request<Extract<FromChild, { type: 'snapshot' }>>({ type: 'snapshot', file });
  }

  /** Asks the child to finish and exit; kills it if it has not within `ms`. */
  async stop(ms = STOP_TIMEOUT_MS): Promise<void> {
    this.leaving = true;
    if (this.exited) return;
    const exited = new Promise<void>((r) => this.exitWaiters.push(r));
    const stopped = new Promise<void>((r) => (this.stopWaiter = r));
    if (this.process.connected) this.process.send({ type: 'stop' } satisfies ToChild);
    try {
      await withTimeout(
        Promise.all([stopped, exited]).then(() => {}),
        ms,
        `${this.name} stopping`,
      );
    } catch (e) {
      this.kill();
      await withTimeout(exited, 5000, `${this.name} dying`).catch(() => {});
      throw e;
    }
  }

  kill(): void {
    this.leaving = true;
    if (!this.exited) this.process.kill('SIGKILL');
  }
}
