/**
 * The WebRTC stacks side by side on the namespace NAT lab (test/helpers/natlab.ts), with the same bench:
 *
 *   sudo npm run bench:ice-stacks [-- --rounds=3 --modes=cone,symmetric --stacks=tcp,werift,node-datachannel,wrtc
 *                                    --ping-ms=2000 --gather-ms=3000]
 *
 * For each NAT mode the lab is built once, with coturn on the public host; `cone` NATs give a direct path,
 * `symmetric` ones force the TURN relay. Every stack gets both servers (STUN and TURN, as links are configured)
 * and the `path` column says which candidate pair it selected. For each stack, one child process in namespace a
 * (the offerer) and one in b (the answerer) exchange a non-trickle offer and answer through this process
 * (stdin/stdout lines; no signaling server), then on one reliable ordered DataChannel (ice-stacks-peer.ts):
 * sequential 64-byte ping-pong (round trips/s, RTT p50/p99), then a 4 MiB and a 16 MiB transfer that the
 * answerer echoes back message by message (MB/s each way = size / time until the last byte is back), in
 * 64 KiB messages, sending while less than 1 MiB is buffered and resuming at 256 KiB, for every stack.
 *
 * Baseline, in the same run and lab: `tcp`, a TCP connection from a (through NAT A) to an echo in the
 * public host's namespace, with the same messages and rule (TCP resumes when the socket drains). Each stack's
 * MB/s is also given over it, per round. Setup = from the offerer creating its peer connection (both processes
 * started, the stack loaded) to its channel open (gathering on both sides and the exchange included); CPU = each child's CPU time (every thread) during
 * the two transfers per MB of payload. Every candidate of every SDP must be a lab address (10.x, 203.0.113.x):
 * a pair offering another address is dropped, loudly. Every wait is bounded: a stack that hangs is reported
 * as such, its processes killed, and the bench goes on. Needs root (network namespaces) and coturn's
 * `turnserver`; without them it says so and exits 0.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseCandidate } from '../src/remote/ice/sdp.js';
import { ADDR, NatLab, type NatMode, type Running } from '../test/helpers/natlab.js';
import { flag, fmt, machine, median, num, printTable } from './harness.js';

const ROUNDS = num('rounds', 3);
const MODES = (flag('modes') ?? 'cone,symmetric').split(',') as NatMode[];
const STACKS = (flag('stacks') ?? 'tcp,werift,node-datachannel,wrtc').split(',');
const PING_MS = num('ping-ms', 2000);
const GATHER_MS = num('gather-ms', 3000);
const SIZES = [4, 16].map((m) => m * 1024 * 1024);
const PEER = fileURLToPath(new URL('./ice-stacks-peer.js', import.meta.url));

/** What one pair measured in one round. */
interface Pair {
  stack: string;
  setupMs: number;
  path: string;
  perSec: number;
  p50: number;
  p99: number;
  /** MB/s each way, by transfer size. */
  mbps: number[];
  /** CPU ms per MB of payload over both transfers: offerer, answerer. */
  cpu: [number, number];
  /** Candidates of both SDPs: lab addresses, and the namespaces' own loopback. */
  candidates: { lab: number; loopback: number };
  /** The sides whose gathering was ended by the bound (`--gather-ms`). */
  cut: string[];
}

type Outcome = Pair | { stack: string; failed: string };

type Json = Record<string, string | number>;

/** A child's `WORD <json>` lines, awaited one by one, each within a bound. */
class Lines {
  private readonly got: Array<[string, Json]> = [];
  private wake: () => void = () => {};
  private ended: string | undefined;

  constructor(
    private readonly p: Running,
    private readonly name: string,
  ) {
    const rl = createInterface({ input: p.child.stdout! });
    rl.on('line', (line) => {
      const sp = line.indexOf(' ');
      if (sp < 0) return;
      const word = line.slice(0, sp);
      let json: Json;
      try {
        json = JSON.parse(line.slice(sp + 1)) as Json;
      } catch {
        return; // a stack's own log line
      }
      if (word === 'ERROR') this.ended = `${name}: ${json.message}`;
      else this.got.push([word, json]);
      this.wake();
    });
    p.child.once('exit', (code, signal) => {
      this.ended ??= `${name} exited (${code ?? signal}): ${p.err().trim().split('\n').slice(-3).join(' | ')}`;
      this.wake();
    });
  }

  send(word: string, json: object = {}): void {
    this.p.child.stdin?.write(`${word} ${JSON.stringify(json)}\n`);
  }

