/**
 * Turns a tcpdump capture on loopback (`tcpdump -i lo -w x.pcap`, classic pcap, Ethernet framing) into
 * the JSON of test/bridges/fixtures/yarp: each TCP connection with its server port and the bytes each
 * side sent, in order, consecutive segments of one side merged (`{ "from": "client" | "server", "hex" }`);
 * a connection with a missing segment is an error.
 * Used by scripts/yarp-capture.sh; not part of the suite.
 *
 *   node dist/scripts/yarp-pcap.js capture.pcap > capture.json
 */
import { readFileSync } from 'node:fs';

interface Turn {
  from: 'client' | 'server';
  hex: string;
}
interface Conn {
  clientPort: number;
  serverPort: number;
  turns: Turn[];
  seen: Set<string>;
  next: Partial<Record<'client' | 'server', number>>;
}

function parse(file: string): Conn[] {
  const b = readFileSync(file);
  if (b.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${file} is not a little-endian classic pcap`);
  const conns = new Map<string, Conn>();
  const order: Conn[] = [];
  let pos = 24;
  while (pos + 16 <= b.length) {
    const incl = b.readUInt32LE(pos + 8);
    const pkt = b.subarray(pos + 16, pos + 16 + incl);
    pos += 16 + incl;
    if (pkt.readUInt16BE(12) !== 0x0800) continue; // IPv4 only
    const ip = pkt.subarray(14);
    if (ip[9] !== 6) continue;
    const ihl = (ip[0] & 15) * 4;
    const total = ip.readUInt16BE(2);
    const tcp = ip.subarray(ihl, total);
    const sport = tcp.readUInt16BE(0);
    const dport = tcp.readUInt16BE(2);
    const seq = tcp.readUInt32BE(4);
    const flags = tcp[13];
    const payload = tcp.subarray((tcp[12] >> 4) * 4);
    const key = (a: number, c: number) => `${a}-${c}`;
    if (flags & 0x02 && !(flags & 0x10)) {
      // SYN: a new connection, client sport → server dport.
      const c: Conn = { clientPort: sport, serverPort: dport, turns: [], seen: new Set(), next: {} };
      conns.set(key(sport, dport), c);
      order.push(c);
      continue;
    }
    const c = conns.get(key(sport, dport)) ?? conns.get(key(dport, sport));
    if (!c || payload.length === 0) continue;
    const from = sport === c.clientPort ? 'client' : 'server';
    const id = `${from}:${seq}`;
    if (c.seen.has(id)) continue; // a retransmission
    c.seen.add(id);
    // tcpdump can miss a segment under load: a capture with a hole is useless, say so.
    const expected = c.next[from];
    if (expected !== undefined && seq !== expected)
      throw new Error(`${file}: ${from} ${sport}→${dport} skips from seq ${expected} to ${seq}: capture again`);
    c.next[from] = (seq + payload.length) >>> 0;
    const last = c.turns[c.turns.length - 1];
    if (last && last.from === from) last.hex += payload.toString('hex');
    else c.turns.push({ from, hex: payload.toString('hex') });
  }
  return order;
}

const conns = parse(process.argv[2]).map(({ clientPort, serverPort, turns }) => ({ clientPort, serverPort, turns }));
console.log(JSON.stringify(conns, null, 1));
