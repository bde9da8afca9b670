/**
 * The bound on what one connection queues for its peer: a peer that does not read must not grow us
 * without limit, whoever made the bytes (answers, relayed answers, events, errors).
 *
 * - over `limits.maxQueueBytes`: signal emissions are dropped (or the peer disconnected, with
 *   `slowPeer: 'disconnect'`), and on connections we accepted the peer is not read from until what it
 *   was sent drains: it cannot ask for more answers than it reads;
 * - over 4× the bound: the peer is disconnected.
 *
 * Connections we opened never stop reading: their peer is a server that may itself wait for us to read.
 */
import type { MessageStream } from '../transport/index.js';
import { QiLimitError } from './errors.js';
import type { ChannelLimits } from './limits.js';

/** The output bound of one connection; see the module comment. */
export class OutputBound {
  /** Signal emissions not sent because the peer did not read. */
  dropped = 0;

  constructor(
    private readonly stream: MessageStream,
    private readonly limits: Required<ChannelLimits>,
    private readonly side: 'client' | 'server',
  ) {}

  /** To call after anything was queued for the peer. */
  queued(): void {
    if (this.side !== 'server') return;
    const n = this.stream.bufferedBytes;
    if (n <= this.limits.maxQueueBytes) return;
    if (n > 4 * this.limits.maxQueueBytes) return this.slowPeer();
    this.stream.holdReading();
  }

  /** False when an emission must not be sent: it is dropped, or the peer disconnected. */
  mayEmit(): boolean {
    const n = this.stream.bufferedBytes;
    if (n <= this.limits.maxQueueBytes) return true;
    if (this.limits.slowPeer === 'disconnect' || n > 4 * this.limits.maxQueueBytes) this.slowPeer();
    else this.dropped++;
    return false;
  }

  private slowPeer(): void {
    this.stream.destroy(
      new QiLimitError(
        `${this.stream.remote} did not read what was sent to it: over ${this.limits.maxQueueBytes} bytes were waiting (limits.maxQueueBytes, QI_MAX_QUEUE_BYTES), so the connection was closed.`,
      ),
    );
  }
}
