/**
 * `qi gateway`: one public address for every service behind an internal ServiceDirectory, until
 * Ctrl-C. Who may use what comes from `--config FILE` (users, tokens, rules) and/or `--allow` patterns
 * for anonymous clients; with neither, every outside client is refused (deny by default).
 */
import { readFileSync } from 'node:fs';
import {
  GRAPH_UNAUTHENTICATED_REFUSAL,
  RosBridge,
  RosGraphBridge,
  UNAUTHENTICATED_REFUSAL,
  YARP_UNAUTHENTICATED_REFUSAL,
  YarpBridge,
  loadServiceDefinition,
} from '../bridges/index.js';
import { Gateway, loadAccessConfig, type AccessConfig } from '../index.js';
import { UsageError, run, sessionOptions, type GlobalOptions } from './common.js';
import { gatewayLimits, type GatewayLimitFlags } from './gateway-limits.js';

/** Options of the verb. */
export interface GatewayVerbOptions extends GlobalOptions, GatewayLimitFlags {
  sd?: string;
  listen: string[];
  config?: string;
  allow?: string[];
  cert?: string;
  key?: string;
  ca?: string;
  advertise?: string[];
  /** Also run the ROS bridge on this ws:// URL (off by default; needs insecureUnauthenticated). */
  rosBridge?: string;
  rosAllow?: string[];
  /** Also join the ROS 1 graph of this master (off by default; needs insecureUnauthenticated). */
  rosGraph?: string;
  /** ROS topics the graph bridge emits into qi. */
  rosSubscribe?: string[];
  /** Also offer qi members as YARP ports with this name server, host:port (off by default; needs insecureUnauthenticated). */
  yarp?: string;
  yarpAllow?: string[];
  /** ROS services qi clients may call through the graph bridge: `NAME=pkg/Type` or `NAME=FILE.srv`. */
  rosCall?: string[];
  insecureUnauthenticated?: boolean;
  allowNonLoopback?: boolean;
}

function file(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

export async function gateway(o: GatewayVerbOptions): Promise<void> {
  await run(o, async () => {
    const access: AccessConfig = o.config ? loadAccessConfig(o.config) : {};
    if (o.allow?.length)
      access.anonymous = { allow: [...(access.anonymous?.allow ?? []), ...o.allow], deny: access.anonymous?.deny };
    const secure = o.listen.some((u) => /^(tcpsm?|wss):/.test(u));
    if (secure && (!o.cert || !o.key))
      throw new UsageError('a tcps://, tcpsm:// or wss:// listener needs --cert FILE and --key FILE (PEM)');
    const limits = gatewayLimits(o);
    // Checked before anything opens: the bridge has no authentication of its own.
    if (o.rosBridge !== undefined && o.insecureUnauthenticated !== true)
      throw new UsageError(`refusing to start the ROS bridge. ${UNAUTHENTICATED_REFUSAL}`);
    if (o.rosGraph !== undefined && o.insecureUnauthenticated !== true)
      throw new UsageError(`refusing to join the ROS graph. ${GRAPH_UNAUTHENTICATED_REFUSAL}`);
    if (o.yarp !== undefined && o.insecureUnauthenticated !== true)
      throw new UsageError(`refusing to start the YARP bridge. ${YARP_UNAUTHENTICATED_REFUSAL}`);
    if (o.rosCall?.length && o.rosGraph === undefined)
      throw new UsageError('--ros-call needs --ros-graph MASTER_URI (the ROS graph whose services qi calls)');
    const callServices = (o.rosCall ?? []).map((spec) => loadServiceDefinition(spec));
    const gw = await Gateway.start({
      sd: o.sd ?? o.url,
      listen: o.listen,
      access,
      tls:
        o.cert && o.key
          ? { cert: file(o.cert, 'certificate'), key: file(o.key, 'key'), ca: o.ca ? file(o.ca, 'CA file') : undefined }
          : undefined,
      upstream: sessionOptions(o),
      advertise: o.advertise,
      ...limits,
      // A robot's gateway may start before its SD: wait for it, and say so.
      waitForSd: true,
      onDirectory: (up, error) =>
        console.error(
          up
            ? `qi: the internal ServiceDirectory ${o.sd ?? o.url} is reachable`
            : `qi: waiting for the internal ServiceDirectory ${o.sd ?? o.url}: ${error?.message ?? 'connection lost'}`,
        ),
    });
    // What is open, newest first: closed in that order when a later start fails, and on stop.
    const open: { close(): Promise<void> }[] = [gw];
    const closeAll = async (): Promise<void> => {
      for (const c of open.splice(0)) await c.close();
    };
    const opened = async <T extends { close(): Promise<void> }>(starting: Promise<T>): Promise<T> => {
      const it = await starting.catch(async (e: unknown) => {
        await closeAll();
        throw e;
      });
      open.unshift(it);
      return it;
    };
    // What every bridge shares: the SD it offers and how to reach it; --insecure-unauthenticated was checked above.
    const bridge = { insecureUnauthenticated: true, sd: o.sd ?? o.url, sessionOptions: sessionOptions(o) };
    const ros =
      o.rosBridge === undefined
        ? undefined
        : await opened(
            RosBridge.start({
              ...bridge,
              listen: o.rosBridge,
              allowNonLoopback: o.allowNonLoopback === true,
              allow: o.rosAllow ?? [],
            }),
          );
    const graph =
      o.rosGraph === undefined
        ? undefined
        : await opened(
            RosGraphBridge.start({
              ...bridge,
              masterUri: o.rosGraph,
              allow: o.rosAllow ?? [],
              subscribe: o.rosSubscribe ?? [],
              callServices,
            }),
          );
    const yarp =
      o.yarp === undefined
        ? undefined
        : await opened(
            YarpBridge.start({
              ...bridge,
              nameServer: o.yarp,
              allow: o.yarpAllow ?? [],
            }),
          );
    const nobody = !access.anonymous && Object.keys(access.users ?? {}).length === 0;
    // Listen before printing: whoever reads the first line may send SIGINT at once.
    const stop = new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    if (o.json)
      console.log(
        JSON.stringify({
          endpoints: gw.endpoints,
          sd: o.sd ?? o.url,
          ...(ros ? { rosBridge: ros.endpoint } : {}),
          ...(graph
            ? {
                rosGraph: {
                  node: graph.node.name,
                  uri: graph.node.uri,
                  topics: [...graph.topics.values()],
                  calls: callServices.map((c) => c.name),
                },
              }
            : {}),
          ...(yarp ? { yarp: { nameServer: o.yarp, ports: [...yarp.ports.keys()] } } : {}),
        }),
      );
    else {
      console.log(`Gateway for ${o.sd ?? o.url} listening on ${gw.endpoints.join(' ')}`);
      if (ros)
        console.log(
          `ROS bridge (rosbridge v2, unauthenticated) on ${ros.endpoint}, bridging ${ros.allow.patterns.join(', ') || 'nothing'}`,
        );
      if (graph)
        console.log(
          `ROS graph node ${graph.node.name} (unauthenticated) at ${graph.node.uri} on the master ${o.rosGraph}, publishing ${[...graph.topics.values()].join(', ') || 'nothing'}`,
        );
      if (yarp)
        console.log(
          `YARP ports (unauthenticated) on the name server ${o.yarp}: ${[...yarp.ports.keys()].join(', ') || 'none'}`,
        );
      if (nobody)
        console.error(
          'qi: warning: no --config and no --allow: every outside client will be refused. Add users with --config FILE, or --allow PATTERN for anonymous clients.',
        );
    }
    await stop;
    await closeAll();
  });
}
