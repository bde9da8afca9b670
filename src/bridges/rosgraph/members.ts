/**
 * One qi service on the ROS graph: its allowed signals published as topics, its allowed properties as
 * latched topics (their value now, then each change: a ROS subscriber that joins late gets the state),
 * its allowed methods served as ROS services. {@link bridgeMembers} returns the undo, used when the qi
 * service goes away: its topics and services are unregistered from the master (so `rosservice call`
 * says the service is not available instead of waiting), and bridged again when it comes back.
 */
import type { ObjectBackend } from '../../object/index.js';
import type { RosAllowlist } from '../ros/names.js';
import type { MsgSpec } from './msgspec.js';
import { messageTypeOf, rosIdentifier, type QiMessageType } from './msgqi.js';
import type { RosNode } from './node.js';
import { methodService, type MethodService } from './qi-services.js';

/** What the members of every bridged service share. */
export interface MembersContext {
  readonly node: RosNode;
  readonly allow: RosAllowlist;
  readonly prefix: string;
  readonly callTimeoutMs: number;
  readonly warn: (m: string) => void;
  /** Topics published now, by qi `Service.member`. */
  readonly topics: Map<string, string>;
  /** ROS services served now, by qi `Service.method`. */
  readonly services: Map<string, string>;
  /** Generated types, for definitionFiles(). */
  readonly messages: Map<string, MsgSpec>;
  readonly srvs: Map<string, MethodService>;
}

/** Warns at most once per `everyMs` for one member, counting what it did not say. */
function throttled(warn: (m: string) => void, everyMs = 10_000): (m: string) => void {
  let last = 0;
  let quiet = 0;
  return (m) => {
    const now = Date.now();
    if (now - last < everyMs) return void quiet++;
    warn(quiet > 0 ? `${m} (and ${quiet} more since the last warning)` : m);
    last = now;
    quiet = 0;
  };
}

/** Bridges what the allowlist names of `service`; resolves with the function that undoes it. */
export async function bridgeMembers(
  ctx: MembersContext,
  service: string,
  backend: ObjectBackend,
): Promise<() => Promise<void>> {
  const undo: (() => Promise<void>)[] = [];
  const undoAll = async () => {
    await Promise.allSettled(undo.reverse().map((f) => f()));
  };
  try {
    await serveMethods(ctx, service, backend, undo);
    await publishMembers(ctx, service, backend, undo);
  } catch (e) {
    await undoAll();
    throw e;
  }
  return undoAll;
}

async function publishMembers(
  ctx: MembersContext,
  service: string,
  backend: ObjectBackend,
  undo: (() => Promise<void>)[],
): Promise<void> {
  for (const [name, info] of backend.type.signalsByName) {
    const property = backend.type.propertiesByName.get(name);
    const kind = property === undefined ? 'signal' : 'property';
    const key = `${service}.${name}`;
    if (info.uid < 100 || !ctx.allow.allows(kind, service, name)) continue;
    let type: QiMessageType;
    try {
      const params = property === undefined ? info.params.type : property.type.type;
      type = messageTypeOf(service, name, params.kind === 'tuple' && !property ? params.members : [params]);
    } catch (e) {
      ctx.warn(`the qi ${kind} ${key} is not published to ROS: ${(e as Error).message}`);
      continue;
    }
    const topic = `${ctx.prefix}/${rosIdentifier(service)}/${rosIdentifier(name)}`;
    ctx.messages.set(type.spec.type, type.spec);
    await ctx.node.advertise(topic, type.spec, { latched: property !== undefined });
    ctx.topics.set(key, topic);
    undo.push(async () => {
      ctx.topics.delete(key);
      await ctx.node.unadvertise(topic);
    });
    const misfit = throttled(ctx.warn);
    let changed = false;
    const send = (args: readonly unknown[]) => {
      try {
        ctx.node.publish(topic, type.toMessage(args));
      } catch (e) {
        misfit(
          `${kind === 'signal' ? 'an emission' : 'a value'} of ${key} does not fit ${type.spec.type}: ${(e as Error).message}`,
        );
      }
    };
    const off = await backend.subscribe(name, (args) => {
      changed = true;
      send(args);
    });
    undo.push(off);
    if (property === undefined) continue;
    // The value now, unless a change arrived meanwhile (it is newer).
    const value = await backend.getProperty(name).catch((e: Error) => {
      ctx.warn(`cannot read the qi property ${key}: ${e.message}; ${topic} has no value until it changes`);
      return undefined;
    });
    if (!changed && value !== undefined) send([value]);
  }
}

async function serveMethods(
  ctx: MembersContext,
  service: string,
  backend: ObjectBackend,
  undo: (() => Promise<void>)[],
): Promise<void> {
  for (const [name, all] of backend.type.methodsByName) {
    const overloads = all.filter((m) => m.uid >= 100);
    if (overloads.length === 0 || !ctx.allow.allows('method', service, name)) continue;
    let server;
    try {
      server = methodService(backend, service, name, overloads, ctx.callTimeoutMs);
    } catch (e) {
      ctx.warn(`the qi method ${service}.${name} is not served to ROS: ${(e as Error).message}`);
      continue;
    }
    const rosName = `${ctx.prefix}/${rosIdentifier(service)}/${rosIdentifier(name)}`;
    ctx.srvs.set(server.type, server);
    await ctx.node.advertiseService(rosName, server);
    ctx.services.set(`${service}.${name}`, rosName);
    undo.push(async () => {
      ctx.services.delete(`${service}.${name}`);
      await ctx.node.unadvertiseService(rosName);
    });
  }
}
