/** A TCP relay in front of a server that records every byte the server sends back (what a client receives). */
import net from 'node:net';

export interface Capture {
  /** The relay's URL: connect clients here instead of to the server. */
  readonly url: string;
  /** Everything the server sent through the relay so far. */
  bytes(): Buffer;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 and relays each connection to `host:port`, recording what comes back. */
export async function captureRelay(host: string, port: number): Promise<Capture> {
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((down) => {
    const up = net.connect(port, host);
    for (const s of [up, down]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    down.pipe(up);
    up.on('data', (d: Buffer) => received.push(d));
    up.pipe(down);
    up.on('error', () => down.destroy());
    down.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    url: `tcp://127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
    bytes: () => Buffer.concat(received),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => relay.close(() => r()));
    },
  };
}
