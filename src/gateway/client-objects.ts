/**
 * Objects that an outside client passes to a service (callbacks, listeners). The client serves them on
 * its own connection under ids it chose, and many clients choose the same ids, so the gateway gives
 * each one an id of its own on the upstream connection, rewrites the reference in the call's arguments,
 * and relays what the service then does with it (calls, posts, subscriptions, terminate) back to the
 * client, and the object's signals forward to the service.
 */
import type { Channel } from '../channel/index.js';
import { MessageType, type Message } from '../message/index.js';
import { Builtin } from '../object/index.js';
import { QiScanBudgetError, scanReferences } from '../type/index.js';

/** Ids the gateway gives to client objects on upstream connections: the client range of libqi (2^31 up). */
let nextId = 0x8000_0000;
const newObjectId = () => (nextId = nextId >= 0xffff_fff0 ? 0x8000_0000 : nextId + 1);

interface Relayed {
  upstream: Channel;
  service: number;
  gatewayId: number;
  clientId: number;
  release(): void;
}

/** The client objects of one outside connection, as seen by the services. */
export class ClientObjects {
  private readonly byClientId = new Map<string, Relayed>();

  /** @param budget most work spent finding the references in one call's arguments (see {@link scanReferences}) */
  constructor(
    private readonly client: Channel,
    private readonly budget: number,
  ) {}

  /**
   * Rewrites the object references of a call's arguments for `upstream`: each is given an id of the
   * gateway's, patched into a copy of the bytes (both legs lay references out alike: see
   * gatewayCapabilities). Returns the payload to send: the same bytes when they hold no reference.
   * @throws Error with the text to send back: arguments that do not match `signature`, or that take
   *   more work to search than the budget
   */
  rewrite(m: Message, signature: string, upstream: Channel): Buffer {
    let sites;
    try {
      sites = scanReferences(signature, m.payload, this.client.codecOptions(), this.budget);
    } catch (e) {
      if (!(e instanceof QiScanBudgetError))
        throw new Error(`Arguments that do not match ${signature}: ${(e as Error).message}`, { cause: e });
      throw new Error(
        `The arguments hold too many values for the gateway to search them for objects (more than maxReferenceScan = ${this.budget} steps). ` +
          'Send bulk data as raw bytes (r) or as lists of numbers or structs of numbers (the search skips those whole), or split the call; ' +
          "the robot's administrator can raise maxReferenceScan in the gateway's configuration.",
        { cause: e },
      );
    }
    if (sites.length === 0) return m.payload;
    const out = Buffer.from(m.payload);
    for (const s of sites) out.writeUInt32LE(this.relay(upstream, s.serviceId, s.objectId).gatewayId, s.offset + 4);
    return out;
  }

  private relay(upstream: Channel, service: number, clientId: number): Relayed {
    const k = `${service}.${clientId}`;
    const known = this.byClientId.get(k);
    if (known !== undefined && known.upstream === upstream && !upstream.closed) return known;
    const gatewayId = newObjectId();
    const unbind = upstream.bindObject(service, gatewayId, { onMessage: (msg) => this.fromService(msg, r) });
    const offEvents = this.client.onEvent(service, clientId, (ev) => {
      if (!upstream.closed)
        upstream.raw.send(
          { id: ev.id, type: MessageType.Event, flags: ev.flags, service, object: gatewayId, action: ev.action },
          ev.payload,
        );
    });
    const r: Relayed = {
      upstream,
      service,
      gatewayId,
      clientId,
      release: () => {
        unbind();
        offEvents();
        if (this.byClientId.get(k) === r) this.byClientId.delete(k);
      },
    };
    this.byClientId.set(k, r);
    const offClose = upstream.onClose(() => r.release());
    const release = r.release;
    r.release = () => {
      offClose();
      release();
    };
    return r;
  }

  /** A message from the service for a client object: relayed to the client under the client's ids. */
  private fromService(m: Message, r: Relayed): void {
    const to = { service: r.service, object: r.clientId, action: m.action };
    if (this.client.closed) {
      if (m.type === MessageType.Call)
        r.upstream.replyError(
          m,
          `The client that passed this object (object ${r.service}.${r.gatewayId}) has disconnected from the gateway.`,
        );
      return;
    }
    if (m.type === MessageType.Call) {
      this.client.raw.forward(to, MessageType.Call, m.flags, m.payload, (answer, error) => {
        if (r.upstream.closed) return;
        if (answer === undefined)
          return r.upstream.replyError(
            m,
            `The client that passed this object went away: ${error?.message ?? 'closed'}`,
          );
        r.upstream.raw.send(
          {
            id: m.id,
            type: answer.type,
            flags: answer.flags,
            service: r.service,
            object: r.gatewayId,
            action: m.action,
          },
          answer.payload,
        );
      });
    } else if (m.type === MessageType.Post) {
      this.client.raw.forward(to, MessageType.Post, m.flags, m.payload, () => {});
      if (m.action === Builtin.terminate) r.release();
    }
  }

  /** Forgets every relay (the client went away): later calls from services get an error. */
  close(): void {
    for (const r of [...this.byClientId.values()]) r.release();
  }
}
