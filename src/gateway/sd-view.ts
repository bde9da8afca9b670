/**
 * One outside client's view of the ServiceDirectory, served as its service 1: only the services its
 * permissions let it see, each presented as hosted by the gateway (reachable only through it), and a
 * name it may not see answered exactly as a missing one. Registrations go to the gateway's outside
 * services, checked against the client's `register:` rules.
 */
import { Capability, QiCallError, type Channel } from '../channel/index.js';
import { LocalObject, ObjectServer } from '../object/index.js';
import { ServiceDirectoryDefinition, directoryInfo, serviceNotFound, socketOfServiceRefused } from '../sd/index.js';
import { normalizeServiceInfo, type ServiceInfo } from '../session/index.js';
import type { Identity } from './access.js';
import type { GatewayContext } from './context.js';

/** The ServiceDirectory one outside client sees; see the module comment. */
export class ClientDirectory {
  /** The directory object, served to the client at 1.1. */
  readonly object: LocalObject<typeof ServiceDirectoryDefinition>;

  /**
   * @param who the client, for messages (`user "alice"`, `an anonymous client`)
   */
  constructor(
    private readonly gw: GatewayContext,
    private readonly channel: Channel,
    private readonly identity: Identity,
    who: string,
  ) {
    this.object = new LocalObject(ServiceDirectoryDefinition, {
      service: (name) => this.present(this.find(name)),
      services: () => this.visible().map((i) => this.present(i)),
      registerService: async (raw) => {
        const info = normalizeServiceInfo(raw);
        const name = info.name;
        // One answer for a name not allowed and for a hidden name that is taken: nothing about it leaks.
        const refusal = () =>
          new Error(
            `Permission denied: ${who} may not register a service named "${name}" through this gateway (the name is not allowed for this user, or is taken). Choose another name, or ask the robot's administrator to allow "register:${name}" for this user in the gateway configuration.`,
          );
        if (!identity.policy.allows('register', name, '*')) {
          gw.metrics.denied++;
          throw refusal();
        }
        const hidden = !identity.policy.sees(name);
        if (hidden && [...gw.upstream.services.values()].some((i) => i.name === name)) throw refusal();
        try {
          return await gw.outside.register(info, channel);
        } catch (e) {
          // The SD's refusal names the service and its id (e.g. one registered but not ready yet).
          throw hidden && e instanceof QiCallError ? refusal() : e;
        }
      },
      unregisterService: (id) => gw.outside.unregister(id, channel),
      serviceReady: (id) => gw.outside.ready(id, channel),
      updateServiceInfo: (info) => gw.outside.update(normalizeServiceInfo(info), channel),
      machineId: () => gw.machineId,
      _socketOfService: () => {
        throw socketOfServiceRefused();
      },
    });
    new ObjectServer(this.object, channel, 1, 1, 'ServiceDirectory');
  }

  private visible(): ServiceInfo[] {
    const own = directoryInfo(this.gw.machineId, [], this.gw.sessionId);
    const list = [
      own,
      ...[...this.gw.upstream.services.values()].filter((i) => i.serviceId !== 1 && this.identity.policy.sees(i.name)),
    ];
    return list.sort((a, b) => a.serviceId - b.serviceId);
  }

  private find(name: string): ServiceInfo {
    const info = this.visible().find((i) => i.name === name);
    // The same words as libqi's SD: a hidden service is indistinguishable from a missing one.
    if (info === undefined) throw serviceNotFound(name);
    return info;
  }

  /** A service as this client sees it: hosted by the gateway, reachable only through it. */
  private present(info: ServiceInfo): ServiceInfo {
    const endpoints: string[] = [];
    if (this.channel.shared(Capability.RelativeEndpointURI)) endpoints.push('qi:ServiceDirectory');
    endpoints.push(...(this.gw.advertise ?? [this.channel.stream.local]));
    return { ...info, endpoints, machineId: this.gw.machineId, processId: process.pid, sessionId: this.gw.sessionId };
  }

  /** Tells the client about a service that appeared inside (when it may see it). */
  added(info: ServiceInfo): void {
    if (this.identity.policy.sees(info.name)) this.object.emit('serviceAdded', info.serviceId, info.name);
  }

  /** Tells the client about a service that went away (when it could see it). */
  removed(id: number, name: string): void {
    if (this.identity.policy.sees(name)) this.object.emit('serviceRemoved', id, name);
  }
}
