/**
 * One end of a pair in the WebRTC stack comparison (ice-stacks.bench.ts), run by the bench in a namespace of
 * the NAT lab: `node ice-stacks-peer.js <stack> offer|answer <servers JSON> [listen address]`.
 *
 * It talks to the bench in lines, `WORD <json>`: both print `READY {}` once the stack is loaded; on `START` the
 * offerer prints `OFFER {sdp, cut}` (cut: gathering ended by
 * the bound, QI_BENCH_GATHER_MS, 3000), reads `ANSWER {sdp, cut}`, prints
 * `OPEN {setupMs, path}` once its channel is open (setup = from creating the peer connection to open, the
 * exchange through the bench included), then `PING {…}` (sequential 64-byte round trips), then for each transfer
 * size `MARK {size}`, waits for `GO`, and prints `XFER {size, ms}` once every byte came back; `DONE {}` at the end.
 * The answerer reads `OFFER {sdp}`, prints `ANSWER {sdp}` and echoes every message back. Both answer `CPU` with
 * `CPU {us}` (process.cpuUsage: every thread, native ones too) and exit when stdin closes; an error is
 * `ERROR {message}`.
 */
import { createInterface } from 'node:readline';
import { HIGH, STACKS, type Pipe } from './ice-stacks-pipes.js';
import { quantile } from './harness.js';

/** Messages of a transfer: 64 KiB each, for every stack. */
export const CHUNK = 64 * 1024;
/** The ping-pong message. */
export const PING_BYTES = 64;

const [stackName, role, serversJson, listen = ''] = process.argv.slice(2);
const pingMs = Number(process.env.QI_BENCH_PING_MS ?? 2000);
const stack = STACKS[stackName];
const options = {
  servers: JSON.parse(serversJson ?? '[]') as string[],
  gatherMs: Number(process.env.QI_BENCH_GATHER_MS ?? 3000),
  listen,
};

const say = (word: string, json: object) => process.stdout.write(`${word} ${JSON.stringify(json)}\n`);
const now = () => Number(process.hrtime.bigint()) / 1e6;

// Lines from the bench: CPU is answered at once, the others wait for whoever asked.
const waiting = new Map<string, (json: Record<string, string>) => void>();
const early = new Map<string, Record<string, string>>();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const sp = line.indexOf(' ');
  const word = sp < 0 ? line : line.slice(0, sp);
  if (word === 'CPU') {
    const u = process.cpuUsage();
    return say('CPU', { us: u.user + u.system });
  }
  const json = sp < 0 ? {} : (JSON.parse(line.slice(sp + 1)) as Record<string, string>);
  const w = waiting.get(word);
  if (w === undefined) return early.set(word, json);
  waiting.delete(word);
  w(json);
});
lines.on('close', () => process.exit(0));

function read(word: string): Promise<Record<string, string>> {
  const got = early.get(word);
  if (got) return (early.delete(word), Promise.resolve(got));
  return new Promise((resolve) => waiting.set(word, resolve));
}

/** Sends `b` now, or queues it while the channel holds HIGH bytes or more (the echo's side of the rule). */
function backpressured(pipe: Pipe): (b: Buffer) => void {
  const queue: Buffer[] = [];
  pipe.onLow(() => {
    while (queue.length > 0 && pipe.buffered() < HIGH) pipe.send(queue.shift()!);
  });
  return (b) => {
    if (queue.length > 0 || pipe.buffered() >= HIGH) queue.push(b);
    else pipe.send(b);
  };
}

/** The offerer's measurements on an open pipe. */
async function measure(pipe: Pipe): Promise<void> {
  let onBytes: (n: number) => void = () => {};
  pipe.onData((b) => onBytes(b.length));
  const until = (total: number) =>
    new Promise<void>((resolve) => {
      let got = 0;
      onBytes = (n) => {
        got += n;
        if (got >= total) resolve();
      };
    });

  // Sequential ping-pong: one 64-byte message, wait for it to come back, again. 50 to warm up.
  const ping = Buffer.alloc(PING_BYTES, 1);
  const rtts: number[] = [];
  for (let i = 0, end = Infinity; now() < end; i++) {
    if (i === 50) end = now() + pingMs;
    const t = now();
    const back = until(PING_BYTES);
    pipe.send(ping);
    await back;
    if (i >= 50) rtts.push(now() - t);
  }
  const total = rtts.reduce((a, b) => a + b, 0);
  say('PING', {
    n: rtts.length,
    perSec: (rtts.length * 1000) / total,
    p50: quantile(rtts, 0.5),
    p99: quantile(rtts, 0.99),
  });

  // Transfers: 64 KiB messages, stop at HIGH buffered and resume at LOW; the peer echoes each message.
  const chunk = Buffer.alloc(CHUNK);
  for (let i = 0; i < CHUNK; i++) chunk[i] = (i * 31 + 7) & 0xff;
  let low: () => void = () => {};
  pipe.onLow(() => low());
  for (const size of [4, 16].map((m) => m * 1024 * 1024)) {
    say('MARK', { size });
    await read('GO');
    const t0 = now();
    const back = until(size);
    for (let sent = 0; sent < size; sent += CHUNK) {
      if (pipe.buffered() >= HIGH) await new Promise<void>((r) => (low = r));
      pipe.send(sent + CHUNK <= size ? chunk : chunk.subarray(0, size - sent));
    }
    await back;
    say('XFER', { size, ms: now() - t0 });
  }
  say('DONE', {});
}

async function main(): Promise<void> {
  if (stack === undefined) throw new Error(`unknown stack ${stackName} (${Object.keys(STACKS).join(', ')})`);
  await stack.load();
  say('READY', {});
  if (role === 'offer') {
    await read('START');
    const t0 = now();
    const offering = await stack.offer(options);
    say('OFFER', { sdp: offering.sdp, cut: offering.cut });
    const pipe = await offering.open((await read('ANSWER')).sdp);
    say('OPEN', { setupMs: now() - t0, path: await pipe.path() });
    await measure(pipe);
  } else {
    const answering = await stack.answer((await read('OFFER')).sdp, options);
    say('ANSWER', { sdp: answering.sdp, cut: answering.cut });
    const pipe = await answering.opened;
    const echo = backpressured(pipe);
    pipe.onData(echo);
    say('OPEN', { path: await pipe.path() });
  }
}

main().catch((e: unknown) => say('ERROR', { message: e instanceof Error ? e.message : String(e) }));
