/**
 * Checks, before anything is sent, that command-line values fit the types of the member they go to,
 * and says what went wrong in the user's terms: the property or the parameter (by position and name),
 * its type in words, and, when a string was wanted but the text read as a number or `true`, how to
 * quote it. The codec's own error would name the wire tuple instead (`args[1] (signature (mm))`).
 */
import { printSignature, QiValueError, type Codec, type Signature } from '../index.js';
import { UsageError } from './usage-error.js';

/** A qi type in words: `a float`, `an integer (int32)`, `a list`, `a struct Point`… */
function typeWords(sig: Signature): string {
  switch (sig.kind) {
    case 'bool':
      return 'a boolean';
    case 'float':
      return 'a float';
    case 'double':
      return 'a double';
    case 'string':
      return 'a string';
    case 'raw':
      return 'raw bytes';
    case 'dynamic':
      return 'any value';
    case 'object':
      return 'an object';
    case 'list':
    case 'varargs':
      return 'a list';
    case 'map':
    case 'kwargs':
      return 'a map';
    case 'optional':
      return `optional ${typeWords(sig.element)}`;
    case 'tuple':
      return sig.name !== undefined ? `a struct ${sig.name}` : `a tuple of ${sig.members.length}`;
    default:
      return /int/.test(sig.kind) ? `an integer (${sig.kind})` : sig.kind;
  }
}

/** One line: `SUBJECT is TYPE (signature S)[ at PATH]: REASON[; how to quote]`. */
function explain(
  subject: string,
  sig: Signature | undefined,
  e: QiValueError,
  inside: string,
  value: unknown,
  text: string | undefined,
): UsageError {
  const type = sig === undefined ? '' : ` is ${typeWords(sig)} (signature ${printSignature(sig)})`;
  const where = inside === '' ? '' : ` at ${inside}`;
  const quote =
    sig?.kind === 'string' && typeof value !== 'string' && text !== undefined
      ? `; to pass ${JSON.stringify(text)} as a string, quote it: '${JSON.stringify(text)}'`
      : '';
  return new UsageError(`${subject}${type}${where}: ${e.reason}${quote}`);
}

/** Throws a usage error naming `subject` (e.g. `TextToSpeech.volume`) if `value` does not fit `codec`. */
export function checkValue(codec: Codec, value: unknown, text: string | undefined, subject: string): void {
  try {
    codec.encode(value);
  } catch (e) {
    if (!(e instanceof QiValueError)) throw e;
    throw explain(subject, codec.type, e, e.path, value, text);
  }
}

/**
 * Throws a usage error naming the argument (`TextToSpeech.say argument 1 (text)`) that does not fit
 * `params` (the parameters tuple of a method or signal).
 */
export function checkArgs(
  params: Codec,
  values: unknown[],
  texts: string[],
  member: string,
  names: readonly string[] = [],
): void {
  try {
    params.encode(values);
  } catch (e) {
    if (!(e instanceof QiValueError)) throw e;
    const index = /^\[(\d+)\]/.exec(e.path);
    if (index === null || params.type.kind !== 'tuple')
      throw explain(member, undefined, e, e.path, undefined, undefined);
    const i = Number(index[1]);
    const name = names[i] ? ` (${names[i]})` : '';
    throw explain(
      `${member} argument ${i + 1}${name}`,
      params.type.members[i],
      e,
      e.path.slice(index[0].length),
      values[i],
      texts[i],
    );
  }
}
