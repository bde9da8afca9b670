/** Socket helpers for tests: a listener that is closed at the end, and scripted raw peers. */
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

/** A loopback TCP port that was free a moment ago (for servers that must be restarted on the same port). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
