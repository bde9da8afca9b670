/**
 * How many bytes the kernel still holds for a TCP peer (sent and not yet acknowledged, or not sent yet),
 * read from Linux's /proc/net/tcp and tcp6. The heartbeat reads it when nothing else moved: a large
 * message whose bytes all left our process is still crossing a slow link while this number goes down.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';

/** What is read of a socket: a net.Socket or tls.TLSSocket has all four once connected. */
export interface TcpEnds {
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
}

const LINUX_LE = process.platform === 'linux' && endianness() === 'LE';

/** The 16 bytes of an IPv6 address (`::ffff:1.2.3.4` and zones accepted), or undefined. */
function ipv6Bytes(text: string): number[] | undefined {
  let s = text.replace(/%.*$/, '');
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    s = `${s.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split('::');
  const groups = (x: string | undefined) => (x ? x.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (all.length !== 8) return undefined;
  return all.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** An address as /proc/net/tcp{,6} prints it on a little-endian machine (each 32-bit word byte-reversed). */
function procAddress(address: string): { file: string; hex: string } | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const bytes = v4 ? v4.slice(1).map(Number) : ipv6Bytes(address);
  if (bytes === undefined) return undefined;
  const words: string[] = [];
  for (let i = 0; i < bytes.length; i += 4)
    words.push(
      bytes
        .slice(i, i + 4)
        .reverse()
        .map((b) => b.toString(16).padStart(2, '0'))
        .join(''),
    );
  return { file: v4 ? '/proc/net/tcp' : '/proc/net/tcp6', hex: words.join('').toUpperCase() };
}

const hex4 = (port: number) => port.toString(16).toUpperCase().padStart(4, '0');

/**
 * The bytes the kernel holds for the peer of `socket` (tx_queue), or undefined when it cannot tell (not
 * Linux, not a TCP socket, the connection gone). Reads a file of every TCP socket of the network
 * namespace: call it now and then, not per message.
 */
export function kernelSendQueue(socket: TcpEnds): number | undefined {
  const { localPort, remoteAddress, remotePort } = socket;
  if (!LINUX_LE || localPort === undefined || remoteAddress === undefined || remotePort === undefined) return undefined;
  const remote = procAddress(remoteAddress);
  if (remote === undefined) return undefined;
  const local = `:${hex4(localPort)}`;
  const peer = ` ${remote.hex}:${hex4(remotePort)} `;
  let text: string;
  try {
    text = readFileSync(remote.file, 'latin1');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const at = line.indexOf(peer);
    if (at < 5 || line.slice(at - 5, at) !== local) continue;
    // after the remote address: state, then tx_queue:rx_queue
    const queues = line.slice(at + peer.length).split(/\s+/)[1];
    return parseInt(queues.split(':')[0], 16);
  }
  return undefined;
}
