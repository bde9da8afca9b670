/**
 * What the ROS graph bridge tests start (test/bridges/rosgraph.test.ts, rosgraph-image.test.ts,
 * rosgraph-lifecycle.test.ts): Debian's rosmaster, a qi SD, a provider session serving one object, and a
 * RosGraphBridge in front of them (no LPC: every byte goes through the SD's TCP port).
 */
import { after, before } from 'node:test';
import { LocalObject, Session, listenStandalone } from '../../src/index.js';
import { RosGraphBridge, type RosGraphOptions } from '../../src/bridges/index.js';
import { RosMaster } from './rosmaster.js';

/** A running world (valid once `before` ran). */
export interface RosGraphWorld<O> {
  master: RosMaster;
  sd: Session;
  /** The SD's tcp:// endpoint. */
  url: string;
  provider: Session;
  /** The object the provider serves, and its service id. */
  object: O;
  id: number;
  bridge: RosGraphBridge;
  /** What the bridge warned the operator of. */
  warnings: string[];
}

/** The bridge options a file chooses; the rest is the world's. */
export type WorldBridgeOptions = Omit<
  RosGraphOptions,
  'insecureUnauthenticated' | 'masterUri' | 'sd' | 'session' | 'sessionOptions' | 'onWarning'
>;

/**
 * Declares the `before`/`after` of a describe: the provider serves `make()` as `service` and the bridge
 * starts with `options`; `started` runs once all is up, `stopping` first thing at the end (before the
 * bridge closes).
 */
export function rosGraphWorld<O extends LocalObject>(
  service: string,
  make: () => O,
  options: WorldBridgeOptions,
  hooks: { started?: (w: RosGraphWorld<O>) => void; stopping?: () => void } = {},
): RosGraphWorld<O> {
  const w = { warnings: [] as string[] } as RosGraphWorld<O>;
  before(async () => {
    w.master = await RosMaster.start();
    w.sd = await listenStandalone('tcp://127.0.0.1:0');
    w.url = w.sd.endpoints.find((e) => e.startsWith('tcp://'))!;
    w.provider = await Session.connect(w.url);
    w.object = make();
    w.id = await w.provider.registerService(service, w.object);
    w.bridge = await RosGraphBridge.start({
      insecureUnauthenticated: true,
      masterUri: w.master.uri,
      sd: w.url,
      sessionOptions: { lpc: false },
      ...options,
      onWarning: (m) => w.warnings.push(m),
    });
    hooks.started?.(w);
  });
  after(async () => {
    hooks.stopping?.();
    await w.bridge?.close();
    await w.provider?.close();
    await w.sd?.close();
    await w.master?.stop();
  });
  return w;
}
