/**
 * Typed errors shared by every layer. Each error has a stable `code` that programs can switch on, and a
 * message written for the person reading it: what went wrong, where, and what to try.
 *
 * @packageDocumentation
 */

/** Every code a qimessaging error can carry. */
export type QiErrorCode =
  | 'ERR_QI_SIGNATURE'
  | 'ERR_QI_VALUE'
  | 'ERR_QI_DECODE'
  | 'ERR_QI_PROTOCOL';

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
