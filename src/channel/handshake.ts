/**
 * Opening a channel: the capability exchange and authentication handshake of libqi (spec §6), as a
 * client and as a server. The client copes with every server generation: libqi 4.x and NAOqi 2.9
 * (state as `I`, credentials), NAOqi 2.5 (state as `i`), NAOqi 2.1 (no authenticate at all: an Error,
 * then capabilities). The server answers libqi 4.x clients exactly as libqi does and, without an
 * authenticator, also lets older clients in that start with a Capability message or a plain call.
 */
import { Message, MessageType } from '../message/index.js';
import { explainNotQi, type MessageStream } from '../transport/index.js';
import { Dynamic, toDynamic } from '../type/index.js';
import { credentialsAuthenticator, type Authenticator, type ClientAuthenticator, type Credentials } from './auth.js';
import { answeredCapabilities, defaultCapabilities, type CapabilityMap } from './capabilities.js';
import { newMessageId } from './address.js';
import { CAPS_CODEC, Channel } from './channel.js';
import { errorText } from './error-text.js';
import { QiAuthError, QiTimeoutError } from './errors.js';
import type { ChannelLimits } from './limits.js';

const AUTH_STATE = '__qi_auth_state';
const AUTH = { service: 0, object: 0, action: 8 } as const;
const enum State {
  Error = 1,
  Continue = 2,
  Done = 3,
}

/** Options of the client side of a connection. */
export interface OpenOptions {
  /** Credentials (`{ user, token }`) or a custom authenticator. */
  auth?: Credentials | ClientAuthenticator;
  /** Capabilities to advertise (default: libqi 4.x's set). */
  capabilities?: CapabilityMap;
  /** Fail when the handshake takes longer (default 10,000 ms), counted from `startedAt`. */
  timeoutMs?: number;
  /**
   * When connecting began (`Date.now()`; default: when the handshake begins). A caller that passes the
   * time it started dialling gets one budget for the TCP/TLS connection and the handshake together.
   */
  startedAt?: number;
  /** Limits of the connection (pending calls, queues, heartbeat). */
  limits?: ChannelLimits;
}

/** Options of the server side of a connection. */
export interface AcceptOptions {
  /** Enforce authentication with this authenticator; without one every client is let in, as in libqi. */
  authenticator?: Authenticator;
  /** Capabilities to advertise (default: libqi 4.x's set). */
  capabilities?: CapabilityMap;
  /** Drop a client that has not completed the handshake after this long (default 20,000 ms). */
  handshakeTimeoutMs?: number;
  /** Called once the client may reach objects. */
  onReady?(channel: Channel): void;
  /** Limits of the connection (incoming calls, queues). */
  limits?: ChannelLimits;
}

function toMap(entries: Record<string, unknown>, prefix: string): CapabilityMap {
  const m: CapabilityMap = new Map();
  for (const [k, v] of Object.entries(entries)) m.set(prefix + k, toDynamic(v));
  return m;
}

function unprefixed(map: CapabilityMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of map) if (typeof k === 'string' && k.startsWith('auth_')) out[k.slice(5)] = v.value;
  return out;
}

function stateOf(d: Dynamic | undefined): number {
  const v = d?.value;
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : 0;
}

/**
 * Opens the client side of a connection: sends the authenticate call and waits until the server lets
 * us in.
 * @throws {@link QiAuthError} when credentials are refused or the handshake fails,
 * {@link QiTimeoutError} when the server does not answer.
 */
