/** The payload of Error messages: a dynamic string, as every libqi sends and expects. */
import type { Message } from '../message/index.js';
import { compile, type Dynamic } from '../type/index.js';

/** The codec of an Error message's payload. */
export const ERROR_CODEC = compile('m');

/** The text of an Error message (a dynamic string; anything else is shown as best we can). */
export function errorText(m: Message): string {
  return payloadErrorText(m.payload);
}

/** What a connection answers to a call for an object it does not serve (also said by the gateway for objects a client may not reach). */
export function noObjectText(m: Message): string {
  return `No object ${m.service}.${m.object} on this connection (${m.toString()}): the service is not registered here, or the object was released.`;
}

/** The text of an Error message's payload; see {@link errorText}. */
export function payloadErrorText(payload: Buffer): string {
  try {
    const d = ERROR_CODEC.decodeLenient(payload) as Dynamic;
    if (typeof d.value === 'string') return d.value;
    return `${JSON.stringify(d.value, (_k, v) => (typeof v === 'bigint' ? String(v) : v))} (an error value of signature ${d.signature})`;
  } catch {
    return `an unreadable error (${payload.length} bytes that are not a dynamic string)`;
  }
}
