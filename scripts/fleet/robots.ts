/**
 * A robot process of the fleet simulator: one ServiceDirectory with the small `Fleet` service, one
 * gateway (also on TCP, for the comparison), and one XMPP robot ({@link XmppGateway}) per name given,
 * each with its own account, presence and sessions. Churn: the coordinator names a robot whose TCP
 * connection to the server is cut (a network blip); its keeper logs it in again.
 */
import { Gateway, LocalObject, listenStandalone } from '../../src/index.js';
import { XmppGateway } from '../../src/remote/index.js';
import { FleetService, LOGINS_IN_FLIGHT, TICK_MS, usage, type FromRobots, type ToRobots } from './spec.js';

const send = (m: FromRobots) => process.send!(m);

export async function runRobots(a: {
  service: string;
  domain: string;
  names: string[];
  allow: string[];
}): Promise<void> {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  const fleet = new LocalObject(FleetService, { add: async (x, y) => x + y });
  await sd.registerService('Fleet', fleet);
  let seq = 0;
  const ticker = setInterval(() => fleet.emit('tick', seq++), TICK_MS);
  const gw = await Gateway.start({
    sd: sd.endpoints[0],
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
    log: () => {}, // sessions ended by churn are expected here, and counted by the clients
  });
  const before = usage();
  const t0 = Date.now();
  const robots = new Map<string, XmppGateway>();
  const failed: string[] = [];
  const retried: string[] = [];
  let refused = 0;
  const queue = [...a.names];
  await Promise.all(
    Array.from({ length: Math.min(LOGINS_IN_FLIGHT, queue.length) }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        try {
          const r = await XmppGateway.start({
            account: { service: a.service, jid: `${name}@${a.domain}`, password: `${name}-pw` },
            allow: a.allow,
            gateway: gw,
            identity: { model: 'fleet-sim' },
            onRefused: () => refused++,
            // As `qi xmpp-gateway` does: a robot keeps trying while its server is too busy to answer.
            waitForServer: true,
            onRetry: (e) => retried.push(`${name}: ${e.message}`),
          });
          robots.set(name, r);
        } catch (e) {
          failed.push(`${name}: ${(e as Error).message}`);
        }
      }
    }),
  );
  const ms = Date.now() - t0;
  send({ type: 'online', gateway: gw.url, ms, failed, retried, before, after: usage() });
  const handle = async (m: ToRobots) => {
    if (m.type === 'churn') {
      const socket = (robots.get(m.name)?.link.xmpp as unknown as { socket?: { destroy(): void } } | undefined)?.socket;
      socket?.destroy();
    } else if (m.type === 'stats') {
      const reconnected: Record<string, number> = {};
      for (const [n, r] of robots) reconnected[n] = r.link.keeper.counts.reconnected;
      send({ type: 'stats', usage: usage(), reconnected, refused });
    } else if (m.type === 'stop') {
      clearInterval(ticker);
      await Promise.allSettled([...robots.values()].map((r) => r.close()));
      await gw.close();
      await sd.close();
      process.exit(0);
    }
  };
  process.on('message', (m: ToRobots) => void handle(m));
}
