/**
 * What the kernel knows of a TCP connection's peer, read from Linux's /proc/net/tcp and tcp6: the bytes it
 * still holds for the peer (sent and not yet acknowledged, or not sent yet), and how many times in a row
 * it resent them without an acknowledgement. The heartbeat reads it when nothing else moved: a large
 * message whose bytes all left our process is still crossing a slow link while the first goes down; a
 * peer whose address went away acknowledges nothing, and the second climbs (its wait doubling each time).
 */
import { readFileSync } from 'node:fs';

/** What is read of a socket: a net.Socket or tls.TLSSocket has all four once connected. */
export interface TcpEnds {
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
}

/** /proc prints addresses as the machine's words: read here on little-endian Linux only. */
const LINUX_LE = process.platform === 'linux' && new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

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

/** What {@link kernelTcp} reads of a connection. */
export interface KernelTcp {
  /** Bytes held for the peer: sent and not acknowledged, or not sent yet (tx_queue). */
  queued: number;
  /** Retransmission timeouts in a row without an acknowledgement (retrnsmt; 0 once the peer acknowledges). */
  retransmits: number;
}

/** The last read of each file, reused for a moment: many connections checked in one tick read it once. */
const lastRead = new Map<string, { at: number; text: string }>();
const REUSE_MS = 200;

function readProc(file: string): string | undefined {
  const now = Date.now();
  const last = lastRead.get(file);
  if (last !== undefined && now - last.at < REUSE_MS) return last.text;
  try {
    const text = readFileSync(file, 'latin1');
    lastRead.set(file, { at: now, text });
    return text;
  } catch {
    return undefined;
  }
}

/**
 * What the kernel knows of the connection of `socket` (see {@link KernelTcp}), or undefined when it
 * cannot tell (not Linux, not a TCP socket, the connection gone). Reads a file listing every TCP socket
 * of the network namespace (reused for 200 ms): call it now and then, not per message.
 */
export function kernelTcp(socket: TcpEnds): KernelTcp | undefined {
  const { localPort, remoteAddress, remotePort } = socket;
  if (!LINUX_LE || localPort === undefined || remoteAddress === undefined || remotePort === undefined) return undefined;
  const remote = procAddress(remoteAddress);
  if (remote === undefined) return undefined;
  const local = `:${hex4(localPort)}`;
  const peer = ` ${remote.hex}:${hex4(remotePort)} `;
  const text = readProc(remote.file);
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const at = line.indexOf(peer);
    if (at < 5 || line.slice(at - 5, at) !== local) continue;
    // after the remote address: st, tx_queue:rx_queue, tr:tm->when, retrnsmt (all hex)
    const [, queues, , retrnsmt] = line.slice(at + peer.length).split(/\s+/);
    return { queued: parseInt(queues.split(':')[0], 16), retransmits: parseInt(retrnsmt, 16) };
  }
  return undefined;
}
