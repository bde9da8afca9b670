/**
 * One connection's life: sending (encoding with the connection's codec options), replies, events, one
 * dispatch of what arrives, and routing of incoming calls to the local objects bound on this connection
 * by (service, object). The same socket carries calls both ways (capability ClientServerSocket). Our
 * calls wait in two tables: typed ones in calls.ts, raw forwarded ones in forwarding.ts.
 */
import { HEADER_SIZE, Message, MessageType, encodePayloadInto, writeMessageHeaderOf } from '../message/index.js';
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
import { newMessageId, type Address, type SendFields } from './address.js';
import { Capability, defaultCapabilities, mergeCapabilities, truthy, type CapabilityMap } from './capabilities.js';
import { ERROR_CODEC, noObjectText } from './error-text.js';
import { QiLimitError } from './errors.js';
import { TypedCalls, type CallNamer, type CallOptions } from './calls.js';
import { RawForwarding, type ForwardingLink } from './forwarding.js';
import { IdTable } from './id-table.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { resolveLimits, type ChannelLimits } from './limits.js';
import { OutputBound } from './output.js';

/** A local object (or a whole service) receiving Calls, Posts and Cancels on this channel. */
export interface MessageHandler {
  onMessage(message: Message, channel: Channel): void;
}

const NO_OPTIONS: CallOptions = Object.freeze({});
/** Room asked of the stream's buffer for a message written in place: most messages are smaller. */
const LEND_ROOM = 256;
const VOID_CODEC = compile('v');
/** The codec of capability and authentication maps. */
export const CAPS_CODEC = compile('{sm}');
/** A Cancel message's payload: the id of the call to cancel (libqi sends it under a new id, action 0). */
export const CANCEL_CODEC = compile<number>('I');
/**
 * The key of (service, object) in the routing tables, read for every message: a small integer (a V8 Smi, which a
 * Map finds 2-4x faster than a double, with no number boxed per lookup) for the ids in real use, services under
 * 2^14 and objects under 2^16; other pairs get keys from 2^30 up, which no small key reaches. Exported for tests
 * that look into those tables; not part of the public API.
 */
export const key = (service: number, object: number) =>
  service < 0x4000 && object < 0x1_0000 ? service * 0x1_0000 + object : service * 0x1_0000_0000 + object + 0x4000_0000;
/** The object id of a {@link key} (for tests and scripts that count what is bound on a connection). */
export const keyObject = (k: number) => (k < 0x4000_0000 ? k % 0x1_0000 : (k - 0x4000_0000) % 0x1_0000_0000);

/** True for the types that answer a call: Reply, Error, Canceled. */
const isAnswer = (type: number) =>
  type === MessageType.Reply || type === MessageType.Error || type === MessageType.Canceled;

/** What the stream and the handshake code need from a channel; not part of the public API. */
export interface ChannelInternals {
  /** Takes one message from the stream (or one the handshake held back). */
  deliver(m: Message): void;
  /** The stream closed (`error`: why, when it was not a clean close). */
  closed(error?: Error): void;
  /**
   * While a handshake runs: every message goes to `gate` first, and on only when it returns true.
   * `undefined` removes the gate: messages go straight to the channel's dispatch again.
   */
  gate(gate: ((m: Message) => boolean) | undefined): void;
  /**
   * Ends the server side's handshake: the gate goes, and from now on every message for the connection's
   * server object (service 0, object 0) that is a Call goes to `handler` instead of being routed (answers to
   * our own calls there, such as a sign-of-life probe, are routed as any answer).
   */
  control(handler: (m: Message) => void): void;
}

