/**
 * This machine's identity: a pure function of the machine, the same for every process whenever it
 * starts, so that "same machine" (which allows unix-socket and loopback routes) never changes under
 * running processes. In order:
 *
 * 1. `QI_MACHINE_ID` if set (trimmed, non-empty), taken as is: the way to agree with a peer that
 *    computes its id differently (every process of the machine must then be given the same value).
 * 2. `/etc/machine-id`, else `/var/lib/dbus/machine-id` (32 hex digits): the name-based UUID (SHA-1)
 *    of it under libqi's salt, exactly what libqi built with systemd (`WITH_SYSTEMD`, as on robots)
 *    computes; an empty or `uninitialized` file is skipped.
 * 3. Linux without a system id (containers): a salted UUID of the kernel's boot id and this network
 *    namespace (`/proc/sys/kernel/random/boot_id`, `/proc/self/ns/net`): every process that shares
 *    the loopback interface gets the same id, until the next reboot.
 * 4. Elsewhere (macOS, Windows): a salted UUID of the host name. A machine whose host name changes
 *    while processes run (DHCP) should set `QI_MACHINE_ID`.
 * 5. A browser page (no files, no hashing): an id of its own, random; it has no loopback or unix
 *    route to share anyway.
 *
 * `~/.config/qimessaging/machine_id` is neither read nor written: libqi built without systemd (its
 * default build) keeps a random id there and writes it when it is missing, so a file appearing while
 * processes run would have split the machine in two. To make such a libqi agree with us, either
 * start our processes with `QI_MACHINE_ID="$(cat ~/.config/qimessaging/machine_id)"`, or write our id
 * (`machineId()` from `qimessaging`) into that file before any libqi process starts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

// libqi's application salt for machine ids (src/os.cpp), a UUID namespace.
const SALT = Buffer.from('dd96971d091244c2a4078e79a8297b89', 'hex');

/** A name-based UUID (version 5, SHA-1) of `name` under libqi's salt. */
function saltedUuid(name: string): string {
  const hash = createHash('sha1').update(SALT).update(name).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5 (name-based, SHA-1)
  hash[8] = (hash[8] & 0x3f) | 0x80; // RFC 4122 variant
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The UUID libqi (built with systemd) derives from a systemd machine id. */
export function machineIdFromSystemd(systemdId: string): string {
  return saltedUuid(systemdId.trim().toLowerCase());
}

/** What the machine id is computed from: the real machine by default, a made-up one in tests. */
export interface MachineSources {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  /** A file's trimmed content, or undefined when it is missing, unreadable or empty. */
  read(path: string): string | undefined;
  /** A symbolic link's target, or undefined. */
  readlink(path: string): string | undefined;
  hostname(): string;
}

const SYSTEM_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/** The machine id `sources` describe (see the module's documentation for the order). */
export function machineIdOf(sources: MachineSources): string {
  const forced = sources.env.QI_MACHINE_ID?.trim();
  if (forced) return forced;
  for (const path of SYSTEM_ID_FILES) {
    const id = sources.read(path)?.toLowerCase();
    if (id !== undefined && /^[0-9a-f]{32}$/.test(id)) return machineIdFromSystemd(id);
  }
  if (sources.platform === 'linux') {
    const boot = sources.read('/proc/sys/kernel/random/boot_id');
    const net = sources.readlink('/proc/self/ns/net');
    if (boot !== undefined && net !== undefined) return saltedUuid(`linux boot ${boot} ${net}`);
  }
  return saltedUuid(`host ${sources.hostname()}`);
}

function read(path: string): string | undefined {
  try {
    const s = readFileSync(path, 'utf8').trim();
    return s.length > 0 ? s : undefined;
  } catch {
    return undefined;
  }
}

function readlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** The real machine. */
export const systemSources: MachineSources = { env: process.env, platform: process.platform, read, readlink, hostname };

let cached: string | undefined;

/** This machine's id: computed once per process, the same in every process of the machine. */
export function machineId(): string {
  if (cached !== undefined) return cached;
  try {
    cached = machineIdOf(systemSources);
  } catch {
    cached = randomUUID(); // the browser bundle: no hashing there
  }
  return cached;
}
