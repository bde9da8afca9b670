/**
 * The raw socket floor, measured in the same run as the qi figures it is compared with: bare `net` sockets moving
 * frames with the same 28-byte header and the same payload sizes, over TCP loopback or a unix socket, at the same
 * concurrency. It is the cost of moving the bytes, nothing more.
 *
 * - Echo (rpc and gateway benchmarks): {@link serveEchoFloor} runs the server side (in a child process,
 *   `rpc-server.js floor`); {@link FloorClient} and {@link floorRunner} are the client side.
 * - Relay (gateway benchmark): {@link serveRelayFloor} passes bytes between a floor client and the echo server
 *   (`rpc-server.js relay <url>`): the floor of a gateway process.
 * - Push (stream benchmark): {@link servePushFloor} sends frames as fast as the socket takes them;
 *   {@link pushFloorRun} reads them.
 */
import { existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { callbacks, type Runner } from './harness.js';

/** The qi message header's size. */
export const HEADER = 28;

// ---------------------------------------------------------------------------------------------
// Echo: the server side

/**
 * Parses only the 28-byte header (size at offset 8) and echoes every frame back unchanged once it has fully
 * arrived. All frames completed by one `data` chunk go out in one vectored write (cork/uncork around the chunk;
 * runs of whole frames inside the chunk are written as one slice, no copy).
 */
function echoFrames(sock: net.Socket): void {
  sock.setNoDelay?.(true);
  const head = Buffer.allocUnsafe(HEADER);
  let headLen = 0;
  let inFrame = false;
  let need = 0; // bytes still missing from the frame in progress
  let parts: Buffer[] = [];
  sock.on('data', (chunk: Buffer) => {
    sock.cork();
    const n = chunk.length;
    let p = 0;
    let run = -1; // start of a run of whole frames inside this chunk
    const flushRun = (end: number) => {
      if (run >= 0 && end > run) sock.write(chunk.subarray(run, end));
      run = -1;
    };
    while (p < n) {
      if (inFrame) {
        const take = Math.min(need, n - p);
        parts.push(chunk.subarray(p, p + take));
        need -= take;
        p += take;
        if (need === 0) {
          for (const b of parts) sock.write(b);
          parts = [];
          inFrame = false;
        }
        continue;
      }
      if (headLen === 0 && n - p >= HEADER) {
        const total = HEADER + chunk.readUInt32LE(p + 8);
        if (n - p >= total) {
          if (run < 0) run = p;
          p += total;
          continue;
        }
        flushRun(p);
        parts = [chunk.subarray(p)];
        need = total - (n - p);
        inFrame = true;
        p = n;
        continue;
      }
      flushRun(p);
      const take = Math.min(HEADER - headLen, n - p);
      chunk.copy(head, headLen, p, p + take);
      headLen += take;
      p += take;
      if (headLen === HEADER) {
        headLen = 0;
        parts = [Buffer.from(head)];
        need = head.readUInt32LE(8);
        inFrame = need > 0;
        if (!inFrame) {
          sock.write(parts[0]);
          parts = [];
        }
      }
    }
    flushRun(n);
    sock.uncork();
  });
  sock.on('error', () => sock.destroy());
}

function listenNet(server: net.Server, opts: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts, () => resolve());
  });
}

/** Echo servers on tcp://127.0.0.1:0 and on unix:<sockPath>: their URLs, and how to close them. */
export async function serveEchoFloor(sockPath: string): Promise<{ tcp: string; unix: string; close(): void }> {
  const tcp = net.createServer(echoFrames);
  const unix = net.createServer(echoFrames);
  await listenNet(tcp, { host: '127.0.0.1', port: 0 });
  if (existsSync(sockPath)) unlinkSync(sockPath);
  await listenNet(unix, { path: sockPath });
  const port = (tcp.address() as net.AddressInfo).port;
  return {
    tcp: `tcp://127.0.0.1:${port}`,
    unix: `unix:${sockPath}`,
    close: () => {
      tcp.close();
      unix.close();
    },
  };
}

