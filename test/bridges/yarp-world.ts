/**
 * A world for YARP bridge tests: a real ServiceDirectory, a qi service `Robot` in its own session, the
 * suite's YARP name server (answering as the captured yarpserver), and the bridge between them.
 */
import { YarpBridge, type YarpBridgeOptions } from '../../src/bridges/index.js';
import { LocalObject, Session, defineObject, listenStandalone, method, signal, t } from '../../src/index.js';
import { FakeNameServer } from '../helpers/yarp-captures.js';

export const Robot = defineObject({
  methods: {
    add: method([t.int32, t.int32], t.int32),
    say: method([t.string], t.void),
    slow: method([t.int32], t.int32),
  },
  signals: {
    done: signal([t.string, t.int32]),
    heard: signal([t.string]),
    // What the captured `yarp write` line fits: hello 1 2.5 "two words" (a (b 3)) [ok] {1 2 255} true -7 3000000000
    written: signal([t.string, t.int32, t.double, t.string, t.dynamic, t.string, t.raw, t.bool, t.int32, t.int64]),
  },
});

export interface YarpWorld {
  sd: Session;
  robot: LocalObject<typeof Robot>;
  ns: FakeNameServer;
  bridge: YarpBridge;
  warnings: string[];
  /** The TCP port of a bridge port, from the name server. */
  portOf(name: string): number;
  close(): Promise<void>;
}

export async function yarpWorld(options: Partial<YarpBridgeOptions> = {}): Promise<YarpWorld> {
  const sd = await listenStandalone('tcp://127.0.0.1:0');
  const url = sd.endpoints.find((e) => e.startsWith('tcp://'))!;
  const robotSession = await Session.connect(url);
  const robot: LocalObject<typeof Robot> = new LocalObject(Robot, {
    add: (a, b) => a + b,
    say: () => {},
    slow: (ms) => new Promise((resolve) => setTimeout(() => resolve(ms), ms)),
  });
  await robotSession.registerService('Robot', robot);
  const ns = await FakeNameServer.start();
  const warnings: string[] = [];
  const bridge = await YarpBridge.start({
    nameServer: ns.address,
    sd: url,
    allow: ['signal:Robot.done', 'emit:Robot.heard', 'emit:Robot.written', 'method:Robot.*'],
    insecureUnauthenticated: true,
    onWarning: (m) => warnings.push(m),
    ...options,
  });
  return {
    sd,
    robot,
    ns,
    bridge,
    warnings,
    portOf: (name) => {
      const r = ns.table.get(name);
      if (!r) throw new Error(`${name} is not registered`);
      return r.port;
    },
    async close() {
      await bridge.close();
      await robotSession.close();
      await sd.close();
      await ns.close();
    },
  };
}
