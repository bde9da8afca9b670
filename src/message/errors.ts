/** Errors of the message layer: a byte stream that does not carry well-formed qi messages. */
import { QiError } from '../errors/index.js';

/** Why a stream was rejected. */
export type ProtocolFault = 'bad-magic' | 'bad-version' | 'too-large' | 'truncated';

/**
 * The peer sent bytes that are not a qi message stream. The stream cannot be resynchronised after
 * this (libqi drops the connection too); `fault` says which check failed.
 */
export class QiProtocolError extends QiError {
  readonly fault: ProtocolFault;
  /** Offset of the offending message's header in the stream, counted from the first byte received. */
  readonly streamOffset: number;
  /** The first bytes of what was received instead of a message header (`bad-magic`): lets a client say what the peer speaks. */
  readonly received?: Buffer;

  constructor(fault: ProtocolFault, message: string, streamOffset: number, received?: Buffer) {
    super('ERR_QI_PROTOCOL', message);
    this.fault = fault;
    this.streamOffset = streamOffset;
    this.received = received;
  }
}
