/**
 * What the client-death tests share (issue 22): the death-robot fixture (SD, a `Bulk` service with a large
 * answer, gateway, classic endpoint, ROS bridge, in one process), clients in their own processes, and the
 * two ways a client dies in the middle of a large answer: killed (SIGKILL), or frozen (SIGSTOP: it stops
 * reading, the gateway's buffers fill) then killed. After each death, the gateway must still be running
 * and answer the next client.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { jsonLines, ready, type Running } from './running.js';
import { startFixture, type Child } from './processes.js';
import { until } from './until.js';

const clients = new Set<ChildProcess>();
after(() => clients.forEach((c) => c.kill('SIGKILL')));

/** Starts the death-client fixture with `args`; its output is kept. */
function client(args: string[]): Running {
  const script = fileURLToPath(new URL('../gateway/fixtures/death-client.js', import.meta.url));
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  clients.add(child);
  child.on('exit', () => clients.delete(child));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return { child, out: () => out, err: () => err };
}

function exited(c: ChildProcess): Promise<void> {
  return new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));
}

/** What the death-robot prints when ready. */
export interface DeathRobot {
  sd: string;
  tcp: string;
  ws: string;
  classic: string;
  ros: string;
}

/**
 * Bytes of the answer a client dies in the middle of: large enough to outlast loopback socket buffers (the
 * default), a few MiB through an XMPP server.
 */
export const BIG = 16 * 1024 * 1024;

/** Bytes of it read by the client when it is killed (or frozen). */
const MIDWAY = 1024 * 1024;

/**
 * Bytes a client has read so far: what it says it received (`{"received": n}` lines: UDP reads do not
 * show in /proc/PID/io) when it says so, else what its process read (sockets, pipes, files).
 */
function bytesRead(c: Running): number {
  if (c.child.exitCode !== null) return 0;
  const out = c.out();
  const at = out.lastIndexOf('{"received":');
  if (at >= 0) return Number(/^\{"received":(\d+)\}/.exec(out.slice(at))?.[1] ?? 0);
  return Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/${c.child.pid}/io`, 'utf8'))?.[1] ?? 0);
}

/** The robot process, with a count of `Bulk.text` calls it has started to answer. */
export interface RobotProcess extends Child<DeathRobot> {
  called(): number;
}

/** Starts the death-robot; `args`: `['--ice']` adds a DirectLinkHost. */
export async function startDeathRobot(args: string[] = []): Promise<RobotProcess> {
  const robot = await startFixture<DeathRobot>('gateway/fixtures/death-robot', args, 20_000);
  let calls = 0;
  let out = '';
  robot.process.stdout!.on('data', (d) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      if (out.slice(0, nl).startsWith('{"called"')) calls++;
      out = out.slice(nl + 1);
    }
  });
  return Object.assign(robot, { called: () => calls });
}

/** Arguments of the death-client fixture, without the answer's size: `['qi', url]`, `['ros', url]`… */
export type ClientArgs = [mode: 'qi' | 'classic' | 'ros' | 'ice', url: string, ...rest: string[]];

/**
 * Starts a client asking for `size` bytes, waits until it has read the first MiB of the answer, then kills
 * it (`kill`), or freezes it for a second and kills it (`freeze`); then gives the gateways a moment to
 * notice. Once again with twice the size if the whole answer had arrived (`retry`).
 */
export async function dieMidAnswer(
  robot: RobotProcess,
  args: ClientArgs,
  how: 'kill' | 'freeze',
  size = BIG,
  retry = true,
): Promise<void> {
  const before = robot.called();
  const [mode, url, ...rest] = args;
  const c = client([mode, url, String(size), ...rest]);
  await ready(c, 'the dying client', 20_000);
  await until(() => robot.called() > before, 'the large call to reach the service', 20_000);
  // Mid-answer: the client has read part of it (bytes read by the process, from /proc/PID/io).
  const start = bytesRead(c);
  try {
    await until(() => bytesRead(c) - start > MIDWAY, 'the answer to start arriving', 30_000, 2);
  } catch (e) {
    throw new Error(`${(e as Error).message}; the client printed ${c.out()} ${c.err()}`, { cause: e });
  }
  if (how === 'freeze') {
    c.child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 1000));
  }
  const whole = jsonLines(c.out()).some((l) => 'done' in l);
  c.child.kill('SIGKILL');
  await exited(c.child);
  // A fast link (a direct link on a quiet machine) can hand over the rest of the answer between the look
  // at the bytes read and the signal: then nothing died mid-answer; again, once, with twice the answer.
  if (whole && retry) return dieMidAnswer(robot, args, how, size * 2, false);
  assert.ok(!whole, 'the client died before the whole answer arrived');
  await new Promise((r) => setTimeout(r, 1000));
}

/** Asserts that the gateway processes still run and that a new client's call is answered. */
export async function servesNextClient(args: ClientArgs, ...gateways: ChildProcess[]): Promise<void> {
  for (const g of gateways) assert.equal(g.exitCode ?? g.signalCode, null, 'the gateway process is still running');
  const [mode, url, ...rest] = args;
  const next = client([mode, url, '3', ...rest]);
  try {
    await until(() => jsonLines(next.out()).some((l) => l.done === 3), "the next client's answer", 20_000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; it printed ${next.out()} ${next.err()}`, { cause: e });
  } finally {
    next.child.kill('SIGKILL');
  }
  for (const g of gateways) assert.equal(g.exitCode ?? g.signalCode, null, 'the gateway process is still running');
}

/**
 * Asks `origin` (`http://host:port`) `times` times for a WebSocket upgrade at `path` (with a page's
 * `Origin` header if given), and resets each connection (RST) right after: the server's refusal then
 * meets a reset socket.
 */
export async function resetDuringUpgrades(origin: string, path: string, page?: string, times = 100): Promise<void> {
  const u = new URL(origin);
  const request =
    `GET ${path} HTTP/1.1\r\nhost: ${u.host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n` +
    `sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n` +
    (page ? `origin: ${page}\r\n` : '') +
    '\r\n';
  await Promise.all(
    Array.from(
      { length: times },
      () =>
        new Promise<void>((resolve) => {
          const s = net.connect(Number(u.port), u.hostname, () => {
            s.write(request);
            setImmediate(() => s.resetAndDestroy());
          });
          s.on('error', () => {});
          s.on('close', () => resolve());
        }),
    ),
  );
}

/**
 * The client-death tests of some transports, in one file: a death-robot for the file, and for each
 * transport a client killed mid-answer, then one frozen and killed, each followed by the next client.
 */
export function describeClientDeaths(
  transports: [name: string, args: (robot: DeathRobot) => ClientArgs][],
  robotArgs: string[] = [],
): void {
  let robot: RobotProcess;
  before(async () => {
    robot = await startDeathRobot(robotArgs);
  });
  after(() => robot?.kill());
  describe('a client dying mid-answer ends its session only', () => {
    for (const [name, args] of transports)
      for (const how of ['kill', 'freeze'] as const)
        it(`${name}: a client ${how === 'kill' ? 'killed' : 'frozen, then killed'} mid-answer; the next client is answered`, async () => {
          await dieMidAnswer(robot, args(robot.ready), how);
          await servesNextClient(args(robot.ready), robot.process);
        });
  });
}