/** One connection after its handshake: calls, answers, events and routing, both ways. Made by `openChannel`/`acceptChannel`. */
export class Channel {
  /** Capabilities we advertise. */
  readonly localCapabilities: CapabilityMap;
  /** Capabilities the peer advertised (merged as received, first value wins). */
  readonly remoteCapabilities: CapabilityMap = new Map();
  private hooks: ObjectHooks | undefined;
  private options: CodecOptions | undefined;
  private readonly handlers = new Map<number, MessageHandler>();
  private readonly serviceHandlers = new Map<number, MessageHandler>();
  private fallback: MessageHandler | undefined;
  private readonly eventHandlers = new Map<number, Set<(m: Message) => void>>();
  private readonly closeListeners = new Set<(error?: Error) => void>();
  private readonly writer = new Writer({}, 16);
  /** MetaObject cache tables (both directions), used only when the peers share MetaObjectCache. */
  private readonly moCache = createMetaObjectCache();
  private closeError: Error | undefined;
  private isClosed = false;
  /** Codec options of the last message sent with object hooks set, and its service (see {@link encodeOptions}). */
  private byService: (CodecOptions & { service: number }) | undefined;
  /** The limits in effect on this connection. */
  readonly limits: Required<ChannelLimits>;
  /** The bound on what is queued for the peer (see output.ts). */
  private readonly output: OutputBound;
  /** Ids of the peer's calls running here, not yet answered. */
  private readonly incoming = new IdTable<true>();
  private heartbeat: Heartbeat | undefined;
  /** Where each message received goes: dispatch, unless a handshake gate or control handler is set. */
  private receive: ((m: Message) => void) | undefined;
  /**
   * Rewrites the text of every Error answer sent to the peer, made here or relayed, given the id of the
   * call it answers (a gateway sets it on its outside connections so that no internal address reaches
   * them). None by default.
   */
  errorFilter: ((text: string, id: number) => string) | undefined;

