/**
 * A lossy, slow UDP path for bench/media.bench.ts, in a process of its own: for each pair of peers
 * (a's loopback port `a`) it opens two sockets, `ra` standing for a and `rb` standing for b, and
 * forwards what b sends to ra on to a from rb, and what a sends to rb on to b (the port ra last heard
 * b from) from ra, each datagram dropped with probability `--loss` and delayed by `--delay` ms (in
 * order). The bench writes ra and rb into the SDPs in place of a's and b's ports, so ICE checks, DTLS,
 * SCTP and RTP all take this path.
 *
 * (The kernel here has no netem qdisc, CONFIG_NET_SCH_NETEM unset: this stands in for
 * `tc qdisc add dev lo root netem delay 20ms loss 1%`.)
 */
import { createSocket, type Socket } from 'node:dgram';
import { num } from './harness.js';

const LOSS = num('loss', 0);
const DELAY = num('delay', 0);

function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

/** Forwards datagrams that `from` receives to `port()`, sent from `via`. */
function forward(from: Socket, via: Socket, port: () => number | undefined, heard?: (port: number) => void): void {
  from.on('message', (m, rinfo) => {
    heard?.(rinfo.port);
    const to = port();
    if (to === undefined || Math.random() < LOSS) return;
    if (DELAY === 0) via.send(m, to, '127.0.0.1');
    else setTimeout(() => via.send(m, to, '127.0.0.1'), DELAY);
  });
}

process.on('message', (msg: { a: number }) => {
  void (async () => {
    const ra = await bound();
    const rb = await bound();
    let b: number | undefined;
    forward(
      ra,
      rb,
      () => msg.a,
      (port) => (b = port),
    ); // b → "a": delivered to a as coming from "b"
    forward(rb, ra, () => b);
    process.send!({ ra: ra.address().port, rb: rb.address().port });
  })();
});
process.on('disconnect', () => process.exit(0));
