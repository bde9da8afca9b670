/**
 * A DNS server for tests: answers A and SRV questions for the records it is given (from no system
 * file), "no such name" for other names and an empty answer for other types of a known name. It
 * listens on UDP port 53 (a resolv.conf cannot name another port) of a loopback address of its own
 * (127.53.x.y), so that a server told to use it through a resolv.conf (test/helpers/federation.ts)
 * asks it and nothing else. It runs in a worker thread: it answers while the test's thread waits for a
 * child process (prosodyctl, ejabberdctl). Packets are read and written with the `dns-packet` package.
 */
import dgram from 'node:dgram';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import dnsPacket from 'dns-packet';

/** What the server answers: `a` maps a name to its IPv4 address, `srv` a service name to its target and port. */
export interface DnsRecords {
  a: Record<string, string>;
  srv: Record<string, { target: string; port: number }>;
}

/** A running DNS server. */
export interface Dns {
  /** The loopback address it listens on (UDP port 53). */
  readonly address: string;
  /** Questions asked so far (`name TYPE`), for diagnostics. */
  asked(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts the server on a free 127.53.x.y:53; rejects when none can be bound (not root). */
export async function startDns(records: DnsRecords): Promise<Dns> {
  const w = new Worker(new URL(import.meta.url), { workerData: records });
  w.unref();
  const address = await new Promise<string>((resolve, reject) => {
    w.once('message', (m: { address?: string; error?: string }) =>
      m.address !== undefined ? resolve(m.address) : reject(new Error(m.error)),
    );
    w.once('error', reject);
  });
  return {
    address,
    asked: () =>
      new Promise((resolve) => {
        w.once('message', resolve);
        w.postMessage('asked');
      }),
    stop: async () => void (await w.terminate()),
  };
}

/** The answer to one query. */
function answer(records: DnsRecords, query: Buffer): Buffer {
  const q = dnsPacket.decode(query);
  const question = q.questions?.[0];
  const name = question?.name.toLowerCase() ?? '';
  const answers: dnsPacket.Answer[] = [];
  if (question?.type === 'A' && records.a[name] !== undefined)
    answers.push({ type: 'A', name: question.name, ttl: 60, data: records.a[name] });
  const srv = records.srv[name];
  if (question?.type === 'SRV' && srv !== undefined)
    answers.push({
      type: 'SRV',
      name: question.name,
      ttl: 60,
      data: { priority: 0, weight: 0, port: srv.port, target: srv.target },
    });
  const known = records.a[name] !== undefined || srv !== undefined;
  const NXDOMAIN = 3;
  return dnsPacket.encode({
    type: 'response',
    id: q.id,
    // RD copied from the query, as servers do (Erlang's resolver drops answers that differ).
    flags: dnsPacket.AUTHORITATIVE_ANSWER | ((q.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | (known ? 0 : NXDOMAIN),
    questions: q.questions,
    answers,
  });
}

async function serve(records: DnsRecords): Promise<void> {
  const asked: string[] = [];
  let lastError = '';
  for (let i = 0; i < 20; i++) {
    const address = `127.53.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
    const s = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      const onError = (e: Error) => ((lastError = e.message), resolve(false));
      s.once('error', onError);
      s.bind(53, address, () => (s.off('error', onError), resolve(true)));
    });
    if (!bound) continue;
    s.on('message', (query, from) => {
      try {
        const q = dnsPacket.decode(query).questions?.[0];
        asked.push(`${q?.name} ${q?.type}`);
        s.send(answer(records, query), from.port, from.address);
      } catch {
        // not a DNS query: no answer
      }
    });
    parentPort!.on('message', () => parentPort!.postMessage(asked));
    parentPort!.postMessage({ address });
    return;
  }
  parentPort!.postMessage({ error: `no loopback address to run a DNS server on port 53 (${lastError})` });
}

if (!isMainThread && parentPort !== null) await serve(workerData as DnsRecords);
