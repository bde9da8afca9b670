/**
 * libqi's ServiceDirectory error texts, in its words: libqi clients and users recognize them, and a
 * gateway's view of the SD answers with the same ones (a hidden service reads as a missing one).
 */

/** No service of that name (libqi: `Cannot find service 'X' in index`). */
export function serviceNotFound(name: string): Error {
  return new Error(`Cannot find service '${name}' in index`);
}

/** `_socketOfService` (109) is only for libqi's in-process use. */
export function socketOfServiceRefused(): Error {
  return new Error('_socketOfService is internal to libqi and cannot be called remotely');
}
