/** Socket helpers for tests: a listener that is closed at the end, and scripted raw peers. */
import fs from 'node:fs';
import net from 'node:net';
import { after } from 'node:test';
import {
  FrameReader,
  listen,
  type ListenOptions,
  type Listener,
  type Message,
  type MessageStream,
} from '../../src/wire.js';

const open: { close(): unknown }[] = [];
after(async () => {
  await Promise.all(open.map((x) => x.close()));
});

/** Listens on tcp://127.0.0.1:0; every accepted stream goes to `onStream`. Closed after the file's tests. */
export async function loopbackListener(
  onStream: (s: MessageStream) => void,
  url = 'tcp://127.0.0.1:0',
  options?: ListenOptions,
): Promise<Listener> {
  const l = await listen(url, onStream, options);
  open.push(l);
  return l;
}

/** A raw TCP peer speaking bytes we script, reading back whole messages. */
export class RawPeer {
  readonly messages: Message[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  constructor(readonly socket: net.Socket) {
    const reader = new FrameReader((m) => {
      this.messages.push(m);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('data', (c) => reader.push(c));
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  /** Waits until `n` messages have arrived (or the socket closed), at most `ms`. */
  async waitFor(n: number, ms = 3000): Promise<Message[]> {
    const deadline = Date.now() + ms;
    while (this.messages.length < n && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`waited ${ms} ms for ${n} messages, got ${this.messages.length}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
    return this.messages;
  }

  /** Waits for the socket to close, at most `ms`. */
  async waitClosed(ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the peer did not close the connection');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** A raw TCP server: each connection is handed to `script` as a RawPeer. */
export async function rawServer(
  script: (peer: RawPeer) => void | Promise<void>,
): Promise<{ port: number; url: string }> {
  const server = net.createServer((s) => void script(new RawPeer(s)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => new Promise((r) => server.close(r)) });
  const port = (server.address() as net.AddressInfo).port;
  return { port, url: `tcp://127.0.0.1:${port}` };
}

/**
 * A loopback TCP port that was free a moment ago on `host` (for servers that must be restarted on the same
 * port, and for addresses where nothing must listen).
 * Chosen below the kernel's ephemeral range: a port from that range can be taken in the meantime by any
 * outgoing connection (as its source port) or by a server on port 0 in a test running beside, and the
 * server that later listens there fails with EADDRINUSE.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const low = ephemeralLow();
  const from = Math.max(1024, Math.min(20_000, low - 4096));
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * (low - from));
    if (await canListen(port, host)) return port;
  }
  throw new Error(`freePort: no free port found in ${from}-${low - 1} after 50 tries`);
}

function ephemeralLow(): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return low > 2048 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number, host: string): Promise<boolean> {
  const s = net.createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}