  /** What the tables of calls use of this channel beyond its public members. */
  private linkOf(): ForwardingLink {
    return (this.link ??= {
      closedError: (name) => this.closedError(name),
      limitError: (what) => this.limitError(what),
      write: (fields, payload, from) => {
        this.answering(fields);
        this.stream.sendMessage(fields, payload, from);
        this.output.queued();
      },
      cancel: (address, id) => this.cancelRemote(address, id),
      mayEmit: () => this.output.mayEmit(),
    });
  }
  private link: ForwardingLink | undefined;
  /** Our typed calls awaiting an answer (see {@link call}); made on the first call, like {@link raw}. */
  private get calls(): TypedCalls {
    return (this.typed ??= new TypedCalls(this, this.linkOf()));
  }
  private typed: TypedCalls | undefined;
  /**
   * Raw forwarding on this connection: calls, answers and events whose payload is already encoded, and
   * answers handed over undecoded (how a gateway relays without knowing signatures).
   */
  get raw(): RawForwarding {
    // Made on first use: only a gateway forwards, and an idle connection should cost little.
    return (this.forwarding ??= new RawForwarding(this, this.linkOf()));
  }
  private forwarding: RawForwarding | undefined;

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
    if (side === 'client' && this.limits.heartbeatMs > 0) this.heartbeat = startHeartbeat(this);
  }

  private limitError(what: string): QiLimitError {
    return new QiLimitError(
      `${what}: ${this.pendingCalls} calls to ${this.remote} are already waiting for their answers (limit ${this.limits.maxPendingCalls}). The peer is slow or stuck; wait for answers before sending more, or raise limits.maxPendingCalls (QI_MAX_PENDING_CALLS).`,
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
    this.optionsChanged();
  }

  private optionsChanged(): void {
    this.options = undefined;
    this.byService = undefined;
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
    this.optionsChanged();
  }

  /**
   * Codec options of a message sent to `service`: object references made while encoding it are served
   * under that service (the object hooks read `service` from the options).
   */
  private encodeOptions(service: number): CodecOptions {
    const o = this.codecOptions();
    if (o.objects === undefined) return o;
    // One entry, not a table: a connection mostly sends to one service, and an idle one should cost little.
    if (this.byService?.service !== service) this.byService = { ...o, service };
    return this.byService;
  }

  /** Before a message leaves: an answer ends the peer's call it answers. */
  private answering(fields: SendFields): void {
    if (isAnswer(fields.type)) this.incoming.delete(fields.id);
  }

  /** Encodes and sends one message. */
  send(fields: SendFields, codec: Codec | string, value: unknown, name = 'value'): void {
    const f = fields;
    this.sendOf(f.id, f.type, f.flags ?? 0, f.service, f.object, f.action, codec, value, name);
  }

  /**
   * {@link send} from the header fields one by one (no object per message: calls and replies go this way).
   * @internal
   */
  sendOf(
    id: number,
    type: number,
    flags: number,
    service: number,
    object: number,
    action: number,
    codec: Codec | string,
    value: unknown,
    name: string,
  ): void {
    if (isAnswer(type)) this.incoming.delete(id);
    // Written in place in the stream's buffer of this tick (no copy), by one writer reused for every message.
    const w = this.writer;
    const s = this.stream;
    const buf = s.lend(LEND_ROOM);
    w.into(buf, s.lentAt, HEADER_SIZE, this.encodeOptions(service));
    encodePayloadInto(w, codec, value, name);
    writeMessageHeaderOf(w.head, w.headOffset, id, type, flags, service, object, action, w.length - HEADER_SIZE);
    if (w.chunked) s.send(w.finishChunks(), true);
    else if (w.buf === buf) s.commit(w.pos);
    else s.send([w.buf.subarray(0, w.pos)]); // it outgrew the stream's buffer: it is in a buffer of its own
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
    return this.calls.call(address, argsCodec, args, returnCodec, options, namer);
  }

  /** Asks the peer to cancel our call `id` to `address`; false when it cannot (closed, or no RemoteCancelableCalls). */
  private cancelRemote(address: Address, id: number): boolean {
    if (this.isClosed || !this.shared(Capability.RemoteCancelableCalls)) return false;
    // libqi's form: a new id, action 0, the canceled call's id as payload.
    this.send(
      { service: address.service, object: address.object, action: 0, id: newMessageId(), type: MessageType.Cancel },
      CANCEL_CODEC,
      id,
    );
    return true;
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
    const c = call;
    this.sendOf(c.id, MessageType.Reply, 0, c.service, c.object, c.action, codec, value, 'result');
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

  /** What handles Calls for (service, object) bound on its own, if anything. */
  boundTo(service: number, object: number): MessageHandler | undefined {
    return this.handlers.get(key(service, object));
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

  /** Number of calls awaiting an answer, forwarded ones included. */
  get pendingCalls(): number {
    return (this.typed?.size ?? 0) + (this.forwarding?.size ?? 0);
  }

  private closedError(name: string): QiClosedError {
    const why = this.closeError ? `: ${this.closeError.message}` : '';
    return new QiClosedError(`Cannot call ${name}: the connection to ${this.remote} is closed${why}.`, this.closeError);
  }

  /** @internal entry points for the stream and the handshake. */
  readonly internals: ChannelInternals = {
    deliver: (m) => {
      if (this.receive === undefined) this.dispatch(m);
      else this.receive(m);
    },
    gate: (gate) => {
      this.receive = gate === undefined ? undefined : (m) => void (gate(m) && this.dispatch(m));
    },
    control: (handler) => {
      this.receive = (m) =>
        m.service === 0 && m.object === 0 && m.type === MessageType.Call ? handler(m) : this.dispatch(m);
    },
    closed: (error) => {
      if (this.isClosed) return;
      this.isClosed = true;
      this.closeError = error;
      this.heartbeat?.stop();
      this.incoming.clear();
      this.typed?.closed(error);
      this.forwarding?.closed(error);
      for (const l of this.closeListeners) l(error);
      this.closeListeners.clear();
      this.handlers.clear();
      this.serviceHandlers.clear();
      this.eventHandlers.clear();
      this.fallback = undefined;
    },
  };

  private dispatch(m: Message): void {
    switch (m.type) {
      case MessageType.Reply:
      case MessageType.Error:
      case MessageType.Canceled:
        // One dispatch of answers, by id: a typed call's, a forwarded call's, or a late one (dropped).
        if (!this.typed?.answer(m)) this.forwarding?.answer(m);
        return;
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
            this.incoming.set(m.id, true);
            return;
          }
          if (this.incoming.size >= this.limits.maxIncomingCalls) {
            return this.replyError(
              m,
              `Too many calls in flight on this connection: ${this.incoming.size} are still running (limit ${this.limits.maxIncomingCalls}, maxIncomingCalls / QI_MAX_INCOMING_CALLS). Wait for answers before sending more.`,
            );
          }
          this.incoming.set(m.id, true);
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
}
