/** Errors of streams, with the existing stable codes of the error layer. */
import { QiError } from '../errors/index.js';

/** The writer ended the stream with an error (`remoteMessage` is its text), seen by the reader. */
export class QiStreamError extends QiError {
  constructor(
    /** The stream, e.g. `Camera.frames`. */
    readonly target: string,
    /** The writer's error text. */
    readonly remoteMessage: string,
  ) {
    super('ERR_QI_CALL', `The stream ${target} failed at its source: ${remoteMessage}`);
  }
}

/**
 * The other side closed the stream: on the writer, the reader closed it or went away (its connection
 * closed, its read was canceled, it stopped reading for longer than `idleTimeoutMs`); on the reader,
 * after `return()`.
 */
export class QiStreamClosedError extends QiError {
  constructor(message: string, cause?: unknown) {
    super('ERR_QI_CANCELED', message, cause === undefined ? undefined : { cause });
  }
}

/** The reader lost the stream: the connection to the writer closed, or batches were lost or reordered. */
export class QiStreamBrokenError extends QiError {
  constructor(message: string, cause?: unknown) {
    super('ERR_QI_CLOSED', message, cause === undefined ? undefined : { cause });
  }
}
