/**
 * `qi ros-bridge`: a rosbridge v2 WebSocket server in front of a ServiceDirectory, so that ROS tools
 * (roslibjs…) reach the qi services the allowlist names, until Ctrl-C. It has no authentication, so it
 * refuses to start without --insecure-unauthenticated, listens on loopback unless --allow-non-loopback
 * is given too, and bridges nothing by default. See docs/bridges.md.
 */
import { RosBridge, UNAUTHENTICATED_REFUSAL } from '../bridges/index.js';
import { UsageError, run, sessionOptions, type GlobalOptions } from './common.js';

/** Options of the verb. */
export interface RosBridgeVerbOptions extends GlobalOptions {
  sd?: string;
  listen: string;
  allow?: string[];
  insecureUnauthenticated?: boolean;
  allowNonLoopback?: boolean;
  allowOrigin?: string[];
  prefix: string;
  callTimeout?: string;
  qiListen?: string;
}

export async function rosBridge(o: RosBridgeVerbOptions): Promise<void> {
  await run(o, async () => {
    // Checked before anything is connected or opened, so the refusal is the first and only thing said.
    if (o.insecureUnauthenticated !== true) throw new UsageError(`refusing to start. ${UNAUTHENTICATED_REFUSAL}`);
    const callTimeoutMs = o.callTimeout === undefined ? undefined : Number(o.callTimeout);
    if (callTimeoutMs !== undefined && !(callTimeoutMs > 0))
      throw new UsageError('--call-timeout is a number of milliseconds, e.g. 60000');
    const sd = o.sd ?? o.url;
    const allow = o.allow ?? [];
    const bridge = await RosBridge.start({
      insecureUnauthenticated: true,
      sd,
      sessionOptions: sessionOptions(o),
      listen: o.listen,
      allowNonLoopback: o.allowNonLoopback === true,
      allow,
      allowOrigins: o.allowOrigin,
      prefix: o.prefix,
      callTimeoutMs,
      qiListen: o.qiListen,
    });
    if (o.json)
      console.log(
        JSON.stringify({ endpoint: bridge.endpoint, sd, allow: bridge.allow.patterns, prefix: bridge.prefix }),
      );
    else {
      console.log(
        `ROS bridge (rosbridge v2) for ${sd} listening on ${bridge.endpoint}, unauthenticated; bridging ${bridge.allow.patterns.join(', ') || 'nothing'} as ${bridge.prefix}/<Service>/<member>`,
      );
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await bridge.close();
  });
}
