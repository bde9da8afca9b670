/**
 * One connection's life: message ids, pending calls with their timeouts and cancellation, replies,
 * events, and routing of incoming calls to the local objects bound on this connection by
 * (service, object). The same socket carries calls both ways (capability ClientServerSocket).
 */
import { HEADER_SIZE, Message, MessageFlags, MessageType, encodeInto } from '../message/index.js';
import type { MessageStream } from '../transport/index.js';
import { QiClosedError } from '../transport/index.js';
import {
  Dynamic,
  Writer,
  compile,
  type Codec,
  type CodecOptions,
  type ObjectHooks,
  createMetaObjectCache,
} from '../type/index.js';
import { Capability, defaultCapabilities, mergeCapabilities, truthy, type CapabilityMap } from './capabilities.js';
import { ERROR_CODEC, errorText, noObjectText, payloadErrorText } from './error-text.js';
import { QiCallError, QiCanceledError, QiLimitError, QiTimeoutError } from './errors.js';
import { guardCall, type Disarm } from './call-guard.js';
import { Heartbeat, probe } from './heartbeat.js';
import { resolveLimits, type ChannelLimits } from './limits.js';
import { OutputBound } from './output.js';

/** Where a message goes: service, object, action. */
export interface Address {
  service: number;
  object: number;
  action: number;
}

/** A local object (or a whole service) receiving Calls, Posts and Cancels on this channel. */
export interface MessageHandler {
  onMessage(message: Message, channel: Channel): void;
}

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

const NO_OPTIONS: CallOptions = Object.freeze({});

let lastId = 0;
/** A new message id. One counter for the whole process, as libqi does: ids never repeat across sockets. */
export function newMessageId(): number {
  lastId = (lastId + 1) >>> 0 || 1;
  return lastId;
}

/** Receives the raw answer (Reply, Error or Canceled) of a forwarded call, or why none will come. */
export type RawAnswer = (answer: Message | undefined, error?: Error) => void;

interface Pending {
  /** Set for forwarded calls: the answer is handed over as it came, undecoded. */
  raw?: RawAnswer;
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

const noop = (): void => {};
const VOID_CODEC = compile('v');
/** The codec of capability and authentication maps. */
export const CAPS_CODEC = compile('{sm}');
const key = (service: number, object: number) => service * 0x1_0000_0000 + object;

/** What the handshake code needs from a channel; not part of the public API. */
export interface ChannelInternals {
  deliver(m: Message): void;
  closed(error?: Error): void;
}

/** One connection after its handshake: calls, answers, events and routing, both ways. Made by `openChannel`/`acceptChannel`. */
export class Channel {
  /** Capabilities we advertise. */
  readonly localCapabilities: CapabilityMap;
  /** Capabilities the peer advertised (merged as received, first value wins). */
  readonly remoteCapabilities: CapabilityMap = new Map();
  private hooks: ObjectHooks | undefined;
  private options: CodecOptions | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly handlers = new Map<number, MessageHandler>();
  private readonly serviceHandlers = new Map<number, MessageHandler>();
  private fallback: MessageHandler | undefined;
  private readonly eventHandlers = new Map<number, Set<(m: Message) => void>>();
  private readonly closeListeners = new Set<(error?: Error) => void>();
  private writer = new Writer({}, 1024);
  /** MetaObject cache tables (both directions), used only when the peers share MetaObjectCache. */
  private readonly moCache = createMetaObjectCache();
  private closeError: Error | undefined;
  private isClosed = false;
  /** Set by the server handshake while a connection is not yet allowed to reach objects. */
  gate: ((m: Message) => boolean) | undefined;
  /** Service id of the message being encoded, for object hooks (references carry it). */
  encodingService = 0;
  /** The limits in effect on this connection. */
  readonly limits: Required<ChannelLimits>;
  /** The bound on what is queued for the peer (see output.ts). */
  private readonly output: OutputBound;
  /** Ids of the peer's calls running here, not yet answered. */
  private readonly incoming = new Set<number>();
  /** Messages received so far (the heartbeat watches it move). */
  private received = 0;
  private heartbeat: Heartbeat | undefined;
  /**
   * Rewrites the text of every Error answer sent to the peer, made here or relayed, given the id of the
   * call it answers (a gateway sets it on its outside connections so that no internal address reaches
   * them). None by default.
   */
  errorFilter: ((text: string, id: number) => string) | undefined;

