/**
 * This machine's interface addresses, as a listener on a wildcard host (`0.0.0.0`, `::`) advertises them,
 * and a watcher that says when they change (a robot moving from one hotspot to another).
 *
 * IPv6 addresses that cannot be used yet or any more are left out: on Linux, `/proc/net/if_inet6` flags
 * an address still in duplicate address detection (tentative), one that failed it (dadfailed), and one
 * being retired (deprecated, as old privacy addresses are). Elsewhere every address Node reports is kept.
 *
 * Changes are seen by polling (every `pollMs`), and at once on Linux where `ip monitor address` runs:
 * one such process for the whole process, started with the first watch and stopped with the last.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** One usable address of an interface. */
export interface InterfaceAddress {
  /** The interface's name: the zone of an IPv6 link-local address. */
  name: string;
  address: string;
  family: 'IPv4' | 'IPv6';
}

/** IFA_F_* flags of /proc/net/if_inet6 that make an address unusable to advertise. */
const DADFAILED = 0x08;
const DEPRECATED = 0x20;
const TENTATIVE = 0x40;
const OPTIMISTIC = 0x04;

/** The IPv6 addresses (expanded, lower case, no colons) the kernel says not to advertise. */
function unusableIpv6(): Set<string> {
  const out = new Set<string>();
  let table: string;
  try {
    table = readFileSync('/proc/net/if_inet6', 'latin1');
  } catch {
    return out; // not Linux, or no IPv6: nothing known to leave out
  }
  for (const line of table.split('\n')) {
    const [hex, , , , flags] = line.trim().split(/\s+/);
    if (hex === undefined || flags === undefined) continue;
    const f = parseInt(flags, 16);
    const tentative = (f & TENTATIVE) !== 0 && (f & OPTIMISTIC) === 0;
    if (tentative || (f & (DADFAILED | DEPRECATED)) !== 0) out.add(hex);
  }
  return out;
}

/** An IPv6 address written as /proc/net/if_inet6 does: 32 hex digits. */
function expand(address: string): string {
  const [head, tail = ''] = address.split('%')[0]!.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':'));
  const h = part(head!);
  const t = part(tail);
  const groups = address.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups
    .map((g) => g.padStart(4, '0'))
    .join('')
    .toLowerCase();
}

/** This machine's usable interface addresses, sorted (see the module comment). */
export function interfaceAddresses(): InterfaceAddress[] {
  const unusable = unusableIpv6();
  const out: InterfaceAddress[] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv6' && unusable.has(expand(a.address))) continue;
      out.push({ name, address: a.address, family: a.family });
    }
  }
  return out.sort((a, b) => (a.name + a.address < b.name + b.address ? -1 : 1));
}

/** A watch of the addresses: call it to stop watching. */
export type StopWatch = () => void;

interface Watch {
  last: string;
  check: () => void;
  events: boolean;
}

const watches = new Set<Watch>();
let monitor: ChildProcess | undefined;
let settle: NodeJS.Timeout | undefined;

/** The kernel's address events, where `ip monitor` runs: each one makes every watch look again. */
function startMonitor(): void {
  if (monitor !== undefined || process.platform !== 'linux') return;
  let child: ChildProcess;
  try {
    child = spawn('ip', ['-o', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return;
  }
  monitor = child;
  child.on('error', () => {
    if (monitor === child) monitor = undefined; // no `ip` here: polling only
  });
  child.on('exit', () => {
    if (monitor === child) monitor = undefined;
  });
  child.stdout!.on('data', () => {
    // A change comes as several lines (an address, then its route): look once they are all out.
    if (settle !== undefined) return;
    settle = setTimeout(() => {
      settle = undefined;
      for (const w of watches) w.check();
    }, 50);
    settle.unref();
  });
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
}

function stopMonitor(): void {
  clearTimeout(settle);
  settle = undefined;
  monitor?.kill();
  monitor = undefined;
}

/**
 * Calls `onChange` with the new addresses each time the set of usable addresses changes, looking every
 * `pollMs`, and with `events`, at once on the kernel's events where it can hear them (Linux with the
 * `ip` tool: one child process for the whole program). Never keeps the process alive.
 */
export function watchAddresses(onChange: (now: InterfaceAddress[]) => void, pollMs: number, events = true): StopWatch {
  const key = (a: InterfaceAddress[]) => a.map((x) => `${x.name}/${x.address}`).join(' ');
  const w: Watch = {
    last: key(interfaceAddresses()),
    check: () => {
      const now = interfaceAddresses();
      const k = key(now);
      if (k === w.last) return;
      w.last = k;
      onChange(now);
    },
    events,
  };
  watches.add(w);
  if (events) startMonitor();
  const timer = setInterval(w.check, pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    watches.delete(w);
    if (![...watches].some((x) => x.events)) stopMonitor();
  };
}
