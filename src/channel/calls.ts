/**
 * Our typed calls on one channel: arguments encoded from values, answers decoded with the codec of
 * the return type, with timeouts, abort signals and remote cancellation. They have their own table
 * (id → pending call), beside raw forwarding's; the channel hands every answer to {@link TypedCalls.answer}
 * first.
 */
import { MessageFlags, MessageType, type Message } from '../message/index.js';
import { QiClosedError } from '../transport/index.js';
import { compile, type Codec, type Dynamic } from '../type/index.js';
import { newMessageId, type Address } from './address.js';
import type { Channel } from './channel.js';
import { errorText } from './error-text.js';
import { guardCall, type Disarm } from './call-guard.js';
import { IdTable } from './id-table.js';
import { QiCallError, QiCanceledError } from './errors.js';

/** Per-call options. */
export interface CallOptions {
  /** Cancels the call: the promise rejects with QiCanceledError and the peer is told to stop. */
  signal?: AbortSignal;
  /** Rejects with QiTimeoutError (and cancels remotely) after this many milliseconds. */
  timeoutMs?: number;
  /** How to name the call in errors, e.g. `ALTextToSpeech.say`. */
  name?: string;
}

/**
 * Names calls in errors, asked only when an error needs the name (a proxy's backend: `Service.method`
 * from the action), so that a call that succeeds builds no name.
 */
export interface CallNamer {
  callName(address: Address): string;
}

/** The name of a call in errors: `options.name`, else the namer's, else `{service.object.action}`. */
function callName(name: string | undefined, namer: CallNamer | undefined, a: Address): string {
  return name ?? namer?.callName(a) ?? `{${a.service}.${a.object}.${a.action}}`;
}

/** What the tables of calls use of their channel beyond its public members; given by the channel. */
export interface CallLink {
  /** The error of a call to `name` made once the channel is closed. */
  closedError(name: string): Error;
  /** The error of a call refused because too many are pending; `what` starts the text. */
  limitError(what: string): Error;
  /** Asks the peer to cancel call `id` made to `address`; false when the peer cannot cancel calls. */
  cancel(address: Address, id: number): boolean;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  codec: Codec;
  /** `CallOptions.name`, if given; see {@link callName}. */
  name: string | undefined;
  namer?: CallNamer;
  address: Address;
  /** Clears the call's timer and abort listener, when it has them. */
  disarm?: Disarm;
}

function cleanup(p: Pending): void {
  p.disarm?.();
}

/** The typed calls of one channel, made through `Channel.call`. */
export class TypedCalls {
  private readonly pending = new IdTable<Pending>();

  constructor(
    private readonly channel: Channel,
    private readonly link: CallLink,
  ) {}

  /** Typed calls awaiting an answer. */
  get size(): number {
    return this.pending.size;
  }

  /** See `Channel.call`. */
  call(
    address: Address,
    argsCodec: Codec | string,
    args: unknown,
    returnCodec: Codec | string,
    options: CallOptions,
    namer: CallNamer | undefined,
  ): Promise<unknown> {
    const ch = this.channel;
    const codec = typeof returnCodec === 'string' ? compile(returnCodec) : returnCodec;
    if (ch.closed) return Promise.reject(this.link.closedError(callName(options.name, namer, address)));
    const signal = options.signal;
    if (signal?.aborted)
      return Promise.reject(
        new QiCanceledError(
          `${callName(options.name, namer, address)} was canceled before it was sent.`,
          signal.reason,
        ),
      );
    if (ch.pendingCalls >= ch.limits.maxPendingCalls)
      return Promise.reject(this.link.limitError(`Cannot call ${callName(options.name, namer, address)}`));
    const id = newMessageId();
    try {
      ch.sendOf(id, MessageType.Call, 0, address.service, address.object, address.action, argsCodec, args, 'args');
    } catch (e) {
      return Promise.reject(e);
    }
    // One executor for every call (it hands over the promise's settle functions): no closure per call.
    const promise = new Promise(this.capture);
    const entry: Pending = { resolve: this.settle!, reject: this.fail!, codec, name: options.name, namer, address };
    this.settle = this.fail = undefined;
    this.pending.set(id, entry);
    // Timers and abort listeners only for the calls that ask for them: most calls are plain.
    if (options.timeoutMs !== undefined || signal !== undefined)
      entry.disarm = guardCall(options, callName(options.name, namer, address), ch.remote, (e) => this.abandon(id, e));
    return promise;
  }

  /** The settle functions of the promise {@link capture} ran for last. */
  private settle: ((v: unknown) => void) | undefined;
  private fail: ((e: unknown) => void) | undefined;
  private readonly capture = (resolve: (v: unknown) => void, reject: (e: unknown) => void): void => {
    this.settle = resolve;
    this.fail = reject;
  };

  /** Gives up a pending call locally and asks the peer to cancel it (when the peer can). */
  private abandon(id: number, error: Error): void {
    const p = this.pending.take(id);
    if (p === undefined) return;
    cleanup(p);
    p.reject(error);
    this.link.cancel(p.address, id);
  }

  /** Takes the answer `m` when it answers one of these calls (true), decoded; false when it is not ours. */
  answer(m: Message): boolean {
    const p = this.pending.take(m.id);
    if (p === undefined) return false;
    cleanup(p);
    const ch = this.channel;
    try {
      if (m.type === MessageType.Reply) {
        if (m.flags & MessageFlags.DynamicPayload) p.resolve(m.decode<Dynamic>('m', ch.codecOptions()).value);
        else p.resolve(m.decode(p.codec, ch.codecOptions()));
      } else if (m.type === MessageType.Error) {
        p.reject(new QiCallError(callName(p.name, p.namer, p.address), errorText(m)));
      } else {
        p.reject(new QiCanceledError(`${callName(p.name, p.namer, p.address)} was canceled by ${ch.remote}.`));
      }
    } catch (e) {
      p.reject(e);
    }
    return true;
  }

  /** The channel closed: every pending call fails with a {@link QiClosedError}. */
  closed(error: Error | undefined): void {
    const why = error ? ` (${error.message})` : '';
    const all = this.pending.valueList();
    this.pending.clear();
    for (const p of all) {
      cleanup(p);
      p.reject(
        new QiClosedError(
          `The connection to ${this.channel.remote} closed while ${callName(p.name, p.namer, p.address)} was waiting for its answer${why}. The service or its process may have stopped; retry once it is back.`,
          error,
        ),
      );
    }
  }
}
