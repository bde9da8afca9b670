/**
 * What real YARP sent and answered (test/bridges/fixtures/yarp, captured by scripts/yarp-capture.sh), and
 * a name server that answers as the captured yarpserver did, for the suite (YARP is not in Debian).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

/** One TCP connection of a capture: the bytes each side sent, in order. */
export interface CapturedConn {
  clientPort: number;
  serverPort: number;
  turns: { from: 'client' | 'server'; bytes: Buffer }[];
}

const dir = fileURLToPath(new URL('../../../test/bridges/fixtures/yarp/', import.meta.url));

/** The connections of the capture `name` (`write-read`, `rpc`…). */
export function capture(name: string): CapturedConn[] {
  const raw = JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as {
    clientPort: number;
    serverPort: number;
    turns: { from: 'client' | 'server'; hex: string }[];
  }[];
  return raw.map((c) => ({ ...c, turns: c.turns.map((t) => ({ from: t.from, bytes: Buffer.from(t.hex, 'hex') })) }));
}

/** The first connection whose client opened with bytes starting with `start` (latin1). */
export function connStarting(conns: CapturedConn[], start: string | Buffer): CapturedConn {
  const prefix = typeof start === 'string' ? Buffer.from(start, 'latin1') : start;
  const c = conns.find(
    (x) => x.turns[0]?.from === 'client' && x.turns[0].bytes.subarray(0, prefix.length).equals(prefix),
  );
  if (!c) throw new Error(`no captured connection starts with ${JSON.stringify(prefix.toString('latin1'))}`);
  return c;
}

/** Every name-server exchange of the captures `names`: request line → exact answer. */
export function nameServerAnswers(...names: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const n of names)
    for (const c of capture(n)) {
      const [q, a] = c.turns;
      const key = q?.bytes.toString('latin1') ?? '';
      if (c.serverPort === 10000 && a?.from === 'server' && !out.has(key)) out.set(key, a.bytes);
    }
  return out;
}

const END = '*** end of message\r\n';

/**
 * A YARP name server for tests, answering the text commands (`NAME_SERVER register|unregister|query|
 * list|set|announce …`) in the form the captured yarpserver used: `registration name … type tcp` lines,
 * then `*** end of message`, lines ending in CR LF. Ports it allocates start at 10002, as yarpserver's.
 */
export class FakeNameServer {
  readonly table = new Map<string, { host: string; port: number; carrier: string }>();
  /** Every command line received. */
  readonly commands: string[] = [];
  private next = 10002;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server) {}

  static async start(): Promise<FakeNameServer> {
    const server = net.createServer();
    const ns = new FakeNameServer(server);
    server.on('connection', (s) => ns.serve(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return ns;
  }

  /** `host:port`, as given to `--yarp`. */
  get address(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  private line(name: string): string {
    const r = this.table.get(name)!;
    return `registration name ${name} ip ${r.host} port ${r.port} type ${r.carrier}\r\n`;
  }

  /** The answer to one command line (without `NAME_SERVER `). */
  answer(command: string): string {
    const w = command.trim().split(/\s+/);
    switch (w[0]) {
      case 'register': {
        const port = w[4] === undefined || w[4] === '...' ? this.next++ : Number(w[4]);
        this.table.set(w[1], { carrier: w[2] ?? 'tcp', host: w[3] && w[3] !== '...' ? w[3] : '127.0.0.1', port });
        return this.line(w[1]) + END;
      }
      case 'unregister':
        this.table.delete(w[1]);
        return END;
      case 'query':
        return (this.table.has(w[1]) ? this.line(w[1]) : '') + END;
      case 'list':
        return [...this.table.keys()].map((n) => this.line(n)).join('') + END;
      case 'set':
        return `port ${w[1]} property ${w[2]} = ${w.slice(3).join(' ')}\r\n${END}`;
      case 'announce':
        return '[ok]\r\n';
      default:
        return END;
    }
  }

  private serve(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl).replace(/\r$/, '');
      const command = line.replace(/^NAME_SERVER /, '');
      this.commands.push(command);
      s.end(this.answer(command));
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A raw TCP client: send bytes, read what comes back. */
export class RawPeer {
  private data = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d) => {
      this.data = Buffer.concat([this.data, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPeer(socket);
  }

  /** A peer around an accepted socket. */
  static of(socket: net.Socket): RawPeer {
    return new RawPeer(socket);
  }

  send(b: Buffer | string): void {
    this.socket.write(b);
  }

  /** Exactly `n` bytes (within `ms`). */
  async read(n: number, ms = 3000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (this.data.length < n) {
      if (this.closed) throw new Error(`the peer closed after ${this.data.length} of ${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.data.length} of ${n} bytes within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const out = this.data.subarray(0, n);
    this.data = this.data.subarray(n);
    return out;
  }

  /** Everything up to and including the first `end` (within `ms`). */
  async readUntil(end: string, ms = 3000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    for (;;) {
      const at = this.data.indexOf(end, 0, 'latin1');
      if (at >= 0) return this.read(at + end.length);
      const left = deadline - Date.now();
      if (this.closed || left <= 0) throw new Error(`no ${JSON.stringify(end)} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves when the peer closes (within `ms`), with what it sent and was not read. */
  async closedWithin(ms = 3000): Promise<Buffer> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the connection is still open after ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.data;
  }

  close(): void {
    this.socket.destroy();
  }
}
