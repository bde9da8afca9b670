/**
 * This machine's identity, computed the way libqi computes it so that libqi processes on the same
 * machine agree with us about "same machine" (which decides loopback and IPC routes):
 * `QI_MACHINE_ID` if set; else the content of `~/.config/qimessaging/machine_id` (libqi without
 * systemd); else a name-based UUID (SHA-1) of `/etc/machine-id` under libqi's salt (libqi with
 * systemd); else a new UUID, saved where libqi would save it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// libqi's application salt for machine ids (src/os.cpp), a UUID namespace.
const SALT = Buffer.from('dd96971d091244c2a4078e79a8297b89', 'hex');

/** The UUID libqi (built with systemd) derives from a systemd machine id. */
export function machineIdFromSystemd(systemdId: string): string {
  const hash = createHash('sha1').update(SALT).update(systemdId.trim().toLowerCase()).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50; // version 5 (name-based, SHA-1)
  hash[8] = (hash[8] & 0x3f) | 0x80; // RFC 4122 variant
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function read(path: string): string | undefined {
  try {
    const s = readFileSync(path, 'utf8').trim();
    return s.length > 0 ? s : undefined;
  } catch {
    return undefined;
  }
}

let cached: string | undefined;

/** This machine's id (stable across runs). */
export function machineId(): string {
  if (cached !== undefined) return cached;
  const confDir = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'qimessaging');
  const systemd = read('/etc/machine-id');
  cached = process.env.QI_MACHINE_ID ?? read(join(confDir, 'machine_id')) ?? (systemd ? machineIdFromSystemd(systemd) : undefined);
  if (cached === undefined) {
    cached = randomUUID();
    try {
      mkdirSync(confDir, { recursive: true });
      writeFileSync(join(confDir, 'machine_id'), cached);
    } catch {
      // Read-only home: the id lives as long as this process.
    }
  }
  return cached;
}
