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
import { Dynamic, ObjectReference, compile } from '../type/index.js';
import { stripAnnotations } from './held.js';

/** Ids the gateway gives to client objects on upstream connections: the client range of libqi (2^31 up). */
let nextId = 0x8000_0000;
const newObjectId = () => (nextId = nextId >= 0xffff_fff0 ? 0x8000_0000 : nextId + 1);

const holds = new Map<string, boolean>();

/** True when values of `signature` may hold object references (annotations `<…>` hold only names). */
export function mayHoldObjects(signature: string): boolean {
  let v = holds.get(signature);
  if (v === undefined) {
    if (holds.size > 10_000) holds.clear(); // signatures come from peers: keep the table bounded
    holds.set(signature, (v = scan(signature)));
  }
  return v;
}

function scan(signature: string): boolean {
  const s = stripAnnotations(signature);
  return s.includes('o') || s.includes('m');
}

/** Rebuilds `v` with every object reference passed through `f`; everything else is kept as it is. */
function mapRefs(v: unknown, f: (r: ObjectReference) => ObjectReference): unknown {
  if (v instanceof ObjectReference) return f(v);
  if (v instanceof Dynamic) return new Dynamic(v.signature, mapRefs(v.value, f));
  if (Array.isArray(v)) return v.map((x) => mapRefs(x, f));
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [mapRefs(k, f), mapRefs(x, f)]));
  if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = mapRefs(x, f);
    return out;
  }
  return v;
}

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

  constructor(private readonly client: Channel) {}

  /**
   * Rewrites the object references of a call's arguments for `upstream`. Returns the payload to send:
   * the same bytes when no reference of the client's was in them.
   */
  rewrite(m: Message, signature: string, upstream: Channel): Buffer {
    const codec = compile(signature);
    const args = m.decode(codec, this.client.codecOptions());
    let changed = false;
    const mapped = mapRefs(args, (r) => {
      if (r.isNull) return r;
      changed = true;
      const relay = this.relay(upstream, r.serviceId, r.objectId);
      return new ObjectReference(r.metaObject, r.serviceId, relay.gatewayId);
    });
    return changed ? codec.encode(mapped, upstream.codecOptions()) : m.payload;
  }

  private relay(upstream: Channel, service: number, clientId: number): Relayed {
    const k = `${service}.${clientId}`;
    const known = this.byClientId.get(k);
    if (known !== undefined && known.upstream === upstream && !upstream.closed) return known;
    const gatewayId = newObjectId();
    const unbind = upstream.bindObject(service, gatewayId, { onMessage: (msg) => this.fromService(msg, r) });
    const offEvents = this.client.onEvent(service, clientId, (ev) => {
      if (!upstream.closed) upstream.sendRaw({ id: ev.id, type: MessageType.Event, flags: ev.flags, service, object: gatewayId, action: ev.action }, ev.payload);
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
      if (m.type === MessageType.Call) r.upstream.replyError(m, `The client that passed this object (object ${r.service}.${r.gatewayId}) has disconnected from the gateway.`);
      return;
    }
    if (m.type === MessageType.Call) {
      this.client.forward(to, MessageType.Call, m.flags, m.payload, (answer, error) => {
        if (r.upstream.closed) return;
        if (answer === undefined) return r.upstream.replyError(m, `The client that passed this object went away: ${error?.message ?? 'closed'}`);
        r.upstream.sendRaw({ id: m.id, type: answer.type, flags: answer.flags, service: r.service, object: r.gatewayId, action: m.action }, answer.payload);
      });
    } else if (m.type === MessageType.Post) {
      this.client.forward(to, MessageType.Post, m.flags, m.payload, () => {});
      if (m.action === Builtin.terminate) r.release();
    }
  }

  /** Forgets every relay (the client went away): later calls from services get an error. */
  close(): void {
    for (const r of [...this.byClientId.values()]) r.release();
  }
}