  /**
   * @param stream the connection
   * @param capabilities what we advertise
   * @param side `client` if we opened the connection, `server` if we accepted it
   */
  constructor(
    readonly stream: MessageStream,
    capabilities: CapabilityMap = defaultCapabilities(),
    readonly side: 'client' | 'server' = 'client',
    limits?: ChannelLimits,
  ) {
    this.localCapabilities = capabilities;
    this.limits = resolveLimits(limits);
    this.output = new OutputBound(stream, this.limits, side);
    if (side === 'client' && this.limits.heartbeatMs > 0) {
      this.heartbeat = new Heartbeat(
        this.limits.heartbeatMs,
        () => this.received,
        (ms) => probe(this, ms),
        (ms) =>
          this.stream.destroy(
            new QiTimeoutError(
              `${this.remote} stopped answering: nothing received for ${ms} ms, not even an answer to a keep-alive probe. The network may be down or the peer frozen (heartbeat: limits.heartbeatMs or QI_HEARTBEAT_MS).`,
            ),
          ),
      );
    }
  }

  private limitError(what: string): QiLimitError {
    return new QiLimitError(
      `${what}: ${this.pending.size} calls to ${this.remote} are already waiting for their answers (limit ${this.limits.maxPendingCalls}). The peer is slow or stuck; wait for answers before sending more, or raise limits.maxPendingCalls (QI_MAX_PENDING_CALLS).`,
    );
  }

  /** The peer, as a URL (for messages). */
  get remote(): string {
    return this.stream.remote;
  }

