/**
 * Objects passed back benchmark: sequential calls per second of `use(o)` (the service calls `o.increment()`
 * once and answers), where `o` is an object the service itself made (`make()`), reached in each way a
 * client may send it back, beside the same run's plain call `add(1, 2)` on the same path (the baseline):
 *  - by address (between our peers: the service calls its own object in its process);
 *  - libqi style (a client without our capability sends a forwarding object of its own with the object's
 *    uid: the service recognizes it, calls its object, and releases the forwarder at once);
 *  - a proxy of another connection (the client forwards: the service's call goes to the client and back);
 *  - through a gateway (the gateway relays a client object: service → gateway → client → gateway → service).
 * The service runs in another process, over TCP loopback; the gateway in this process.
 * Run: `node dist/bench/objects.bench.js` (or `npm run bench:objects`).
 */
import { fileURLToPath } from 'node:url';
import {
  Gateway,
  LocalObject,
  Session,
  defineObject,
  listenStandalone,
  method,
  t,
  type AnyProxy,
} from '../src/index.js';
import {
  Capability,
  RemoteBackend,
  connect,
  createProxy,
  defaultCapabilities,
  enableObjectReferences,
  openChannel,
} from '../src/wire.js';
import { exitWithParent, spawnChild, stopChild } from './children.js';
import { machine, measureRunners, num, printTable, sequential } from './harness.js';

const Counter = defineObject({ methods: { increment: method([], t.int32) } });
const Factory = defineObject({
  methods: {
    add: method([t.int32, t.int32], t.int32),
    make: method([], t.object),
    use: method([t.object], t.int32),
  },
});

const ROUNDS = num('rounds', 5);
const ROUND_MS = num('round-ms', 400);

async function child(): Promise<void> {
  const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
  await sd.registerService(
    'Factory',
    new LocalObject(Factory, {
      add: (a, b) => a + b,
      make: () => {
        let n = 0;
        return new LocalObject(Counter, { increment: () => ++n });
      },
      use: async (o) => (await (o as AnyProxy).increment()) as number,
    }),
  );
  console.log(`READY ${JSON.stringify({ sd: sd.endpoints[0] })}`);
  exitWithParent([], 1000);
}

/** A client as libqi is: our capabilities without OwnObjectsByAddress. */
async function libqiStyle(sd: Session): Promise<AnyProxy> {
  const info = (await sd.services()).find((s) => s.name === 'Factory')!;
  const capabilities = defaultCapabilities();
  capabilities.delete(Capability.OwnObjectsByAddress);
  const ch = await openChannel(await connect(info.endpoints.find((e) => e.startsWith('tcp://'))!), { capabilities });
  enableObjectReferences(ch);
  return createProxy(await RemoteBackend.fetch(ch, info.serviceId, 1, 'Factory')) as AnyProxy;
}

async function main(): Promise<void> {
  const service = await spawnChild(fileURLToPath(import.meta.url), ['--child']);
  const { sd } = service.ready as { sd: string };
  const one = await Session.connect(sd, { ipc: false });
  const two = await Session.connect(sd, { ipc: false });
  const gw = await Gateway.start({ sd, listen: 'tcp://127.0.0.1:0', access: { anonymous: { allow: ['*'] } } });
  const outside = await Session.connect(gw.url, { ipc: false });
  const f1 = (await one.service('Factory')) as AnyProxy;
  const f2 = (await two.service('Factory')) as AnyProxy;
  const fl = await libqiStyle(one);
  const fg = (await outside.service('Factory')) as AnyProxy;
  const k1 = (await f1.make()) as object;
  const kl = (await fl.make()) as object;
  const kg = (await fg.make()) as object;
  const subjects: [string, () => Promise<unknown>][] = [
    ['add, direct', () => f1.add(1, 2)],
    ['use(own), by address', () => f1.use(k1)],
    ['use(own), libqi style', () => fl.use(kl)],
    ['use(proxy of another connection)', () => f2.use(k1)],
    ['add, through a gateway', () => fg.add(1, 2)],
    ['use(own), through a gateway', () => fg.use(kg)],
  ];
  console.log(`Objects passed back: ${machine()}; service in another process, TCP loopback, gateway in this process`);
  console.log(`each figure: median of ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, sequential calls`);
  const measured = await measureRunners(
    subjects.map(([, call]) => sequential(call)),
    { warmupMs: 200, rounds: ROUNDS, roundMs: ROUND_MS },
  );
  const direct = measured[0].ops;
  const viaGateway = measured[4].ops;
  const rows = subjects.map(([name], i) => [
    name,
    `${Math.round(measured[i].ops).toLocaleString('en-US')}`,
    `${((measured[i].spread ?? 0) * 100).toFixed(0)}%`,
    `${(measured[i].ops / (i < 4 ? direct : viaGateway)).toFixed(2)}x`,
  ]);
  printTable(['call', 'calls/s', 'spread', 'vs add on its path'], rows, { right: [false, true, true, true] });
  await Promise.all([one.close(), two.close(), outside.close()]);
  await gw.close();
  await stopChild(service.child, 2000);
}

if (process.argv.includes('--child')) await child();
else await main();
