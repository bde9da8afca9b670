/**
 * One output connection of a port: to a YARP reader (`yarp read`), opened by us after an admin `add`, or
 * an inbound connection the peer reversed (port command `r`). Messages go out as port command `D` (no
 * reply wanted) and a Bottle; the reader acknowledges each (tcp carrier). A reader that falls behind
 * loses messages instead of growing our memory: past {@link MAX_UNACKED} messages or `maxQueuedBytes`
 * waiting, an emission is dropped and counted.
 */
import net from 'node:net';
import { QiError } from '../../errors/index.js';
import { SocketReader } from './socket-reader.js';
import { TCP_HEADER, message, portCommand, readYarpNumber, senderName, yarpNumber } from './wire.js';

/** Messages sent and not acknowledged yet, at most. */
export const MAX_UNACKED = 64;

export class YarpOutput {
  private unacked = 0;
  /** Emissions dropped because the reader is behind. */
  dropped = 0;
  private closed = false;
  readonly done: Promise<void>;

  constructor(
    /** The reader's port name. */
    readonly target: string,
    private readonly socket: net.Socket,
    private readonly reader: SocketReader,
    private readonly acked: boolean,
    private readonly maxQueuedBytes: number,
  ) {
    this.done = this.readAcks().finally(() => this.close());
  }

  /**
   * Connects to a reader at `host:port` and introduces the port `from` (tcp carrier).
   * @throws QiError `ERR_QI_CONNECT` when the reader cannot be reached or answers something else
   */
  static async open(
    target: string,
    host: string,
    port: number,
    from: string,
    maxQueuedBytes: number,
    timeoutMs = 5000,
  ): Promise<YarpOutput> {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.setTimeout(timeoutMs);
    const reader = new SocketReader(socket, 64 * 1024);
    const fail = (why: string) => {
      socket.destroy();
      return new QiError('ERR_QI_CONNECT', `cannot connect to the YARP port ${target} at ${host}:${port}: ${why}`);
    };
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
        socket.once('timeout', () => reject(new Error(`no answer within ${timeoutMs} ms`)));
      });
      socket.write(Buffer.concat([yarpNumber(TCP_HEADER), senderName(from)]));
      const answer = await Promise.race([
        reader.take(8),
        new Promise<never>((_, reject) =>
          socket.once('timeout', () => reject(new Error(`no answer within ${timeoutMs} ms`))),
        ),
      ]);
      if (readYarpNumber(answer) === undefined) throw new Error('it did not answer as a YARP port');
    } catch (e) {
      throw fail((e as Error).message);
    }
    socket.setTimeout(0);
    return new YarpOutput(target, socket, reader, true, maxQueuedBytes);
  }

  /** An inbound connection reversed by its peer (port command `r`): it reads what we write. */
  static reversed(
    target: string,
    socket: net.Socket,
    reader: SocketReader,
    acked: boolean,
    maxQueuedBytes: number,
  ): YarpOutput {
    return new YarpOutput(target, socket, reader, acked, maxQueuedBytes);
  }

  /** Sends one Bottle (binary form); false when dropped (reader behind or gone). */
  send(bottle: Buffer): boolean {
    if (this.closed) return false;
    if ((this.acked && this.unacked >= MAX_UNACKED) || this.socket.writableLength > this.maxQueuedBytes) {
      this.dropped++;
      return false;
    }
    if (this.acked) this.unacked++;
    this.socket.write(message([portCommand('D'), bottle]));
    return true;
  }

  /** Reads acknowledgements (`Y A n R P`, then n bytes ignored) until the connection ends. */
  private async readAcks(): Promise<void> {
    try {
      for (;;) {
        const n = readYarpNumber(await this.reader.take(8));
        if (n === undefined || n < 0 || n > 64 * 1024) return; // not a YARP acknowledgement: drop the reader
        if (n > 0) await this.reader.take(n);
        this.unacked = Math.max(0, this.unacked - 1);
      }
    } catch {
      // the connection ended
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Closes the connection (the reader sees its input end). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
