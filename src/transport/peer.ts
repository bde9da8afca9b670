/** Socket addresses as endpoints write them. */
import type net from 'node:net';
import { formatEndpoint, type NetworkEndpoint } from './url.js';

/** An address as endpoints write it: an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as plain IPv4. */
export function plainAddress(address: string | undefined): string {
  return String(address).replace(/^::ffff:(?=\d+\.)/, '');
}

/** The host part of a peer URL (`tcp://1.2.3.4:5` → `1.2.3.4`, `ws://[::1]:80/qi` → `::1`, `xmpp://a@b` → `a@b`). */
export function remoteHost(remote: string): string {
  const host = remote.replace(/^[a-z]+:\/\//, '').replace(/(:\d+)?(\/.*)?$/, '');
  return plainAddress(host.replace(/^\[(.*)\]$/, '$1'));
}

/** The endpoints of both sides of an accepted socket: the peer (`remote`) and the address it reached (`local`). */
export function socketEndpoints(
  socket: net.Socket,
  scheme: NetworkEndpoint['scheme'],
  path?: string,
): { remote: string; local: string } {
  return {
    remote: formatEndpoint({ scheme, host: plainAddress(socket.remoteAddress), port: socket.remotePort ?? 0 }),
    local: formatEndpoint({ scheme, host: plainAddress(socket.localAddress), port: socket.localPort ?? 0, path }),
  };
}
