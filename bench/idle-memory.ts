/**
 * The gateway benchmark's memory rows: the memory of a server process per connected idle client (a bare `net`
 * server, a plain qi server, a gateway), each server in a fresh process, the clients spread over child processes of
 * `gateway-server.js clients`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawnChild, stopChild, type Child } from './children.js';
import { fmt, pct, printTable } from './harness.js';

const GW_SERVER_JS = join(dirname(fileURLToPath(import.meta.url)), 'gateway-server.js');

/** Soft limit of open files of this process (children inherit it), from /proc (Linux); undefined elsewhere. */
export function openFilesLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? undefined : m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** A server's memory reading. */
export interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  conns: number;
  gc: boolean;
}

/** Polls the server's `mem` until its connection count is `want` (when it knows it), for at most 10 s. */
async function memAt(server: Child, want: number): Promise<Mem> {
  const t0 = Date.now();
  for (;;) {
    const m = (await server.ask('mem', 'MEM')) as unknown as Mem;
    if (m.conns < 0 || m.conns === want) return m;
    if (Date.now() - t0 > 10_000) throw new Error(`server reports ${m.conns} connections, expected ${want}`);
    await sleep(50);
  }
}

/** The three readings of one server. */
export interface MemResult {
  server: string;
  clients: number;
  connectMs: number;
  before: Mem;
  after: Mem;
  closed: Mem;
}

/**
 * Starts `server`, connects and disconnects a few clients (lazy initialisation and JIT out of the way), reads
 * its memory, connects `n` idle clients from child processes of at most `clientsPerProcess` each, reads its
 * memory again once it has them all, then disconnects them and reads it a third time (a leak check).
 */
export async function idleMemory(
  label: string,
  start: () => Promise<Child>,
  urlOf: (c: Child) => string,
  kind: 'qi' | 'raw',
  n: number,
  clientsPerProcess: number,
): Promise<MemResult> {
  const server = await start();
  const groups: Child[] = [];
  try {
    const url = urlOf(server);
    const warm = await spawnChild(GW_SERVER_JS, ['clients', kind, url, '20']);
    await stopChild(warm.child);
    await memAt(server, 0);
    const before = await memAt(server, 0);
    const per = Math.ceil(n / Math.ceil(n / clientsPerProcess));
    const t0 = Date.now();
    const counts: number[] = [];
    for (let left = n; left > 0; left -= per) counts.push(Math.min(per, left));
    groups.push(...(await Promise.all(counts.map((c) => spawnChild(GW_SERVER_JS, ['clients', kind, url, String(c)])))));
    const connected = groups.reduce((a, g) => a + Number(g.ready.connected), 0);
    if (connected !== n) throw new Error(`${label}: ${connected} clients connected, expected ${n}`);
    const after = await memAt(server, n);
    const connectMs = Date.now() - t0;
    await Promise.all(groups.map((g) => g.ask('close', 'CLOSED')));
    await Promise.all(groups.splice(0).map((g) => stopChild(g.child)));
    await sleep(200); // the server sees the last closes (its count, when it has one, is awaited too)
    const closed = await memAt(server, 0);
    return { server: label, clients: n, connectMs, before, after, closed };
  } finally {
    await Promise.all(groups.map((g) => stopChild(g.child)));
    await stopChild(server.child);
  }
}

/** Prints the table of the memory rows: the first result is the floor, the one named `direct…` the plain qi server. */
export function printMemory(memResults: MemResult[]): void {
  const floorRes = memResults[0];
  const directRes = memResults.find((r) => r.server.startsWith('direct'));
  const perClient = (r: MemResult, k: 'rss' | 'heapUsed' | 'external', from: Mem = r.before, to: Mem = r.after) =>
    (to[k] - from[k]) / r.clients;
  const kib = (b: number) => `${fmt(b / 1024, 1)} KiB`;
  const mib = (b: number) => `${fmt(b / 1048576, 1)}`;
  const rows = memResults.map((r) => [
    r.server,
    fmt(r.clients),
    `${mib(r.before.rss)} -> ${mib(r.after.rss)}`,
    kib(perClient(r, 'rss')),
    kib(perClient(r, 'heapUsed')),
    kib(perClient(r, 'external')),
    r === floorRes ? '-' : `x${fmt(perClient(r, 'heapUsed') / perClient(floorRes, 'heapUsed'), 1)}`,
    r === directRes || directRes === undefined || r === floorRes
      ? '-'
      : `${pct(perClient(r, 'rss'), perClient(directRes, 'rss'))} / ${pct(perClient(r, 'heapUsed'), perClient(directRes, 'heapUsed'))}`,
    kib(perClient(r, 'heapUsed', r.before, r.closed)),
    `${fmt(r.connectMs)} ms`,
  ]);
  printTable(
    [
      'idle clients: server',
      'clients',
      'rss MiB before -> after',
      'rss/client',
      'heap/client',
      'external/client',
      'heap vs floor',
      'rss / heap vs direct',
      'heap left/client after close',
      'connect',
    ],
    rows,
    { right: [false, true, true, true, true, true, true, true, true, true] },
  );
}
