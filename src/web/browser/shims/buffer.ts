/** `node:buffer` in the browser: the `buffer` package, plus `isUtf8`. */
import { Buffer } from 'buffer';

const strict = new TextDecoder('utf-8', { fatal: true });

export function isUtf8(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export { Buffer };
export default { Buffer, isUtf8 };
