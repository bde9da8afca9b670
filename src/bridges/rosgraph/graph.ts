/**
 * The ROS graph bridge: a ROS 1 node (./node.ts) in front of a qi ServiceDirectory. Allowlisted qi
 * signals are published as ROS topics `/qi/<Service>/<signal>`; ROS topics named in `subscribe` are
 * emitted into qi as signals of a qi service the bridge registers (`RosGraph` by default). Like the
 * rosbridge server (../ros/bridge.ts) it has no authentication, so it never starts without
 * `insecureUnauthenticated: true`, listens on loopback unless told otherwise, and bridges nothing the
 * allowlist does not name. See docs/bridges.md, "ROS graph".
 */
import { QiError } from '../../errors/index.js';
import { LocalObject, defineObject, method, signal, t, backendOf, type ObjectBackend } from '../../object/index.js';
import { Session, type SessionOptions } from '../../session/index.js';
import { isLoopbackHost } from '../../transport/index.js';
import { toJson } from '../ros/json.js';
import { normalizePrefix, RosAllowlist } from '../ros/names.js';
import { messageDynamic } from './msgdynamic.js';
import { rosIdentifier } from './msgqi.js';
import { bridgeMembers, type MembersContext } from './members.js';
import { RosNode, type RosNodeMetrics } from './node.js';
import { definitionText, dependencies, type MsgSpec } from './msgspec.js';
import type { MethodService } from './qi-services.js';
import { callService, serviceType, type RosServiceDefinition, type RosServiceType } from './ros-services.js';

/** Options of {@link RosGraphBridge.start}. */
export interface RosGraphOptions {
  /** Must be `true`: any program that reaches the node's ports or the master may use what `allow` names. */
  insecureUnauthenticated: boolean;
  /** The ROS master, `http://127.0.0.1:11311/` (ROS_MASTER_URI). */
  masterUri: string;
  /** The ServiceDirectory (default `QI_URL`, then tcp://127.0.0.1:9559); ignored when `session` is given. */
  sd?: string;
  /** A session to use instead of connecting one (it stays open when the bridge closes). */
  session?: Session;
  /** Options of the session the bridge connects. */
  sessionOptions?: SessionOptions;
  /** The node's ROS name (default `/qi_bridge`). */
  name?: string;
  /** The address the node listens on and announces (default 127.0.0.1, as ROS_IP). */
  host?: string;
  /** Required for a `host` other than loopback. */
  allowNonLoopback?: boolean;
  /**
   * What is bridged: rules as for the rosbridge server; `signal:` rules publish qi signals as topics,
   * `property:` rules qi properties as latched topics, `method:` rules serve qi methods as ROS
   * services. Default: nothing.
   */
  allow?: readonly string[];
  /** Longest wait for a qi method called from ROS (default 60,000 ms). */
  callTimeoutMs?: number;
  /** ROS topics emitted into qi (`/chatter`). Default: none. */
  subscribe?: readonly string[];
  /**
   * ROS services qi clients may call, with their `.srv` definitions (TCPROS does not carry them): each
   * is a method of the `RosGraph` service (`/add_two_ints` → `add_two_ints(request) → response`).
   * Default: none.
   */
  callServices?: readonly RosServiceDefinition[];
  /** The qi service whose signals carry the `subscribe` topics and whose methods call `callServices` (default `RosGraph`). */
  qiService?: string;
  /** The ROS name prefix of qi members (default `/qi`). */
  prefix?: string;
  /** Most connections at once on each of the node's listeners (default 64). */
  maxConnections?: number;
  /** Largest message read from a ROS peer (default 16 MiB). */
  maxMessageBytes?: number;
  /** Largest property value (serialized) kept for ROS subscribers that join later (default 1 MiB). */
  maxLatchedBytes?: number;
  /** Receives warnings meant for the operator (default: printed on stderr). */
  onWarning?: (message: string) => void;
}

/** Why the bridge refuses to start without the acknowledgement. */
export const GRAPH_UNAUTHENTICATED_REFUSAL =
  'The ROS graph bridge has no authentication (ROS 1 has none): every program that can reach the ROS master ' +
  "or the bridge's node can receive, call and publish into every qi member its allowlist names. " +
  'Start it only on a trusted machine or network, and acknowledge this with --insecure-unauthenticated ' +
  '(insecureUnauthenticated: true in the API).';

const configError = (m: string) => new QiError('ERR_QI_CONFIG', m);

