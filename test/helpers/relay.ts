/**
 * A TCP relay for fault injection between two real peers: it forwards bytes both ways and, on demand,
 * delays them, swallows them (a black hole: the network is down but no socket closes), reorders chunks,
 * cuts a direction after N bytes (truncating a message in the middle), or cuts everything now.
 */
import net from 'node:net';
import { after } from 'node:test';
import { throttle } from './throttle.js';

const relays = new Set<FaultRelay>();
after(async () => {
  for (const r of relays) await r.close();
});

type Direction = 'up' | 'down'; // up: client → server, down: server → client

/** The relay; see the module comment. Listens on 127.0.0.1, port chosen by the system. */
export class FaultRelay {
  /** Forward bytes (`pass`), hold them back for `delayMs` each (`delay`), or swallow them (`blackhole`). */
  mode: 'pass' | 'delay' | 'blackhole' = 'pass';
  delayMs = 0;
  /** At most this many bytes per second each way (0: no limit): a slow link. Set before connections open. */
  rate = 0;
  /** Swap each pair of consecutive chunks of a direction (the peers then see garbage). */
  reorder = false;
  /** Bytes forwarded so far, per direction. */
  readonly bytes = { up: 0, down: 0 };
  private readonly cutAt: Partial<Record<Direction, number>> = {};
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private readonly held: Partial<Record<Direction, Buffer>> = {};

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {}

  /** Starts a relay to `targetUrl` (`tcp://host:port`). */
  static async start(targetUrl: string): Promise<FaultRelay> {
    const u = new URL(targetUrl);
    const server = net.createServer();
    const relay = new FaultRelay(server, { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) });
    server.on('connection', (down) => relay.accept(down));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    relays.add(relay);
    return relay;
  }

  /** The relay's own URL, to give to the client. */
  get url(): string {
    return `tcp://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Forward at most `n` more bytes in `direction`, then cut both sockets (a cut in the middle of a message). */
  cutAfter(direction: Direction, n: number): void {
    this.cutAt[direction] = this.bytes[direction] + n;
  }

  /** Cuts every connection now (both sides see a reset). */
  cutNow(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
  }

  /** Number of connections currently relayed. */
  get connections(): number {
    return this.pairs.size;
  }

  private accept(down: net.Socket): void {
    const up = net.connect(this.target.port, this.target.host);
    const pair: [net.Socket, net.Socket] = [down, up];
    this.pairs.add(pair);
    const end = () => {
      this.pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    if (this.rate > 0) {
      this.throttle(down, up, 'up', end);
      this.throttle(up, down, 'down', end);
    } else {
      down.on('data', (c: Buffer) => this.forward('up', c, up, end));
      up.on('data', (c: Buffer) => this.forward('down', c, down, end));
    }
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  private forward(dir: Direction, chunk: Buffer, to: net.Socket, end: () => void): void {
    if (this.mode === 'blackhole') return;
    let c = chunk;
    const limit = this.cutAt[dir];
    if (limit !== undefined && this.bytes[dir] + c.length >= limit) {
      c = c.subarray(0, Math.max(0, limit - this.bytes[dir]));
      this.bytes[dir] += c.length;
      to.write(c, () => end());
      return;
    }
    this.bytes[dir] += c.length;
    if (this.reorder) {
      const first = this.held[dir];
      if (first === undefined) {
        this.held[dir] = c;
        return;
      }
      this.held[dir] = undefined;
      c = Buffer.concat([c, first]);
    }
    if (this.mode === 'delay') setTimeout(() => !to.destroyed && to.write(c), this.delayMs);
    else to.write(c);
  }

  /** Forwards `from` → `to` at `rate` bytes per second (throttle.ts). */
  private throttle(from: net.Socket, to: net.Socket, dir: Direction, end: () => void): void {
    throttle(from, this.rate, (c) => this.forward(dir, c, to, end));
  }

  /** Stops relaying and listening. */
  async close(): Promise<void> {
    relays.delete(this);
    this.cutNow();
    await new Promise((r) => this.server.close(r));
  }
}
