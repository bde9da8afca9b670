/**
 * Typed errors shared by every layer. Each error has a stable `code` that programs can switch on, and a
 * message written for the person reading it: what went wrong, where, and what to try.
 *
 * @packageDocumentation
 */

/** Every code a qimessaging error can carry. */
export type QiErrorCode =
  /** A malformed type signature. */
  | 'ERR_QI_SIGNATURE'
  /** A value that does not fit its signature. */
  | 'ERR_QI_VALUE'
  /** Bytes that do not decode with the expected signature. */
  | 'ERR_QI_DECODE'
  /** A byte stream that is not qi messages (bad magic, version, size). */
  | 'ERR_QI_PROTOCOL'
  /** A malformed endpoint URL. */
  | 'ERR_QI_URL'
  /** Could not connect to, or listen on, an endpoint. */
  | 'ERR_QI_CONNECT'
  /** A TLS peer that could not be verified or refused us. */
  | 'ERR_QI_TLS'
  /** The connection closed (while a call was pending, or before it could be used). */
  | 'ERR_QI_CLOSED'
  /** Authentication was refused, or the handshake failed. */
  | 'ERR_QI_AUTH'
  /** The remote method failed; the message is the peer's error text. */
  | 'ERR_QI_CALL'
  /** No answer within the time allowed. */
  | 'ERR_QI_TIMEOUT'
  /** The call was canceled. */
  | 'ERR_QI_CANCELED'
  /** A configuration (file or options) that cannot be used as given. */
  | 'ERR_QI_CONFIG'
  /** A limit of the connection was reached (pending calls, queued bytes…). */
  | 'ERR_QI_LIMIT';

/** Base class of all qimessaging errors. */
export class QiError extends Error {
  /** Stable machine-readable code, e.g. `ERR_QI_DECODE`. */
  readonly code: QiErrorCode;

  constructor(code: QiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}
