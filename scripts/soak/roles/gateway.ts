/** The soak's `gateway` process: a Gateway in front of the server's SD, open to anonymous clients. */
import { Gateway } from '../../../src/index.js';
import type { RoleArgs } from '../args.js';
import { SESSION_TIMEOUT_MS } from '../spec.js';
import { takeSample, withTimeout } from '../tools.js';
import { child, send } from './child.js';

/** Runs the gateway until the coordinator stops it. */
export async function runGateway(args: RoleArgs): Promise<void> {
  const gw = await Gateway.start({
    sd: args.sd,
    listen: 'tcp://127.0.0.1:0',
    access: { anonymous: { allow: ['*'] } },
    maxConnectionsPerAddress: 10_000,
  });
  const extra = () => ({ ...gw.metrics, upstreamSubscriptions: gw.upstreamSubscriptions, heldObjects: gw.heldObjects });
  child({
    sample: () => ({ sample: takeSample(), extra: extra() }),
    stop: async () => {
      const e = extra();
      await withTimeout(gw.close(), SESSION_TIMEOUT_MS, 'closing the gateway');
      return { extra: e };
    },
  });
  send({ type: 'ready', info: { url: gw.url } });
}