/** The qi signal name of a ROS topic: `/robot/chatter` → `robot_chatter`. */
export function signalNameOf(topic: string): string {
  return rosIdentifier(topic.replace(/^\/+/, '').replace(/\//g, '_'));
}

/** A running ROS graph bridge. */
export class RosGraphBridge {
  readonly allow: RosAllowlist;
  readonly prefix: string;
  /** The ROS topics published, by qi `Service.signal`. */
  readonly topics = new Map<string, string>();
  /** The ROS services served, by qi `Service.method`. */
  readonly services = new Map<string, string>();
  private readonly unsubscribe: (() => Promise<void>)[] = [];
  /** The undo of each qi service bridged now. */
  private readonly bridged = new Map<string, () => Promise<void>>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Generated types, for {@link definitionFiles}: messages by type, services by type. */
  private readonly messages = new Map<string, MsgSpec>();
  private readonly srvs = new Map<string, MethodService>();
  private readonly members: MembersContext;
  private serviceId: number | undefined;
  private closed = false;
  private readonly warn: (m: string) => void;

  private constructor(
    readonly session: Session,
    private readonly ownsSession: boolean,
    readonly node: RosNode,
    private readonly options: RosGraphOptions,
  ) {
    this.allow = new RosAllowlist(options.allow ?? []);
    this.prefix = normalizePrefix(options.prefix ?? '/qi');
    this.warn = options.onWarning ?? ((m: string) => console.error(`qi: warning: ${m}`));
    this.members = {
      node,
      allow: this.allow,
      prefix: this.prefix,
      callTimeoutMs: options.callTimeoutMs ?? 60_000,
      warn: this.warn,
      topics: this.topics,
      services: this.services,
      messages: this.messages,
      srvs: this.srvs,
    };
  }

  /**
   * Checks the options, connects to the ServiceDirectory, joins the ROS graph and bridges what is allowed.
   * @throws QiError `ERR_QI_CONFIG` without `insecureUnauthenticated`, for a non-loopback host without
   * `allowNonLoopback` or a bad rule; `ERR_QI_CONNECT` when the SD or the master cannot be reached
   */
  static async start(options: RosGraphOptions): Promise<RosGraphBridge> {
    if (options.insecureUnauthenticated !== true) throw configError(GRAPH_UNAUTHENTICATED_REFUSAL);
    const warn = options.onWarning ?? ((m: string) => console.error(`qi: warning: ${m}`));
    const host = options.host ?? '127.0.0.1';
    if (!isLoopbackHost(host)) {
      if (options.allowNonLoopback !== true)
        throw configError(
          `refusing to listen on ${host}: it is not a loopback address, so every machine that can reach it could use the ROS graph bridge without authentication. Confirm with --allow-non-loopback (allowNonLoopback: true).`,
        );
      warn(`the ROS graph bridge listens on ${host}, beyond this machine, WITHOUT AUTHENTICATION.`);
    }
    try {
      new RosAllowlist(options.allow ?? []);
      normalizePrefix(options.prefix ?? '/qi');
    } catch (e) {
      throw configError((e as Error).message);
    }
    for (const topic of options.subscribe ?? [])
      if (!/^\/?[A-Za-z][A-Za-z0-9_/]*$/.test(topic))
        throw configError(`${JSON.stringify(topic)} is not a ROS topic name`);
    if ([options.allow, options.subscribe, options.callServices].every((list) => (list ?? []).length === 0))
      warn(
        'the ROS graph bridge bridges nothing (deny by default): name qi members with --ros-allow, ROS topics with --ros-subscribe, ROS services with --ros-call.',
      );
    const session = options.session ?? (await Session.connect(options.sd, options.sessionOptions));
    let node: RosNode;
    try {
      node = await RosNode.start({
        masterUri: options.masterUri,
        name: options.name,
        host,
        maxConnections: options.maxConnections,
        maxMessageBytes: options.maxMessageBytes,
        maxLatchedBytes: options.maxLatchedBytes,
        onWarning: warn,
      });
    } catch (e) {
      if (options.session === undefined) await session.close();
      throw e;
    }
    const bridge = new RosGraphBridge(session, options.session === undefined, node, options);
    try {
      await bridge.bridgeServices();
      await bridge.subscribeTopics();
    } catch (e) {
      await bridge.close();
      throw e;
    }
    return bridge;
  }

  /** The node's metrics. */
  get metrics(): RosNodeMetrics {
    return this.node.metrics;
  }

  private async bridgeServices(): Promise<void> {
    const added = await this.session.serviceAdded.connect(
      (_id, name) => void this.queue(name, () => this.bridgeService(name)).catch(() => {}),
    );
    const removed = await this.session.serviceRemoved.connect(
      (_id, name) => void this.queue(name, () => this.unbridge(name)).catch(() => {}),
    );
    this.unsubscribe.push(added, removed);
    for (const s of await this.session.services()) await this.queue(s.name, () => this.bridgeService(s.name));
  }

  /**
   * Runs what concerns one qi service after what was asked before (it may leave and come back quickly);
   * a failure is warned about, and rejects the promise returned.
   */
  private queue(service: string, job: () => Promise<void>): Promise<void> {
    const run = (this.chains.get(service) ?? Promise.resolve()).then(job);
    const next = run.catch((e: Error) =>
      this.warn(`the ROS graph bridge could not follow the qi service ${service}: ${e.message}`),
    );
    this.chains.set(service, next);
    void next.then(() => {
      if (this.chains.get(service) === next) this.chains.delete(service);
    });
    return run;
  }

  /** Bridges the allowed members of `service` (once while it is registered). */
  private async bridgeService(service: string): Promise<void> {
    if (this.closed || this.bridged.has(service) || !this.allow.mentions(service)) return;
    let backend: ObjectBackend;
    try {
      backend = backendOf(await this.session.service(service))!;
    } catch (e) {
      return this.warn(`the ROS graph bridge cannot reach the qi service ${service}: ${(e as Error).message}`);
    }
    if (this.closed) return;
    this.bridged.set(service, await bridgeMembers(this.members, service, backend));
  }

  /** The qi service left: its topics and ROS services leave the graph until it comes back. */
  private async unbridge(service: string): Promise<void> {
    const undo = this.bridged.get(service);
    this.bridged.delete(service);
    await undo?.();
  }

  /** Registers the qi service of the ROS topics and services named in the options. */
  private async subscribeTopics(): Promise<void> {
    const topics = (this.options.subscribe ?? []).map((t) => (t.startsWith('/') ? t : `/${t}`));
    const services = (this.options.callServices ?? []).map(serviceType);
    if (topics.length === 0 && services.length === 0) return;
    const signals = Object.fromEntries(topics.map((topic) => [signalNameOf(topic), signal([t.dynamic])]));
    const methods = Object.fromEntries(services.map((s) => [signalNameOf(s.name), method([t.dynamic], t.dynamic)]));
    const impl = Object.fromEntries(
      services.map((s) => [signalNameOf(s.name), (request: unknown) => this.callRosService(s, request)]),
    );
    const object = new LocalObject(
      defineObject({
        description: `The ROS graph seen from qi: topics ${topics.join(', ') || 'none'} as signals (each message a struct of its fields), services ${services.map((s) => s.name).join(', ') || 'none'} as methods`,
        signals,
        methods,
      }),
      impl as never,
    );
    this.serviceId = await this.session.registerService(this.options.qiService ?? 'RosGraph', object);
    for (const topic of topics) {
      const name = signalNameOf(topic);
      await this.node.subscribe(topic, '*', (message, spec) =>
        object.emit(name as never, messageDynamic(spec, message) as never),
      );
    }
  }

  private async callRosService(s: RosServiceType, request: unknown): Promise<unknown> {
    const json = toJson(request);
    const value = json === null || json === undefined ? {} : json;
    if (typeof value !== 'object' || Array.isArray(value))
      throw new QiError('ERR_QI_VALUE', `${s.name} takes a struct or map of the fields of ${s.request.type}`);
    const uri = await this.node.master('lookupService', [s.name]).catch((e: Error) => {
      throw new QiError('ERR_QI_CALL', `no ROS node serves ${s.name} now (${e.message})`);
    });
    const response = await callService(
      this.node.name,
      String(uri),
      s,
      value as Record<string, unknown>,
      this.options.callTimeoutMs ?? 60_000,
      this.options.maxMessageBytes ?? 16 * 1024 * 1024,
    );
    return messageDynamic(s.response, response);
  }

  /**
   * The `.msg` and `.srv` files of the generated types published or served now (`qi_msgs/msg/Path.msg`,
   * `qi_srvs/srv/Robot_add.srv`), for ROS tools that need them as a package (rostopic echo, rosservice
   * call): generate Python from them with genpy and put it on PYTHONPATH (docs/bridges.md). std_msgs
   * and sensor_msgs types are not included: Debian packages them.
   */
  definitionFiles(): Map<string, string> {
    const files = new Map<string, string>();
    const add = (spec: MsgSpec) => {
      for (const s of [spec, ...dependencies(spec).values()]) {
        const [pkg, name] = s.type.split('/');
        if (pkg !== 'std_msgs' && pkg !== 'sensor_msgs') files.set(`${pkg}/msg/${name}.msg`, definitionText(s));
      }
    };
    for (const spec of this.messages.values()) add(spec);
    for (const [type, srv] of this.srvs) {
      const [pkg, name] = type.split('/');
      files.set(
        `${pkg}/srv/${name}.srv`,
        `${definitionText(srv.request.spec)}---\n${definitionText(srv.response.spec)}`,
      );
      for (const dep of [...dependencies(srv.request.spec).values(), ...dependencies(srv.response.spec).values()])
        add(dep);
    }
    return files;
  }

  /** Leaves the ROS graph (unregisters every topic and service), stops watching qi, closes the session if its own. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.unsubscribe.map((off) => off()));
    await Promise.allSettled(this.chains.values());
    await Promise.allSettled([...this.bridged.values()].map((undo) => undo()));
    this.bridged.clear();
    await this.node.close();
    if (this.serviceId !== undefined) await this.session.unregisterService(this.serviceId).catch(() => {});
    if (this.ownsSession) await this.session.close();
  }
}