export async function openChannel(stream: MessageStream, options: OpenOptions = {}): Promise<Channel> {
  const ch = new Channel(stream, options.capabilities ?? defaultCapabilities(), 'client', options.limits);
  stream.start({ onMessage: ch.internals.deliver, onClose: ch.internals.closed });
  const auth: ClientAuthenticator | undefined =
    options.auth === undefined
      ? undefined
      : 'initial' in options.auth
        ? options.auth
        : credentialsAuthenticator(options.auth);
  let creds = auth?.initial() ?? {};
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = (options.startedAt ?? Date.now()) + timeoutMs;
  try {
    for (let round = 0; round < 8; round++) {
      const id = newMessageId();
      const answer = awaitAnswer(ch, id, deadline, timeoutMs);
      answer.catch(() => {}); // if send() below throws, this promise's rejection is not the one reported
      const map = new Map([...ch.localCapabilities, ...toMap(creds, 'auth_')]);
      ch.send({ ...AUTH, id, type: MessageType.Call }, CAPS_CODEC, map);
      const m = await answer.catch(async (e: unknown) => {
        if (!(e instanceof PeerClosed)) throw e;
        // Say what the port speaks instead, when it is not qi (TLS, HTTP): that is the usual cause.
        throw (await explainNotQi(stream, e.cause, Math.max(500, Math.min(2000, deadline - Date.now())))) ?? e.error;
      });
      if (m.type === MessageType.Error) {
        const text = errorText(m);
        if (auth !== undefined) {
          const problem = `${ch.remote} refused the connection: ${text}.`;
          throw new QiAuthError(
            `${problem} Check the user and token (password); NAOqi 2.9 robots expect the user "nao" and the robot's password.`,
            { problem, hint: { kind: 'credentials-refused' } },
          );
        }
        if (/authenticat/i.test(text)) {
          const problem = `${ch.remote} requires authentication (${text}).`;
          throw new QiAuthError(
            `${problem} Connect with credentials, e.g. { auth: { user: 'nao', token: '<password>' } }.`,
            { problem, hint: { kind: 'credentials' } },
          );
        }
        // A server without the authenticate member (NAOqi 2.1): tell it our capabilities and go on.
        ch.send(
          { ...AUTH, action: 0, id: newMessageId(), type: MessageType.Capability },
          CAPS_CODEC,
          ch.localCapabilities,
        );
        return answerProbes(ch);
      }
      const reply = m.decode(CAPS_CODEC) as CapabilityMap;
      ch.mergeRemoteCapabilities(reply);
      const state = stateOf(reply.get(AUTH_STATE));
      if (state === State.Done) return answerProbes(ch);
      if (state !== State.Continue) {
        throw new QiAuthError(
          `${ch.remote} answered the authentication with an invalid state (${reply.get(AUTH_STATE)?.value ?? 'none'}); it is not a qi server we understand.`,
        );
      }
      const next = auth === undefined ? undefined : auth.next?.(unprefixed(reply));
      if (next === undefined) {
        const problem = `${ch.remote} requires authentication.`;
        throw new QiAuthError(
          `${problem} Connect with credentials, e.g. { auth: { user: 'nao', token: '<password>' } }.`,
          { problem, hint: { kind: 'credentials' } },
        );
      }
      creds = next;
    }
    throw new QiAuthError(`${ch.remote} kept asking for more authentication rounds; giving up.`);
  } catch (e) {
    // A peer that did not answer in time gets no 2-second graceful close: nothing more is owed to it.
    if (e instanceof QiTimeoutError) stream.destroy(e);
    else ch.close();
    throw e;
  }
}

/** The peer closed during the handshake: `error` is what to report, unless the cause says more. */
class PeerClosed extends Error {
  constructor(
    readonly error: QiAuthError,
    override readonly cause: Error | undefined,
  ) {
    super(error.message);
  }
}

/**
 * A connection we opened answers the peer's sign-of-life probes (a repeated authenticate call, as our
 * heartbeat sends) with state Done: a ServiceDirectory asks a registering session's old connection so
 * before it lets the session register its names again from a new one (sd/directory.ts).
 */
function answerProbes(ch: Channel): Channel {
  ch.internals.gate((m) => {
    if (m.type !== MessageType.Call || m.service !== 0 || m.object !== 0 || m.action !== AUTH.action) return true;
    ch.reply(m, CAPS_CODEC, new Map([[AUTH_STATE, new Dynamic('I', State.Done)]]));
    return false;
  });
  return ch;
}

/** Resolves with the server's answer to our authenticate call `id`, intercepting it before dispatch. */
function awaitAnswer(ch: Channel, id: number, deadline: number, timeoutMs: number): Promise<Message> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      ch.internals.gate(undefined);
      off();
    };
    const timer = setTimeout(
      () => {
        done();
        reject(
          new QiTimeoutError(
            `${ch.remote} did not answer the connection handshake within ${timeoutMs} ms. Is it a qi endpoint (a ServiceDirectory or a service), and is the scheme (tcp/tcps) right?`,
          ),
        );
      },
      Math.max(1, deadline - Date.now()),
    );
    const off = ch.onClose((e) => {
      done();
      const why = e ? `: ${e.message.replace(/\.$/, '')}` : '';
      reject(
        new PeerClosed(
          new QiAuthError(
            `${ch.remote} closed the connection during the handshake${why}. It may require TLS (tcps://) or refuse this client.`,
          ),
          e,
        ),
      );
    });
    ch.internals.gate((m) => {
      if (
        (m.type === MessageType.Reply || m.type === MessageType.Error) &&
        m.id === id &&
        m.service === 0 &&
        m.action === AUTH.action
      ) {
        done();
        resolve(m);
        return false;
      }
      return true;
    });
  });
}

