/**
 * A quick check that the STUN/TURN servers answer, before the ICE library is given them: werift waits
 * up to about 13 s for a server that never answers before it starts the connectivity checks, which
 * would hold every link (even one that could go direct) for that long. A server that does not answer
 * a STUN Binding request (UDP) or a TCP connection within the probe's time is left out, and the link
 * says so.
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { describeIceServer, type IceServer } from './servers.js';

/** The servers that answered, and a sentence for each that did not. */
export interface ProbeResult {
  usable: IceServer[];
  unreachable: string[];
}

const MAGIC = Buffer.from([0x21, 0x12, 0xa4, 0x42]);

/** True when the server answers a STUN Binding request (any answer: success or error) within `timeoutMs`. */
function answersUdp(s: IceServer, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket(s.host.includes(':') ? 'udp6' : 'udp4');
    const tx = randomBytes(12);
    const request = Buffer.concat([Buffer.from([0, 1, 0, 0]), MAGIC, tx]);
    const timers: NodeJS.Timeout[] = [];
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      for (const t of timers) clearTimeout(t);
      socket.close();
      resolve(ok);
    };
    socket.on('error', () => finish(false));
    socket.on('message', (m) => {
      // A STUN response (class success or error) to our transaction.
      if (m.length >= 20 && (m[0] & 0xc0) === 0 && m.subarray(4, 8).equals(MAGIC) && m.subarray(8, 20).equals(tx))
        finish(true);
    });
    const send = () => !done && socket.send(request, s.port, s.host, (e) => e && finish(false));
    // Retransmissions as RFC 5389 would, compressed into the probe's time.
    for (const at of [0, 0.15, 0.4].map((f) => f * timeoutMs)) timers.push(setTimeout(send, at));
    timers.push(setTimeout(() => finish(false), timeoutMs));
  });
}

/** True when a TCP connection to the server opens within `timeoutMs`. */
function answersTcp(s: IceServer, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: s.host, port: s.port });
    const timer = setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean) {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    }
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** Probes every server at once; see the module comment. */
export async function probeServers(servers: IceServer[], timeoutMs = 1500): Promise<ProbeResult> {
  const answers = await Promise.all(
    servers.map((s) =>
      s.kind === 'stun' || s.transport === 'udp' ? answersUdp(s, timeoutMs) : answersTcp(s, timeoutMs),
    ),
  );
  return {
    usable: servers.filter((_, i) => answers[i]),
    unreachable: servers
      .filter((_, i) => !answers[i])
      .map((s) => `${describeIceServer(s)} did not answer within ${timeoutMs} ms`),
  };
}
