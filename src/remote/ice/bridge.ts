/**
 * A private local endpoint in front of a link, so that a {@link Session} (which dials URLs) can use
 * it: a unix socket in a directory only this user may enter; each connection made to it is carried
 * by a DataChannel of its own. The endpoint exists while the link does.
 */
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

/** A listening bridge. */
export interface Bridge {
  /** The endpoint to dial: `unix:/…/ice-<id>.sock`. */
  url: string;
  close(): Promise<void>;
}

/** Listens on a fresh unix socket; `open` gives the byte stream each connection is joined to. */
export async function listenBridge(id: string, open: () => Promise<Duplex>): Promise<Bridge> {
  const dir = join(tmpdir(), `qi-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `ice-${id}.sock`);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.pause();
    open().then(
      (remote) => {
        if (socket.destroyed) return void remote.destroy();
        // Both directions keep their own backpressure; either end closing closes the other.
        socket.pipe(remote);
        remote.pipe(socket);
        remote.once('close', () => socket.destroy());
        socket.once('close', () => remote.destroy());
        socket.on('error', () => remote.destroy());
        remote.on('error', () => socket.destroy());
        socket.resume();
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    url: `unix:${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        rmSync(path, { force: true });
      }),
  };
}
