/** `node:crypto` in the browser: random ids and bytes from Web Crypto; hashing and certificates are Node-only. */
import { Buffer } from 'buffer';
import { unavailable } from './unavailable.js';

interface WebCrypto {
  getRandomValues<T extends Uint8Array>(a: T): T;
  randomUUID?(): string;
}
const web = (): WebCrypto => (globalThis as unknown as { crypto: WebCrypto }).crypto;

/** A random (version 4) UUID; Web Crypto's `randomUUID` exists only on secure pages (https, localhost). */
export function randomUUID(): string {
  const c = web();
  if (typeof c.randomUUID === 'function') return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 65536) web().getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length');
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function createHash(): never {
  return unavailable('crypto.createHash');
}

export class X509Certificate {
  constructor() {
    unavailable('crypto.X509Certificate');
  }
}