/**
 * The relay floor: the cheapest process any proxy could be. A server on tcp://127.0.0.1:0 that, for each client,
 * connects to `target` (a `tcp://` URL) and passes every chunk read on one side to the other as it is, in one write
 * (no framing, no copy). What it costs between the floor client and the floor echo server is what a gateway process
 * on the path costs at best: its reads, writes and wake-ups. Resolves with its URL and how to close it.
 */
export async function serveRelayFloor(target: string): Promise<{ tcp: string; close(): void }> {
  const port = Number(new URL(target).port);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((outside) => {
    const inside = net.connect({ host: '127.0.0.1', port });
    for (const [from, to] of [
      [outside, inside],
      [inside, outside],
    ]) {
      sockets.add(from);
      from.setNoDelay(true);
      from.on('data', (c: Buffer) => void to.write(c));
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await listenNet(server, { host: '127.0.0.1', port: 0 });
  return {
    tcp: `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Echo: the client side

/**
 * Same framing; writes of one tick batched as MessageStream does (small frames joined into one write per tick, big
 * ones written as they are); replies counted by parsing the header only. Callbacks, no promises. Reads go where
 * ours do (`DirectRead`, Node's `onread`): small replies into one reused buffer, and the rest of a large reply
 * (16 KiB or more missing) straight into a buffer of its own size, allocated once its header is in, as a client
 * that keeps the payload must: no buffer per read, no copy of what is read directly.
 */
export class FloorClient {
  private readonly queue: Array<() => void> = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private id = 0;
  private readonly head = Buffer.allocUnsafe(HEADER);
  private headLen = 0;
  private need = 0; // bytes missing from the reply body in progress
  private readonly pool = Buffer.allocUnsafe(64 * 1024);
  /** The final buffer of the large reply in progress, and whether the last read went into it. */
  private target: Buffer | null = null;
  private direct = false;
  private socket!: net.Socket;

  private constructor() {}

  /** The `onread` option: where the next read lands, and what came. */
  private readonly onread = {
    buffer: (): Buffer => {
      const t = this.target;
      this.direct = t !== null;
      return t === null ? this.pool : t.subarray(t.length - this.need);
    },
    callback: (n: number, buf: Uint8Array): boolean => {
      if (!this.direct) this.onData(buf as Buffer, n);
      else if ((this.need -= n) === 0) {
        this.target = null;
        this.complete();
      }
      return true;
    },
  };

  /** Connects to `tcp://127.0.0.1:<port>` or `unix:<path>`. */
  static connect(url: string): Promise<FloorClient> {
    const c = new FloorClient();
    return new Promise((resolve, reject) => {
      const onread = c.onread;
      const s = url.startsWith('unix:')
        ? net.connect({ path: url.slice(5), onread })
        : net.connect({ host: '127.0.0.1', port: Number(new URL(url).port), onread });
      c.socket = s;
      s.setNoDelay?.(true);
      s.once('error', reject);
      s.once('connect', () => {
        s.removeListener('error', reject);
        s.on('error', () => {});
        resolve(c);
      });
    });
  }

  private readonly flush = () => {
    const out = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (out.length === 1) this.socket.write(out[0]);
    else if (bytes <= 64 * 1024) this.socket.write(Buffer.concat(out, bytes));
    else {
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
  };

  private write(b: Buffer): void {
    if (this.pending.length === 0) process.nextTick(this.flush);
    this.pending.push(b);
    this.pendingBytes += b.length;
  }

  /** Sends one frame carrying `payload`; `done` runs when its echo has fully arrived. */
  call(payload: Buffer, done: () => void): void {
    const small = payload.length <= 16 * 1024;
    const b = Buffer.allocUnsafe(small ? HEADER + payload.length : HEADER);
    b.writeUInt32BE(0x42dead42, 0);
    b.writeUInt32LE(++this.id >>> 0, 4);
    b.writeUInt32LE(payload.length, 8);
    b.writeUInt16LE(0, 12); // version
    b[14] = 1; // Call
    b[15] = 0;
    b.writeUInt32LE(2, 16); // service
    b.writeUInt32LE(1, 20); // object
    b.writeUInt32LE(100, 24); // action
    if (small) {
      payload.copy(b, HEADER);
      this.write(b);
    } else {
      this.write(b);
      this.write(payload);
    }
    this.queue.push(done);
  }

  private complete(): void {
    this.queue.shift()!();
  }

  /** Counts the replies completed by `chunk[0, n)`; a large one still missing 16 KiB or more gets its own buffer. */
  private onData(chunk: Buffer, n: number): void {
    let p = 0;
    while (p < n) {
      if (this.need > 0) {
        const take = Math.min(this.need, n - p);
        this.need -= take;
        p += take;
        if (this.need === 0) this.complete();
        continue;
      }
      if (this.headLen === 0 && n - p >= HEADER) {
        const size = chunk.readUInt32LE(p + 8);
        p += HEADER;
        if (n - p >= size) {
          p += size;
          this.complete();
        } else {
          this.startBody(size, chunk, p, n);
          p = n;
        }
        continue;
      }
      const take = Math.min(HEADER - this.headLen, n - p);
      chunk.copy(this.head, this.headLen, p, p + take);
      this.headLen += take;
      p += take;
      if (this.headLen === HEADER) {
        this.headLen = 0;
        const size = this.head.readUInt32LE(8);
        if (size === 0) this.complete();
        else if (n - p >= size)
          this.need = size; // the body is in this chunk: counted by the loop
        else {
          this.startBody(size, chunk, p, n);
          p = n;
        }
      }
    }
  }

  /** A reply body of `size` bytes starts at `chunk[p, n)` and goes past it. */
  private startBody(size: number, chunk: Buffer, p: number, n: number): void {
    this.need = size - (n - p);
    if (this.need < 16 * 1024) return;
    this.target = Buffer.allocUnsafe(size);
    chunk.copy(this.target, 0, p, n);
  }

  /** Closes the socket. */
  close(): void {
    this.socket.destroy();
  }
}

/** `k` echoes of `payload` outstanding on `c`, each completion sending the next. */
export const floorRunner = (c: FloorClient, payload: Buffer, k: number): Runner =>
  callbacks((done) => c.call(payload, done), k);

// ---------------------------------------------------------------------------------------------
// Push: one-way frames as fast as the socket takes them

/**
 * A server on 127.0.0.1:0: each client sends the chunk size (uint32 LE) and then receives frames of that size with
 * the 28-byte header until it leaves, with no acknowledgement and no flow control but TCP's. Frames are joined up
 * to 64 KiB per write, as the qi transport batches small messages; up to 4 MiB are queued in the socket before
 * waiting for it to drain, so that the kernel never runs dry. Resolves with its port.
 */
export async function servePushFloor(): Promise<number> {
  const floor = net.createServer((sock) => {
    sock.setNoDelay(true);
    sock.on('error', () => {});
    sock.once('data', (req) => {
      const size = req.readUInt32LE(0);
      const frame = Buffer.alloc(HEADER + size, 7);
      const per = Math.max(1, Math.floor(65_536 / frame.length));
      const block = Buffer.concat(Array.from({ length: per }, () => frame));
      const pump = () => {
        while (!sock.destroyed) {
          sock.write(block);
          if (sock.writableLength > 4 * 1024 * 1024) return void sock.once('drain', pump);
        }
      };
      pump();
    });
  });
  await listenNet(floor, { host: '127.0.0.1', port: 0 });
  return (floor.address() as net.AddressInfo).port;
}

/** Chunks read in some time. */
export interface Run {
  chunks: number;
  seconds: number;
}

/** Reads frames of `size` from the push floor at `port` for `ms` from the first bytes on. */
export function pushFloorRun(port: number, size: number, ms: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let bytes = 0;
    let t0 = 0;
    s.on('error', reject);
    s.on('connect', () => {
      const req = Buffer.alloc(4);
      req.writeUInt32LE(size);
      s.write(req);
    });
    s.on('data', (c: Buffer) => {
      const now = performance.now();
      if (t0 === 0) t0 = now;
      else bytes += c.length;
      if (now - t0 >= ms) {
        s.destroy();
        resolve({ chunks: bytes / (HEADER + size), seconds: (now - t0) / 1000 });
      }
    });
  });
}
