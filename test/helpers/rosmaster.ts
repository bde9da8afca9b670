/**
 * A real ROS 1 master for tests: Debian's rosmaster on a free loopback port, with its own ROS_HOME
 * and log directory, ROS_IP/ROS_HOSTNAME 127.0.0.1 (so it binds loopback and nothing uses the LAN
 * address), stopped after the tests. {@link RosMaster.run} runs ROS command-line tools (rostopic,
 * rosservice, rosnode, python3 scripts with rospy) against it. `.ci/run` installs the packages.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { xmlRpcCall } from '../../src/bridges/rosgraph/xmlrpc-http.js';
import { freePort } from './net.js';

const running = new Set<RosMaster>();
after(async () => {
  for (const m of running) await m.stop();
});

/** `false` when ROS 1's tools are installed, else why ROS graph tests are skipped. */
export const rosSkip: string | false = ['rosmaster', 'rostopic', 'rosservice', 'rosnode'].every((c) =>
  existsSync(`/usr/bin/${c}`),
)
  ? existsSync('/usr/lib/python3/dist-packages/std_msgs')
    ? false
    : 'python3-std-msgs is not installed (.ci/run installs it)'
  : 'ROS 1 is not installed (apt-get install python3-rosmaster python3-rostopic python3-rosservice python3-rosnode python3-std-msgs; .ci/run does it)';

/** `false` when rospy can load sensor_msgs (python3-sensor-msgs), else why image tests are skipped. */
export const sensorMsgsSkip: string | false =
  rosSkip ||
  (existsSync('/usr/lib/python3/dist-packages/sensor_msgs')
    ? false
    : 'python3-sensor-msgs is not installed (.ci/run installs it)');

/** The output of a ROS tool. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running rosmaster. */
export class RosMaster {
  private constructor(
    private readonly child: ChildProcess,
    readonly uri: string,
    readonly dir: string,
  ) {}

  /** The environment of ROS tools that use this master. */
  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ROS_MASTER_URI: this.uri,
      ROS_IP: '127.0.0.1',
      ROS_HOSTNAME: '127.0.0.1',
      ROS_HOME: this.dir,
      ROS_LOG_DIR: join(this.dir, 'log'),
      PYTHONUNBUFFERED: '1',
    };
  }

  /** Starts rosmaster on a free loopback port and waits until it answers. */
  static async start(): Promise<RosMaster> {
    const dir = mkdtempSync(join(tmpdir(), 'qi-ros-'));
    const port = await freePort();
    const uri = `http://127.0.0.1:${port}/`;
    const env = {
      ...process.env,
      ROS_IP: '127.0.0.1',
      ROS_HOSTNAME: '127.0.0.1',
      ROS_HOME: dir,
      ROS_LOG_DIR: join(dir, 'log'),
      ROS_MASTER_URI: uri,
    };
    const child = spawn('rosmaster', ['--core', '-p', String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const m = new RosMaster(child, uri, dir);
    running.add(m);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const up = await xmlRpcCall(uri, 'getPid', ['/qi_test'], 1000).then(
        () => true,
        () => false,
      );
      if (up) return m;
      if (child.exitCode !== null || Date.now() > deadline) {
        await m.stop();
        throw new Error(`rosmaster did not answer on ${uri}: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Runs a ROS tool to its end (killed after `timeoutMs`), with `env` added to {@link env}. */
  run(command: string, args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return this.spawn(command, args, timeoutMs, env).done;
  }

  /** Starts a ROS tool; `done` resolves when it exits (killed after `timeoutMs`). */
  spawn(
    command: string,
    args: string[],
    timeoutMs = 30_000,
    env: NodeJS.ProcessEnv = {},
  ): { child: ChildProcess; done: Promise<RunResult> } {
    const child = spawn(command, args, { env: { ...this.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = new Promise<RunResult>((resolve) =>
      child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr }))),
    );
    return { child, done };
  }

  /** Stops rosmaster and removes its directory. */
  async stop(): Promise<void> {
    running.delete(this);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Writes `.msg`/`.srv` files (`pkg/msg/Name.msg` → text) under `dir`/src and generates their Python
 * package under `dir`/py with genpy's scripts, as a ROS user would; returns the PYTHONPATH to use.
 */
export function generatePython(files: Map<string, string>, dir: string): string {
  const byFolder = new Map<string, string[]>();
  for (const [path, text] of files) {
    const file = join(dir, 'src', path);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
    const folder = path.slice(0, path.lastIndexOf('/'));
    byFolder.set(folder, [...(byFolder.get(folder) ?? []), file]);
  }
  const includes = [...byFolder.keys()]
    .filter((f) => f.endsWith('/msg'))
    .map((f) => `-I${f.split('/')[0]}:${join(dir, 'src', f)}`);
  for (const [folder, list] of byFolder) {
    const [pkg, kind] = folder.split('/');
    const script = `/usr/lib/genpy/gen${kind}_py.py`;
    const out = join(dir, 'py', pkg, kind);
    execFileSync('/usr/bin/python3', [script, '-p', pkg, '-o', out, ...includes, ...list]);
    execFileSync('/usr/bin/python3', [script, '--initpy', '-p', pkg, '-o', out]);
    writeFileSync(join(dir, 'py', pkg, '__init__.py'), '');
  }
  return join(dir, 'py');
}