/**
 * Serves the server side of a connection: answers the client's authenticate call (running the
 * authenticator if there is one) and holds back every other message until the client is let in.
 */
export function acceptChannel(stream: MessageStream, options: AcceptOptions = {}): Channel {
  const ch = new Channel(stream, options.capabilities ?? defaultCapabilities(), 'server', options.limits);
  const enforced = options.authenticator !== undefined;
  let bound = false;
  let capsSent = false;
  let busy = false;
  let refused = false;
  const queue: Message[] = [];
  const timer = setTimeout(() => {
    if (!bound) ch.close();
  }, options.handshakeTimeoutMs ?? 20_000);
  timer.unref();

  const bind = () => {
    if (bound) return;
    bound = true;
    clearTimeout(timer);
    // From now on the server object only answers repeated authenticate calls with Done (a client's
    // heartbeat probes are such calls); whatever else is sent to it is dropped.
    ch.internals.control((m) => {
      if (m.type === MessageType.Call && m.action === AUTH.action) answer(m, State.Done);
    });
    stream.authenticated();
    options.onReady?.(ch);
  };
  const sendCapabilities = () => {
    if (capsSent) return;
    capsSent = true;
    const caps = answeredCapabilities(ch.localCapabilities, ch.remoteCapabilities);
    ch.send({ ...AUTH, action: 0, id: newMessageId(), type: MessageType.Capability }, CAPS_CODEC, caps);
  };
  const answer = (call: Message, state: State, data: CapabilityMap = new Map()) => {
    const map: CapabilityMap = new Map([[AUTH_STATE, new Dynamic('I', state)], ...data]);
    if (!capsSent)
      for (const [k, v] of answeredCapabilities(ch.localCapabilities, ch.remoteCapabilities)) map.set(k, v);
    capsSent = true;
    ch.reply(call, CAPS_CODEC, map);
  };
  const refuse = (call: Message, text: string) => {
    // One refusal per connection: what follows it (in the same read, or queued) is dropped.
    if (refused || ch.closed) return;
    refused = true;
    queue.length = 0;
    ch.replyError(call, text);
    ch.stream.close(); // flushes the error first, then ends the connection
  };

  async function authenticate(call: Message): Promise<void> {
    busy = true;
    try {
      let map: CapabilityMap;
      try {
        map = call.decode(CAPS_CODEC) as CapabilityMap;
      } catch {
        return refuse(call, 'Authentication failed: the authenticate request is not a capability map');
      }
      ch.mergeRemoteCapabilities(map);
      let result: Awaited<ReturnType<Authenticator['authenticate']>> = { outcome: 'done' };
      if (options.authenticator) {
        try {
          result = await options.authenticator.authenticate(unprefixed(map), { remote: ch.remote });
        } catch (e) {
          result = { outcome: 'refused', reason: `the authenticator failed (${(e as Error).message})` };
        }
      }
      if (ch.closed) return;
      if (result.outcome === 'done') {
        answer(call, State.Done);
        bind();
      } else if (result.outcome === 'continue') {
        answer(call, State.Continue, toMap(result.data, 'auth_'));
      } else {
        refuse(call, `Authentication failed: ${result.reason}`);
      }
    } finally {
      busy = false;
      const queued = queue.splice(0);
      if (!ch.closed && !refused) for (const m of queued) ch.internals.deliver(m);
    }
  }

  // Until the client is let in (bind), every message goes through this gate.
  ch.internals.gate((m) => {
    if (refused) return false;
    if (m.type === MessageType.Capability) {
      if (!bound && !enforced) {
        // A NAOqi 2.1 client starts with its capabilities and no authenticate call.
        sendCapabilities();
        bind();
      }
      return true; // merged by the channel
    }
    const toServer = m.service === 0 && m.object === 0;
    if (busy) {
      queue.push(m);
      return false;
    }
    if (toServer && m.type === MessageType.Call && m.action === AUTH.action) {
      void authenticate(m);
      return false;
    }
    if (enforced) {
      if (m.type === MessageType.Call) {
        refuse(
          m,
          `Expected authentication (service #0, type #1, action #8), received service #${m.service}, type #${m.type}, action #${m.action}`,
        );
      } else {
        ch.stream.close();
      }
      return false;
    }
    // No authentication required and the client skipped it (NAOqi 2.5-era behaviour): let it in.
    sendCapabilities();
    bind();
    return !toServer;
  });
  stream.start({ onMessage: ch.internals.deliver, onClose: ch.internals.closed });
  ch.onClose(() => clearTimeout(timer));
  return ch;
}