  /** The next `word` line; rejects on ERROR, exit, or after `ms` ("hung"). */
  async next(word: string, ms: number): Promise<Json> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.got.findIndex(([w]) => w === word);
      if (i >= 0) return this.got.splice(i, 1)[0][1];
      if (this.ended !== undefined) throw new Error(this.ended);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.name} hung: no ${word} within ${fmt(ms / 1000)} s`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => (clearTimeout(t), resolve());
      });
    }
  }

  async cpu(): Promise<number> {
    this.send('CPU');
    return Number((await this.next('CPU', 5000)).us);
  }
}

/** The candidate addresses of an SDP (or of the TCP baseline's `address:port`). */
function candidateAddresses(sdp: string): string[] {
  const lines = sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:'));
  if (lines.length === 0 && /^[\d.]+:\d+$/.test(sdp)) return [sdp.slice(0, sdp.lastIndexOf(':'))];
  return lines.map((l) => parseCandidate(l)?.address ?? l);
}

const LAB = /^(10\.\d+\.\d+\.\d+|203\.0\.113\.\d+)$/;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;

/**
 * Counts the candidates of an SDP and throws unless each is a lab address or the namespace's own loopback
 * (libwebrtc offers 127.0.0.1 and ::1): never the machine's LAN address, nor any other.
 */
function labOnly(side: string, sdp: string, into: { lab: number; loopback: number }): void {
  const addrs = candidateAddresses(sdp);
  const bad = addrs.filter((a) => !LAB.test(a) && !LOOPBACK.test(a));
  if (bad.length > 0) throw new Error(`NON-LAB CANDIDATE in the ${side}: ${bad.join(', ')}`);
  into.lab += addrs.filter((a) => LAB.test(a)).length;
  into.loopback += addrs.filter((a) => LOOPBACK.test(a)).length;
}

/** Runs one stack's pair in the lab; never throws (a failure or a hang is the outcome). */
async function runPair(lab: NatLab, stack: string, servers: string[]): Promise<Outcome> {
  const env = { QI_BENCH_PING_MS: String(PING_MS), QI_BENCH_GATHER_MS: String(GATHER_MS) };
  const args = (role: string) => [stack, role, JSON.stringify(servers), ADDR.pub];
  const ansRun = lab.run(stack === 'tcp' ? lab.ns.pub : lab.ns.b, PEER, args('answer'), env, 'pipe');
  const offRun = lab.run(lab.ns.a, PEER, args('offer'), env, 'pipe');
  const off = new Lines(offRun, 'offerer');
  const ans = new Lines(ansRun, 'answerer');
  let stage = 'start';
  try {
    await off.next('READY', 20_000);
    await ans.next('READY', 20_000);
    off.send('START');
    stage = 'offer';
    const candidates = { lab: 0, loopback: 0 };
    const offer = await off.next('OFFER', GATHER_MS + 10_000);
    labOnly('offer', String(offer.sdp), candidates);
    stage = 'answer';
    ans.send('OFFER', offer);
    const answer = await ans.next('ANSWER', GATHER_MS + 10_000);
    labOnly('answer', String(answer.sdp), candidates);
    off.send('ANSWER', answer);
    stage = 'open';
    const open = await off.next('OPEN', 30_000);
    stage = 'ping-pong';
    const ping = await off.next('PING', PING_MS + 15_000);
    const mbps: number[] = [];
    const cpu: [number, number] = [0, 0];
    for (const size of SIZES) {
      stage = `${size / 1024 / 1024} MiB transfer`;
      await off.next('MARK', 10_000);
      const c0 = [await off.cpu(), await ans.cpu()];
      off.send('GO');
      // Bounded: 20 s, plus 4 s per MiB (a stack slower than 0.25 MB/s counts as hung).
      const x = await off.next('XFER', 20_000 + (size / 1024 / 1024) * 4000);
      mbps.push(size / 1e6 / (Number(x.ms) / 1000));
      cpu[0] += (await off.cpu()) - c0[0];
      cpu[1] += (await ans.cpu()) - c0[1];
    }
    const mb = SIZES.reduce((a, b) => a + b, 0) / 1e6;
    return {
      stack,
      setupMs: Number(open.setupMs),
      path: String(open.path ?? '?'),
      perSec: Number(ping.perSec),
      p50: Number(ping.p50),
      p99: Number(ping.p99),
      mbps,
      cpu: [cpu[0] / 1000 / mb, cpu[1] / 1000 / mb],
      candidates,
      cut: [offer, answer].flatMap((d, i) => (d.cut ? [i === 0 ? 'offerer' : 'answerer'] : [])),
    };
  } catch (e) {
    return { stack, failed: `${stage}: ${(e as Error).message}` };
  } finally {
    for (const r of [offRun, ansRun]) {
      if (r.child.exitCode === null && r.child.signalCode === null) {
        const gone = new Promise((resolve) => r.child.once('exit', resolve));
        r.child.kill('SIGKILL');
        await gone;
      }
    }
  }
}

const isPair = (o: Outcome): o is Pair => !('failed' in o);

function oneLine(mode: string, round: number, o: Outcome): string {
  const head = `${mode.padEnd(9)} round ${round + 1}  ${o.stack.padEnd(16)}`;
  if (!isPair(o)) return `${head} FAILED ${o.failed}`;
  return (
    `${head} setup ${fmt(o.setupMs)} ms, path ${o.path}, ${fmt(o.perSec)} rt/s (p50 ${fmt(o.p50, 2)}, p99 ${fmt(o.p99, 2)} ms), ` +
    `${o.mbps.map((m, i) => `${SIZES[i] / 1024 / 1024} MiB ${fmt(m, 1)} MB/s`).join(', ')}, ` +
    `CPU ${fmt(o.cpu[0])}/${fmt(o.cpu[1])} ms/MB, candidates: ${o.candidates.lab} lab` +
    (o.candidates.loopback > 0 ? ` + ${o.candidates.loopback} loopback` : '') +
    (o.cut.length > 0 ? `, gathering cut at ${fmt(GATHER_MS)} ms (${o.cut.join(', ')})` : '')
  );
}

/** `median (min–max)` of the figures, or the one figure. */
function cell(xs: number[], digits: number): string {
  if (xs.length === 0) return '—';
  const m = fmt(median(xs), digits);
  return xs.length === 1 ? m : `${m} (${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)})`;
}

function summary(mode: NatMode, rounds: Outcome[][]): void {
  const tcpOf = (r: Outcome[]) => r.find((o): o is Pair => o.stack === 'tcp' && isPair(o));
  const rows = STACKS.map((stack) => {
    const got = rounds.map((r) => r.find((o) => o.stack === stack)).filter((o) => o !== undefined);
    const ok = got.filter(isPair);
    const ratio = (i: number) =>
      rounds
        .map((r) => [r.find((o): o is Pair => o.stack === stack && isPair(o)), tcpOf(r)] as const)
        .filter(([s, t]) => s !== undefined && t !== undefined)
        .map(([s, t]) => s!.mbps[i] / t!.mbps[i]);
    const paths = [...new Set(ok.map((o) => o.path))].join(' ');
    const failed = got.length - ok.length;
    return [
      stack,
      `${ok.length}/${got.length}${failed > 0 ? ' ⚠' : ''}`,
      paths,
      cell(
        ok.map((o) => o.setupMs),
        0,
      ),
      cell(
        ok.map((o) => o.perSec),
        0,
      ),
      cell(
        ok.map((o) => o.p50),
        2,
      ),
      cell(
        ok.map((o) => o.p99),
        2,
      ),
      ...SIZES.flatMap((_, i) => [
        cell(
          ok.map((o) => o.mbps[i]),
          1,
        ),
        stack === 'tcp' ? '1' : cell(ratio(i), 2),
      ]),
      cell(
        ok.map((o) => o.cpu[0]),
        0,
      ),
      cell(
        ok.map((o) => o.cpu[1]),
        0,
      ),
    ];
  });
  console.log(`\n${mode} NAT: median (min–max) of ${rounds.length} round(s); MB/s each way; ×tcp per round`);
  printTable(
    [
      'stack',
      'ok',
      'path',
      'setup ms',
      'rt/s',
      'RTT p50 ms',
      'p99 ms',
      '4 MiB MB/s',
      '×tcp',
      '16 MiB MB/s',
      '×tcp',
      'CPU ms/MB offerer',
      'answerer',
    ],
    rows,
    { right: [false, false, false, true, true, true, true, true, true, true, true, true, true], sep: ' | ' },
  );
  for (const r of rounds) for (const o of r) if (!isPair(o)) console.log(`  ${o.stack}: ${o.failed}`);
}

function version(pkg: string): string {
  try {
    const url = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

async function main(): Promise<void> {
  try {
    execFileSync('turnserver', ['--version'], { stdio: 'ignore', timeout: 5000 });
  } catch {
    console.log("ice-stacks bench: needs coturn's turnserver (Debian package coturn); not run.");
    return;
  }
  console.log(
    `WebRTC stacks on the NAT lab: ${machine()}; werift ${version('werift')}, node-datachannel ${version('node-datachannel')}, ` +
      `@roamhq/wrtc ${version('@roamhq/wrtc')}; ${ROUNDS} round(s) per NAT mode, ping-pong ${PING_MS} ms, gathering bound ${GATHER_MS} ms`,
  );
  for (const mode of MODES) {
    const lab = NatLab.create(mode);
    if (typeof lab === 'string') {
      console.log(`ice-stacks bench: ${lab}; it needs root. Not run.`);
      return;
    }
    try {
      const turn = lab.startTurn();
      await new Promise((r) => setTimeout(r, 500)); // coturn binds its port
      const servers = [turn.stun, turn.turn];
      const rounds: Outcome[][] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const results: Outcome[] = [];
        for (let k = 0; k < STACKS.length; k++) {
          const stack = STACKS[(k + round) % STACKS.length]; // the order rotates, as in every bench
          const o = await runPair(lab, stack, servers);
          console.log(oneLine(mode, round, o));
          results.push(o);
        }
        rounds.push(results);
      }
      summary(mode, rounds);
    } finally {
      await lab.close();
    }
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130)); // the lab's exit hook
await main();
process.exit(0);
