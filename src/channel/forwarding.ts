/**
 * Raw forwarding on one channel: messages whose payload is already encoded, sent under header fields
 * given by the caller, and answers handed over as they came, undecoded. This is how a gateway relays
 * calls, answers and events without knowing their signatures. Forwarded calls have their own table
 * here (id → callback), beside the channel's table of typed calls; the channel hands every answer
 * whose id is in it over to {@link RawForwarding.answer}.
 */
import { MessageType, type Message } from '../message/index.js';
import { QiClosedError } from '../transport/index.js';
import { Dynamic } from '../type/index.js';
import { newMessageId, type Address, type SendFields } from './address.js';
import type { CallLink } from './calls.js';
import type { Channel } from './channel.js';
import { ERROR_CODEC, payloadErrorText } from './error-text.js';
import { IdTable } from './id-table.js';

/** Receives the raw answer (Reply, Error or Canceled) of a forwarded call, or why none will come. */
export type RawAnswer = (answer: Message | undefined, error?: Error) => void;

/**
 * A forwarded call as its forwarder keeps it: where it goes and what takes its answer, in one object
 * (kept as is in the table of forwarded calls: nothing else is made per call).
 */
export interface ForwardedCall extends Address {
  /** Takes the raw answer (Reply, Error or Canceled), or why none will come. */
  answered(answer: Message | undefined, error?: Error): void;
}

/** What forwarding uses of its channel beyond the channel's public members; given by the channel. */
export interface ForwardingLink extends CallLink {
  /**
   * Sends header fields and an encoded payload, with the channel's bookkeeping of answers and output; `from`: the
   * received message whose payload it is, whose bytes may be sent as they are (see `MessageStream.sendMessage`).
   */
  write(fields: SendFields, payload: Buffer, from?: Message): void;
  /** False when an emission must not be sent to a peer that does not read (see output.ts). */
  mayEmit(): boolean;
}

/** The raw forwarding of one channel; reached as `channel.raw`. */
export class RawForwarding {
  private readonly calls = new IdTable<ForwardedCall>();

  constructor(
    private readonly channel: Channel,
    private readonly link: ForwardingLink,
  ) {}

  /** Forwarded calls awaiting an answer. */
  get size(): number {
    return this.calls.size;
  }

  /**
   * Sends a Call (or Post) whose payload is already encoded, under a fresh id, and hands its answer
   * over undecoded. Returns the id used, or 0 when it was not sent (`onAnswer` was then told why).
   */
  forward(address: Address, type: number, flags: number, payload: Buffer, onAnswer: RawAnswer): number {
    const { service, object, action } = address;
    return this.forwardCall({ service, object, action, answered: onAnswer }, type, flags, payload);
  }

  /**
   * {@link forward} for a caller that keeps its calls as {@link ForwardedCall} objects: `call` is the
   * address, and its `answered` takes the answer. Returns the id used, or 0 when it was not sent
   * (`call.answered` was then told why).
   */
  forwardCall(call: ForwardedCall, type: number, flags: number, payload: Buffer, from?: Message): number {
    const ch = this.channel;
    if (ch.closed) {
      call.answered(undefined, this.link.closedError(`{${call.service}.${call.object}.${call.action}}`));
      return 0;
    }
    if (type === MessageType.Call && ch.pendingCalls >= ch.limits.maxPendingCalls) {
      call.answered(
        undefined,
        this.link.limitError(`Cannot forward a call to {${call.service}.${call.object}.${call.action}}`),
      );
      return 0;
    }
    const id = newMessageId();
    this.link.write(
      { id, type, flags, service: call.service, object: call.object, action: call.action },
      payload,
      from,
    );
    if (type === MessageType.Call) this.calls.set(id, call);
    return id;
  }

  /** Forgets a forwarded call without telling the peer (its answer, if any, is then ignored). */
  drop(id: number): void {
    this.calls.delete(id);
  }

  /**
   * Sends a message whose payload is already encoded, with the header fields given (id included). The
   * text of an Error goes through the channel's `errorFilter`, as the channel's own errors do.
   */
  send(fields: SendFields, payload: Buffer, from?: Message): void {
    const filter = this.channel.errorFilter;
    if (fields.type === MessageType.Error && filter !== undefined) {
      return this.channel.send(fields, ERROR_CODEC, new Dynamic('s', filter(payloadErrorText(payload), fields.id)));
    }
    this.link.write(fields, payload, from);
  }

  /**
   * Relays an Event whose payload is already encoded (an emission forwarded from elsewhere), under the
   * same rule as `Channel.emit` for a peer that does not read. Returns false when it was dropped.
   */
  relayEvent(fields: Address & { id: number; flags?: number }, payload: Buffer): boolean {
    if (!this.link.mayEmit()) return false;
    this.link.write({ ...fields, type: MessageType.Event }, payload);
    return true;
  }

  /**
   * Asks the peer to cancel a forwarded call. Its answer (Canceled, or the result if it was already
   * done) still comes through, unless `forget` drops the call here too. Returns false when the peer
   * cannot cancel calls (the answer, if any, will be the normal one).
   */
  cancel(id: number, forget = false): boolean {
    const f = this.calls.get(id);
    if (f === undefined) return false;
    if (forget) this.calls.delete(id);
    return this.link.cancel(f, id);
  }

  /** Takes the answer `m` when it answers a forwarded call (true), undecoded; false when it is not ours. */
  answer(m: Message): boolean {
    const f = this.calls.take(m.id);
    if (f === undefined) return false;
    f.answered(m);
    return true;
  }

  /** The channel closed: every forwarded call is told that no answer will come. */
  closed(error: Error | undefined): void {
    const why = error ? ` (${error.message})` : '';
    const calls = this.calls.valueList();
    this.calls.clear();
    for (const f of calls) {
      f.answered(
        undefined,
        new QiClosedError(
          `The connection to ${this.channel.remote} closed while a call was waiting for its answer${why}`,
          error,
        ),
      );
    }
  }
}
