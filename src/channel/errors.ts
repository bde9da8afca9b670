/** Errors of a connection's life: authentication, calls, timeouts, cancellation. */
import { QiError } from '../errors/index.js';
import type { Advice } from '../transport/index.js';

/** The peer refused our credentials, or the authentication handshake failed. */
export class QiAuthError extends QiError {
  constructor(
    message: string,
    /** The problem and what to do, for front ends that word the advice their own way. */
    readonly advice?: Advice,
  ) {
    super('ERR_QI_AUTH', message);
  }
}

/** A remote call answered with an Error; `remoteMessage` is the peer's text, unchanged. */
export class QiCallError extends QiError {
  constructor(
    /** What was called, e.g. `ALTextToSpeech.say` or `{23.1.100}`. */
    readonly target: string,
    /** The error text the peer sent. */
    readonly remoteMessage: string,
  ) {
    super('ERR_QI_CALL', `${target} failed: ${remoteMessage}`);
  }
}

/** No answer within the time allowed. */
export class QiTimeoutError extends QiError {
  constructor(message: string) {
    super('ERR_QI_TIMEOUT', message);
  }
}

/** The call was canceled (by an AbortSignal here, or by the peer). */
export class QiCanceledError extends QiError {
  constructor(message: string, cause?: unknown) {
    super('ERR_QI_CANCELED', message, cause === undefined ? undefined : { cause });
  }
}

/** A limit of the connection was reached; the message names the limit and how to raise it. */
export class QiLimitError extends QiError {
  constructor(message: string) {
    super('ERR_QI_LIMIT', message);
  }
}
