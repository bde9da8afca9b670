/**
 * Reads exact byte counts and lines from a socket, for the YARP protocols (connection headers, indexes,
 * name-server lines). A hostile peer cannot make it hold much: the socket is paused while more than
 * `highWater` bytes wait, callers only ask for lengths they have bounded, and a line longer than its
 * bound is an error rather than a growing buffer.
 */
import type net from 'node:net';
import { QiError } from '../../errors/index.js';

export class SocketReader {
  private chunks: Buffer[] = [];
  private size = 0;
  private ended: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly socket: net.Socket,
    private readonly highWater = 256 * 1024,
  ) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      if (this.size > this.highWater) socket.pause();
      this.poke();
    });
    const end = (why: string) => () => {
      this.ended ??= new QiError('ERR_QI_CLOSED', why);
      this.poke();
    };
    socket.on('end', end('the YARP peer closed the connection'));
    socket.on('close', end('the YARP connection is closed'));
    socket.on('error', (e) => {
      this.ended ??= new QiError('ERR_QI_CLOSED', `the YARP connection failed: ${e.message}`);
      this.poke();
    });
  }

  /** Bytes received and not read yet. */
  get buffered(): number {
    return this.size;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async wait(): Promise<void> {
    if (this.ended) throw this.ended;
    if (this.socket.isPaused() && this.size <= this.highWater) this.socket.resume();
    await new Promise<void>((resolve) => (this.wake = resolve));
  }

  /** Exactly `n` bytes. @throws QiError `ERR_QI_CLOSED` when the connection ends first */
  async take(n: number): Promise<Buffer> {
    while (this.size < n) {
      if (this.socket.isPaused()) this.socket.resume();
      await this.wait();
    }
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = all.length > n ? [all.subarray(n)] : [];
    this.size -= n;
    if (this.socket.isPaused() && this.size <= this.highWater) this.socket.resume();
    return all.subarray(0, n);
  }

  /**
   * One line (without its `\n` or `\r\n`).
   * @throws QiError `ERR_QI_LIMIT` past `max` bytes, `ERR_QI_CLOSED` when the connection ends first
   */
  async line(max: number): Promise<string> {
    for (;;) {
      const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
      this.chunks = all.length ? [all] : [];
      const nl = all.indexOf(10);
      if (nl >= 0 && nl <= max) {
        const line = (await this.take(nl + 1)).subarray(0, nl).toString('utf8');
        return line.endsWith('\r') ? line.slice(0, -1) : line;
      }
      if (all.length > max) throw new QiError('ERR_QI_LIMIT', `a YARP peer sent a line longer than ${max} bytes`);
      if (this.socket.isPaused()) this.socket.resume();
      await this.wait();
    }
  }
}
