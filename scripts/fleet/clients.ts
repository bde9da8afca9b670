/**
 * The clients process of the fleet simulator: M clients, each its own XMPP account, calling random
 * robots (50 sequential calls per visit, sessions kept open up to 8 per client) and watching each
 * robot's `tick` signal for gaps; or the same calls over TCP, straight to the robot processes' gateways.
 */
import { Session, type AnyProxy } from '../../src/index.js';
import { closeXmppLinks } from '../../src/remote/index.js';
import { quantile } from '../../bench/harness.js';
import {
  CALLS_PER_VISIT,
  SESSIONS_PER_CLIENT,
  usage,
  type CallFigures,
  type FromClients,
  type ToClients,
} from './spec.js';

interface Visit {
  session: Session;
  fleet: AnyProxy;
  last?: number;
}

const send = (m: FromClients) => process.send!(m);
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)];

export async function runClients(a: {
  service: string;
  domain: string;
  clients: string[];
  robots: string[];
  gateways: string[];
}): Promise<void> {
  async function phase(via: 'xmpp' | 'tcp', seconds: number): Promise<CallFigures> {
    const end = Date.now() + seconds * 1000;
    const lat: number[] = [];
    const opens: number[] = [];
    const errors = new Map<string, number>();
    let failed = 0;
    let ticks = 0;
    let gaps = 0;
    const fail = (e: unknown) => {
      failed++;
      const k = String((e as Error).message ?? e).slice(0, 160);
      errors.set(k, (errors.get(k) ?? 0) + 1);
    };
    async function open(client: string, target: string): Promise<Visit> {
      const t0 = performance.now();
      const options =
        via === 'xmpp'
          ? {
              transports: {
                xmpp: {
                  service: a.service,
                  jid: `${client}@${a.domain}`,
                  password: `${client}-pw`,
                  bytestreams: 'ibb',
                },
              },
              reconnect: false,
            }
          : { ipc: false, lpc: false, reconnect: false };
      const url = via === 'xmpp' ? `xmpp://${target}@${a.domain}` : target;
      const session = await Session.connect(url, options);
      const fleet = (await session.service('Fleet')) as AnyProxy;
      const v: Visit = { session, fleet };
      await (fleet.tick as { connect(f: (n: number) => void): Promise<unknown> }).connect((n: number) => {
        ticks++;
        if (v.last !== undefined && n !== v.last + 1) gaps += Math.max(0, n - v.last - 1);
        v.last = n;
      });
      opens.push(performance.now() - t0);
      return v;
    }
    await Promise.all(
      a.clients.map(async (client) => {
        const open_ = new Map<string, Visit>();
        while (Date.now() < end) {
          const target = pick(via === 'xmpp' ? a.robots : a.gateways);
          let v = open_.get(target);
          try {
            if (v === undefined) {
              if (open_.size >= SESSIONS_PER_CLIENT) {
                const [oldest, ov] = open_.entries().next().value as [string, Visit];
                open_.delete(oldest);
                await ov.session.close();
              }
              v = await open(client, target);
            } else open_.delete(target);
            open_.set(target, v);
            for (let i = 0; i < CALLS_PER_VISIT && Date.now() < end; i++) {
              const t0 = performance.now();
              await (v.fleet.add as (x: number, y: number, o: object) => Promise<number>)(i, 1, { timeoutMs: 10_000 });
              lat.push(performance.now() - t0);
            }
          } catch (e) {
            fail(e);
            if (v !== undefined) {
              open_.delete(target);
              await v.session.close().catch(() => {});
            }
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        await Promise.allSettled([...open_.values()].map((x) => x.session.close()));
      }),
    );
    if (via === 'xmpp') await closeXmppLinks();
    return {
      calls: lat.length,
      failed,
      seconds,
      p50: lat.length ? quantile(lat, 0.5) : NaN,
      p99: lat.length ? quantile(lat, 0.99) : NaN,
      sessionsOpened: opens.length,
      openP50: opens.length ? quantile(opens, 0.5) : NaN,
      ticks,
      gaps,
      errors: [...errors].map(([k, n]) => `${n}x ${k}`).slice(0, 5),
    };
  }
  process.on('message', (m: ToClients) => {
    if (m.type === 'calls') void phase(m.via, m.seconds).then((figures) => send({ type: 'calls', figures }));
    else if (m.type === 'usage') send({ type: 'usage', usage: usage() });
    else process.exit(0);
  });
  send({ type: 'ready' });
}
