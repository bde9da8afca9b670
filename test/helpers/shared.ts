/**
 * Locates the team's shared reference material (`../shared` beside the repository): the protocol spec
 * and byte captures from real libqi, which are ground truth for the codec tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** The shared folder: `QI_SHARED_DIR`, or `../shared` next to the repository. */
export const SHARED_DIR = process.env.QI_SHARED_DIR ?? resolve(repoRoot(), '..', 'shared');

export function sharedFile(rel: string): Buffer {
  const p = join(SHARED_DIR, rel);
  if (!existsSync(p))
    throw new Error(
      `missing ${p}: the tests need the shared spec and vectors beside the repository (or set QI_SHARED_DIR)`,
    );
  return readFileSync(p);
}

/** One record of vectors/libqi-4.0.5-values.jsonl. */
export interface LibqiVector {
  name: string;
  kind?: 'message';
  signature?: string;
  hex: string;
  qi_json?: string;
  id?: number;
  type?: number;
  flags?: number;
  service?: number;
  object?: number;
  action?: number;
  payload_size?: number;
  payload_hex?: string;
}

export function libqiVectors(): LibqiVector[] {
  return sharedFile('vectors/libqi-4.0.5-values.jsonl')
    .toString('utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LibqiVector);
}

/** A complete message of the spec's §11 with the signature its "Check" line gives the payload. */
export interface SpecVector {
  name: string;
  bytes: Buffer;
  signature?: string;
}

/** Extracts every test vector of §11 from the spec text: its complete-message hex dump and check signature. */
export function specVectors(): SpecVector[] {
  const text = sharedFile('spec/qi-protocol.md').toString('utf8');
  const sections = text.split(/^### (?=V\d+ )/m).slice(1);
  return sections.map((s) => {
    const name = s.slice(0, s.indexOf('\n')).trim();
    const dump = /Complete message \(\d+ bytes\):\s*```\n([\s\S]*?)```/.exec(s);
    if (!dump) throw new Error(`spec vector ${name} has no complete-message dump`);
    const hex = dump[1]
      .split('\n')
      .map((l) => l.replace(/^[0-9a-f]{4}:/, ''))
      .join('')
      .replace(/\s+/g, '');
    const check = /Check: the \d+-byte payload decodes with signature `([^`]+)`/.exec(s);
    return { name, bytes: Buffer.from(hex, 'hex'), signature: check?.[1] };
  });
}