  /** Signal emissions not sent because the peer did not read (see `limits.slowPeer`). */
  get droppedEvents(): number {
    return this.output.dropped;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** True when both sides advertise `name` (libqi's "shared" rule). */
  shared(name: string): boolean {
    return truthy(this.localCapabilities.get(name)) && truthy(this.remoteCapabilities.get(name));
  }

  /** Hooks through which the object layer turns objects into references and back. */
  get objectHooks(): ObjectHooks | undefined {
    return this.hooks;
  }

  set objectHooks(hooks: ObjectHooks | undefined) {
    this.hooks = hooks;
    this.options = undefined;
  }

  /** Codec options for this connection: object reference layout follows the shared capabilities. */
  codecOptions(): CodecOptions {
    // Computed once per change of capabilities or hooks: it is read for every message.
    return (this.options ??= {
      objectUid: this.shared(Capability.ObjectPtrUID),
      metaObjectCache: this.shared(Capability.MetaObjectCache) ? this.moCache : undefined,
      objects: this.hooks,
    });
  }

  /** Merges capabilities received from the peer (libqi's rule: the first value of a key wins). */
  mergeRemoteCapabilities(received: CapabilityMap): void {
    mergeCapabilities(this.remoteCapabilities, received);
    this.options = undefined;
  }

  /** Encodes and sends one message. */
  send(
    fields: Address & { id: number; type: number; flags?: number },
    codec: Codec | string,
    value: unknown,
    name = 'value',
  ): void {
    if (fields.type === MessageType.Reply || fields.type === MessageType.Error || fields.type === MessageType.Canceled)
      this.incoming.delete(fields.id);
    this.encodingService = fields.service;
    // One writer reused for every message of this connection; the stream copies the bytes out.
    const w = this.writer;
    w.reset(this.codecOptions(), HEADER_SIZE);
    encodeInto(w, fields, codec, value, name);
    if (w.chunked) {
      this.stream.send(w.finishChunks());
      this.writer = new Writer({}, 1024); // the chunks are views on the old buffer: never reuse it
    } else {
      this.stream.sendCopy(w.buf, 0, w.pos);
    }
    this.output.queued();
  }

  /**
   * Calls a method: encodes `args` with `argsCodec`, resolves with the reply decoded by `returnCodec`.
   * @param namer names the call in errors when `options.name` does not (only when an error needs it)
   * @throws {@link QiCallError} with the peer's text, {@link QiClosedError}, {@link QiTimeoutError},
   * {@link QiCanceledError}, or a codec error when `args` do not fit.
   */
  call(
    address: Address,
    argsCodec: Codec | string,
    args: unknown,
    returnCodec: Codec | string,
    options: CallOptions = NO_OPTIONS,
    namer?: CallNamer,
  ): Promise<unknown> {
    const codec = typeof returnCodec === 'string' ? compile(returnCodec) : returnCodec;
    return new Promise((resolve, reject) => {
      if (this.isClosed) return reject(this.closedError(callName(options.name, namer, address)));
      const signal = options.signal;
      if (signal?.aborted)
        return reject(
          new QiCanceledError(
            `${callName(options.name, namer, address)} was canceled before it was sent.`,
            signal.reason,
          ),
        );
      if (this.pending.size >= this.limits.maxPendingCalls)
        return reject(this.limitError(`Cannot call ${callName(options.name, namer, address)}`));
      const id = newMessageId();
      try {
        this.send(
          { service: address.service, object: address.object, action: address.action, id, type: MessageType.Call },
          argsCodec,
          args,
          'args',
        );
      } catch (e) {
        return reject(e);
      }
      const entry: Pending = { resolve, reject, codec, name: options.name, namer, address };
      this.pending.set(id, entry);
      // Timers and abort listeners only for the calls that ask for them: most calls are plain.
      if (options.timeoutMs !== undefined || signal !== undefined)
        entry.disarm = guardCall(options, callName(options.name, namer, address), this.remote, (e) =>
          this.abandon(id, e),
        );
    });
  }

  /**
   * Sends a Call (or Post) whose payload is already encoded, under a fresh id, and hands its answer
   * over undecoded: how a gateway forwards without knowing signatures. Returns the id used.
   */
  forward(address: Address, type: number, flags: number, payload: Buffer, onAnswer: RawAnswer): number {
    if (this.isClosed) {
      onAnswer(undefined, this.closedError(`{${address.service}.${address.object}.${address.action}}`));
      return 0;
    }
    if (type === MessageType.Call && this.pending.size >= this.limits.maxPendingCalls) {
      onAnswer(
        undefined,
        this.limitError(`Cannot forward a call to {${address.service}.${address.object}.${address.action}}`),
      );
      return 0;
    }
    const id = newMessageId();
    this.stream.sendMessage(
      { id, type, flags, service: address.service, object: address.object, action: address.action },
      payload,
    );
    if (type === MessageType.Call) {
      this.pending.set(id, {
        raw: onAnswer,
        resolve: noop,
        reject: noop,
        codec: VOID_CODEC,
        name: '',
        address,
      });
    }
    this.output.queued();
    return id;
  }

  /** Forgets a forwarded call without telling the peer (its answer, if any, is then ignored). */
  dropForwarded(id: number): void {
    if (this.pending.get(id)?.raw !== undefined) this.pending.delete(id);
  }

  /** Sends a message whose payload is already encoded, with the header fields given (id included). */
  sendRaw(fields: Address & { id: number; type: number; flags?: number }, payload: Buffer): void {
    if (fields.type === MessageType.Error && this.errorFilter !== undefined) {
      return this.send(fields, ERROR_CODEC, new Dynamic('s', this.errorFilter(payloadErrorText(payload), fields.id)));
    }
    if (fields.type === MessageType.Reply || fields.type === MessageType.Error || fields.type === MessageType.Canceled)
      this.incoming.delete(fields.id);
    this.stream.sendMessage(fields, payload);
    this.output.queued();
  }

  /**
   * Relays an Event whose payload is already encoded (an emission forwarded from elsewhere), under the
   * same rule as {@link emit} for a peer that does not read. Returns false when it was dropped.
   */
  relayEvent(fields: Address & { id: number; flags?: number }, payload: Buffer): boolean {
    if (!this.output.mayEmit()) return false;
    this.sendRaw({ ...fields, type: MessageType.Event }, payload);
    return true;
  }

  /**
   * Asks the peer to cancel a forwarded call. Its answer (Canceled, or the result if it was already
   * done) still comes through, unless `forget` drops the call here too. Returns false when the peer
   * cannot cancel calls (the answer, if any, will be the normal one).
   */
  cancelForwarded(id: number, forget = false): boolean {
    const p = this.pending.get(id);
    if (p === undefined || p.raw === undefined) return false;
    if (forget) this.pending.delete(id);
    if (this.isClosed || !this.shared(Capability.RemoteCancelableCalls)) return false;
    this.send(
      { service: p.address.service, object: p.address.object, action: 0, id: newMessageId(), type: MessageType.Cancel },
      'I',
      id,
    );
    return true;
  }

  /** Gives up a pending call locally and asks the peer to cancel it (when the peer can). */
  private abandon(id: number, error: Error): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    cleanup(p);
    p.reject(error);
    if (!this.isClosed && this.shared(Capability.RemoteCancelableCalls)) {
      // libqi's form: a new id, action 0, the canceled call's id as payload.
      this.send(
        {
          service: p.address.service,
          object: p.address.object,
          action: 0,
          id: newMessageId(),
          type: MessageType.Cancel,
        },
        'I',
        id,
      );
    }
  }

  /** Sends a Post (no answer, not even on error). */
  post(address: Address, argsCodec: Codec | string, args: unknown): void {
    this.send({ ...address, id: newMessageId(), type: MessageType.Post }, argsCodec, args, 'args');
  }

  /** Sends an Event (a signal emission) to the peer. */
  emit(address: Address, argsCodec: Codec | string, args: unknown): void {
    if (this.output.mayEmit())
      this.send({ ...address, id: newMessageId(), type: MessageType.Event }, argsCodec, args, 'args');
  }

  /** Answers a Call with a value. */
  reply(call: Message, codec: Codec | string, value: unknown): void {
    if (this.stream.isClosed) return; // nobody is left to answer
    this.send(
      { id: call.id, service: call.service, object: call.object, action: call.action, type: MessageType.Reply },
      codec,
      value,
      'result',
    );
  }

  /** Answers a Call with an error text (sent as a dynamic string, as every libqi expects). */
  replyError(call: Message, text: string): void {
    if (this.stream.isClosed) return; // nobody is left to answer
    const t = this.errorFilter === undefined ? text : this.errorFilter(text, call.id);
    this.send(
      { id: call.id, service: call.service, object: call.object, action: call.action, type: MessageType.Error },
      ERROR_CODEC,
      new Dynamic('s', t),
    );
  }

  /** Answers a canceled Call. */
  replyCanceled(call: Message): void {
    if (this.stream.isClosed) return; // nobody is left to answer
    this.send(
      { id: call.id, service: call.service, object: call.object, action: call.action, type: MessageType.Canceled },
      VOID_CODEC,
      undefined,
    );
  }

  /** Routes Calls/Posts/Cancels for (service, object) to `handler`. Returns a function that unbinds. */
  bindObject(service: number, object: number, handler: MessageHandler): () => void {
    const k = key(service, object);
    this.handlers.set(k, handler);
    return () => {
      if (this.handlers.get(k) === handler) this.handlers.delete(k);
    };
  }

  /** Routes every object of `service` not bound on its own to `handler`. */
  bindService(service: number, handler: MessageHandler): () => void {
    this.serviceHandlers.set(service, handler);
    return () => {
      if (this.serviceHandlers.get(service) === handler) this.serviceHandlers.delete(service);
    };
  }

  /** Routes Calls/Posts/Cancels that no object or service binding claims to `handler` (a gateway's forwarder). */
  bindFallback(handler: MessageHandler | undefined): void {
    this.fallback = handler;
  }

  /** Receives Events from the peer's object (service, object). Returns a function that stops. */
  onEvent(service: number, object: number, handler: (m: Message) => void): () => void {
    // Several proxies of one remote object may share a connection: each gets every event.
    const k = key(service, object);
    let set = this.eventHandlers.get(k);
    if (set === undefined) this.eventHandlers.set(k, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.eventHandlers.get(k) === set) this.eventHandlers.delete(k);
    };
  }

  /** Calls `listener` once when the channel closes. Returns a function that removes it. */
  onClose(listener: (error?: Error) => void): () => void {
    if (this.isClosed) {
      queueMicrotask(() => listener(this.closeError));
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Closes the connection; pending calls fail with QiClosedError. */
  close(): void {
    this.stream.close();
    this.internals.closed(undefined);
  }

  /** Number of calls awaiting an answer. */
  get pendingCalls(): number {
    return this.pending.size;
  }

  private closedError(name: string): QiClosedError {
    const why = this.closeError ? `: ${this.closeError.message}` : '';
    return new QiClosedError(`Cannot call ${name}: the connection to ${this.remote} is closed${why}.`, this.closeError);
  }

  /** @internal entry points for the stream and the handshake. */
  readonly internals: ChannelInternals = {
    deliver: (m) => this.dispatch(m),
    closed: (error) => {
      if (this.isClosed) return;
      this.isClosed = true;
      this.closeError = error;
      this.heartbeat?.stop();
      this.incoming.clear();
      const why = error ? ` (${error.message})` : '';
      for (const [, p] of this.pending) {
        if (p.raw !== undefined) {
          p.raw(
            undefined,
            new QiClosedError(
              `The connection to ${this.remote} closed while a call was waiting for its answer${why}`,
              error,
            ),
          );
          continue;
        }
        cleanup(p);
        p.reject(
          new QiClosedError(
            `The connection to ${this.remote} closed while ${callName(p.name, p.namer, p.address)} was waiting for its answer${why}. The service or its process may have stopped; retry once it is back.`,
            error,
          ),
        );
      }
      this.pending.clear();
      for (const l of this.closeListeners) l(error);
      this.closeListeners.clear();
      this.handlers.clear();
      this.serviceHandlers.clear();
      this.eventHandlers.clear();
      this.fallback = undefined;
    },
  };

  private dispatch(m: Message): void {
    this.received++;
    if (this.gate !== undefined && !this.gate(m)) return;
    switch (m.type) {
      case MessageType.Reply:
      case MessageType.Error:
      case MessageType.Canceled:
        return this.answer(m);
      case MessageType.Event: {
        const handlers = this.eventHandlers.get(key(m.service, m.object));
        if (handlers !== undefined) for (const h of handlers) h(m);
        return;
      }
      case MessageType.Call:
      case MessageType.Post:
      case MessageType.Cancel: {
        if (m.type === MessageType.Call) {
          if (this.incoming.has(m.id)) {
            // Answers go by id: a second call under the id of one still running could never be told
            // apart from it (and would slip past the limit below). The first call keeps running.
            this.replyError(
              m,
              `Protocol error: message id ${m.id} is already in use by a pending call on this connection; this call was not run. Give every call its own id (ids may be reused only once answered).`,
            );
            this.incoming.add(m.id);
            return;
          }
          if (this.incoming.size >= this.limits.maxIncomingCalls) {
            return this.replyError(
              m,
              `Too many calls in flight on this connection: ${this.incoming.size} are still running (limit ${this.limits.maxIncomingCalls}, maxIncomingCalls / QI_MAX_INCOMING_CALLS). Wait for answers before sending more.`,
            );
          }
          this.incoming.add(m.id);
        }
        const h = this.handlers.get(key(m.service, m.object)) ?? this.serviceHandlers.get(m.service) ?? this.fallback;
        if (h !== undefined) return h.onMessage(m, this);
        if (m.type === MessageType.Call) this.replyError(m, noObjectText(m));
        return;
      }
      case MessageType.Capability:
        try {
          this.mergeRemoteCapabilities(m.decode(CAPS_CODEC) as CapabilityMap);
        } catch {
          // A malformed capability map changes nothing; libqi ignores it too.
        }
        return;
      default:
        return; // unknown types are ignored, as libqi does
    }
  }

  private answer(m: Message): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return; // late answer to a call that timed out or was canceled
    this.pending.delete(m.id);
    if (p.raw !== undefined) return p.raw(m);
    cleanup(p);
    try {
      if (m.type === MessageType.Reply) {
        if (m.flags & MessageFlags.DynamicPayload) p.resolve((m.decode('m', this.codecOptions()) as Dynamic).value);
        else p.resolve(m.decode(p.codec, this.codecOptions()));
      } else if (m.type === MessageType.Error) {
        p.reject(new QiCallError(callName(p.name, p.namer, p.address), errorText(m)));
      } else {
        p.reject(new QiCanceledError(`${callName(p.name, p.namer, p.address)} was canceled by ${this.remote}.`));
      }
    } catch (e) {
      p.reject(e);
    }
  }
}
