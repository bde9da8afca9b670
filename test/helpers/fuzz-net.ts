/**
 * Fuzz targets above the framing: the two sides of the connection handshake (spec §6) over in-memory
 * streams, and a live Session server on a real TCP socket fed mutated recordings of genuine traffic.
 * Shared by test/channel/fuzz.test.ts (short, bounded runs) and scripts/fuzz.ts (long runs).
 *
 * Every input starts from real bytes: the spec's §11 vectors (V1, V2, V4, V19 and V21 are byte-identical
 * to libqi 4.0.5 and NAOqi captures), the captured NAOqi 2.5 authenticate call and reply, the libqi 4.0.5
 * message dumps, and a session recorded at startup between our client and our server. Mutations are
 * structure-aware (whole frames duplicated, dropped, swapped, spliced from other traffic; size and header
 * fields changed; payloads mutated with their size kept right) as well as plain byte mutations.
 *
 * Importing this module has no side effects, and it must not import node:test (directly or through
 * helpers such as net.ts): scripts/fuzz.ts runs it in a worker thread outside the test runner.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import {
  Dynamic,
  LocalObject,
  QiError,
  listenStandalone,
  userTokenAuthenticator,
  type Authenticator,
  type ClientAuthenticator,
  type Credentials,
  type Session,
} from '../../src/index.js';
import {
  FrameReader,
  HEADER_SIZE,
  Message,
  MessageStream,
  MessageType,
  RemoteBackend,
  acceptChannel,
  connect,
  createProxy,
  defaultCapabilities,
  enableObjectReferences,
  encodeMessage,
  openChannel,
  type Channel,
  type MessageFields,
} from '../../src/wire.js';
import { Calculator, calculator } from '../object/calculator.js';
import { OracleFailure, Rng, mutate, randomSplit, type AsyncFuzzCase, type AsyncFuzzTarget } from './arbitraries.js';
import { libqiVectors, sharedFile, specVectors } from './shared.js';

// ---------------------------------------------------------------------------------------------------
// In-memory streams
// ---------------------------------------------------------------------------------------------------

/** One end of an in-memory connection. Bytes reach the other end on a later turn of the event loop, as over TCP. */
class MemoryEnd extends Duplex {
  peer!: MemoryEnd;
  constructor() {
    super({ allowHalfOpen: false }); // like a net.Socket: the end of what we read ends what we write
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    setImmediate(() => {
      if (!peer.destroyed) peer.push(chunk);
      callback();
    });
  }
  override _final(callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    setImmediate(() => {
      if (!peer.destroyed) peer.push(null);
      callback();
    });
  }
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    setImmediate(() => {
      if (!peer.destroyed) peer.destroy(); // the peer sees its connection go away
    });
    callback(error);
  }
}

/** A connected pair of in-memory byte streams. */
export function memoryPair(): [MemoryEnd, MemoryEnd] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

// ---------------------------------------------------------------------------------------------------
// Frames and their mutations
// ---------------------------------------------------------------------------------------------------

const HEADER_FIELDS = {
  id: 4,
  size: 8,
  version: 12,
  type: 14,
  flags: 15,
  service: 16,
  object: 20,
  action: 24,
} as const;
type HeaderField = keyof typeof HEADER_FIELDS;
const FIELD_VALUES: Record<HeaderField, number[]> = {
  id: [0, 1, 2, 0x7fff_ffff, 0xffff_ffff],
  size: [0, 1, 3, 4, 8, 27, 28, 0xff, 0x1000, 0xffff, 0x10_0000, 0x7fff_ffff, 0xffff_ffff],
  version: [0, 1, 0xffff],
  type: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff],
  flags: [0, 1, 2, 3, 0x80, 0xff],
  service: [0, 1, 2, 3, 0xffff_ffff],
  object: [0, 1, 2, 3, 0xffff_ffff],
  action: [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 80, 81, 82, 83, 84, 85, 86, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110,
    0xffff_ffff,
  ],
};

/** Splits a byte stream into its frames as their size fields say (a trailing partial frame is kept as is). */
export function splitFrames(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  while (p + HEADER_SIZE <= bytes.length) {
    const n = HEADER_SIZE + bytes.readUInt32LE(p + 8);
    out.push(bytes.subarray(p, p + n));
    p += n;
  }
  if (p < bytes.length) out.push(bytes.subarray(p));
  return out;
}

/** Reads the messages of `bytes` as a server would, up to the first framing error. */
export function readMessages(bytes: Buffer): Message[] {
  const out: Message[] = [];
  const r = new FrameReader((m) => out.push(m));
  try {
    r.push(bytes);
  } catch {
    // what came before the error is what a peer acts on
  }
  return out;
}

const setField = (frame: Buffer, field: HeaderField, value: number) => {
  if (frame.length < HEADER_FIELDS[field] + (field === 'type' || field === 'flags' ? 1 : field === 'version' ? 2 : 4))
    return;
  if (field === 'type' || field === 'flags') frame[HEADER_FIELDS[field]] = value & 0xff;
  else if (field === 'version') frame.writeUInt16LE(value & 0xffff, HEADER_FIELDS[field]);
  else frame.writeUInt32LE(value >>> 0, HEADER_FIELDS[field]);
};

/** Frames after mutation, with the list of what was done (for the description of an input). */
export interface Mutated {
  bytes: Buffer;
  ops: string[];
}

/**
 * Applies 1–3 structure-aware mutations to a list of frames: byte mutations of the whole stream, cuts,
 * frame duplication / removal / swaps, splices of frames from `donors`, header field and size changes,
 * payload mutations with the size fixed up (so the bytes reach the decoders, not only the framing).
 */
export function mutateFrames(rng: Rng, input: readonly Buffer[], donors: readonly Buffer[]): Mutated {
  let frames: Buffer[] = input.map((f) => Buffer.from(f));
  const ops: string[] = [];
  let tail: ((b: Buffer) => Buffer) | undefined;
  const rounds = 1 + rng.int(3);
  for (let k = 0; k < rounds; k++) {
    const i = frames.length === 0 ? 0 : rng.int(frames.length);
    const r = rng.int(12);
    if (frames.length === 0 || r === 0) {
      const d = rng.pick(donors);
      frames.splice(i, 0, Buffer.from(d));
      ops.push(`insert-donor@${i}`);
    } else if (r === 1) {
      frames.splice(i + 1, 0, Buffer.from(frames[i]));
      ops.push(`dup#${i}`);
    } else if (r === 2 && frames.length > 1) {
      frames.splice(i, 1);
      ops.push(`drop#${i}`);
    } else if (r === 3 && frames.length > 1) {
      const j = rng.int(frames.length);
      [frames[i], frames[j]] = [frames[j], frames[i]];
      ops.push(`swap#${i},${j}`);
    } else if (r === 4) {
      const field = rng.pick(Object.keys(HEADER_FIELDS) as HeaderField[]);
      const value = rng.bool(0.7) ? rng.pick(FIELD_VALUES[field]) : rng.int(2 ** 32);
      setField(frames[i], field, value);
      ops.push(`#${i}.${field}=${value}`);
    } else if (r === 5) {
      // the size field lies, by a little or a lot; the payload stays
      const f = frames[i];
      if (f.length >= HEADER_SIZE) {
        const size = f.readUInt32LE(8);
        const v = rng.bool(0.6)
          ? (size + rng.pick([1, -1, 2, -2, 4, -4, 8, -8, 28, -28])) >>> 0
          : rng.pick(FIELD_VALUES.size);
        f.writeUInt32LE(v, 8);
        ops.push(`#${i}.size=${v}(was ${size})`);
      }
    } else if (r === 6 || r === 7) {
      // mutate the payload, size fixed up: the message still frames and reaches the codec
      const f = frames[i];
      if (f.length >= HEADER_SIZE) {
        const payload = mutate(rng, f.subarray(HEADER_SIZE));
        const g = Buffer.concat([f.subarray(0, HEADER_SIZE), payload]);
        g.writeUInt32LE(payload.length, 8);
        frames[i] = g;
        ops.push(`payload#${i}`);
      }
    } else if (r === 8) {
      // a whole frame of other real traffic spliced in, or the payload of one under the header of another
      const d = rng.pick(donors);
      if (rng.bool(0.5) && d.length >= HEADER_SIZE && frames[i].length >= HEADER_SIZE) {
        const g = Buffer.concat([frames[i].subarray(0, HEADER_SIZE), d.subarray(HEADER_SIZE)]);
        g.writeUInt32LE(d.length - HEADER_SIZE, 8);
        frames[i] = g;
        ops.push(`payload#${i}<-donor`);
      } else {
        frames[i] = Buffer.from(d);
        ops.push(`replace#${i}<-donor`);
      }
    } else if (r === 9) {
      const all = Buffer.concat(frames);
      const cut = rng.int(all.length + 1);
      tail = (b) => b.subarray(0, Math.min(cut, b.length));
      ops.push(`truncate@${cut}`);
    } else if (r === 10) {
      // crossover: the start of this stream, then the end of a donor stream at a random byte
      const d = rng.pick(donors);
      const all = Buffer.concat(frames);
      const a = rng.int(all.length + 1),
        b = rng.int(d.length + 1);
      frames = [all.subarray(0, a), d.subarray(b)];
      ops.push(`crossover@${a}+donor@${b}`);
    } else {
      const all = Buffer.concat(frames);
      frames = [mutate(rng, all)];
      ops.push('bytes');
    }
  }
  let bytes: Buffer = Buffer.concat(frames);
  if (tail) bytes = tail(bytes);
  return { bytes, ops };
}

// ---------------------------------------------------------------------------------------------------
// Real traffic
// ---------------------------------------------------------------------------------------------------

/** Id in reply templates where the id of the client's call goes. */
const MARK = 0xa0a0a0a0;
const markedId = (b: Buffer) => {
  const c = Buffer.from(b);
  c.writeUInt32LE(MARK, 4);
  return c;
};

/** Puts `id` wherever a frame header carries the placeholder id (mutations may have moved or destroyed some). */
function patchIds(bytes: Buffer, id: number): Buffer {
  const out = Buffer.from(bytes);
  for (
    let p = out.indexOf(Buffer.from([0x42, 0xde, 0xad, 0x42]));
    p >= 0 && p + 8 <= out.length;
    p = out.indexOf(Buffer.from([0x42, 0xde, 0xad, 0x42]), p + 1)
  ) {
    if (out.readUInt32LE(p + 4) === MARK) out.writeUInt32LE(id, p + 4);
  }
  return out;
}

const msg = (fields: Partial<MessageFields> & { type: number }, sig: string, value: unknown) =>
  Buffer.concat(encodeMessage({ id: 1, service: 0, object: 0, action: 0, ...fields }, sig, value));

const s = (v: string) => new Dynamic('s', v);
const AUTH = { service: 0, object: 0, action: 8 } as const;

function authCall(id: number, creds: Record<string, Dynamic>, caps = defaultCapabilities()): Buffer {
  const map = new Map([...caps, ...Object.entries(creds).map(([k, v]) => [`auth_${k}`, v] as const)]);
  return msg({ ...AUTH, id, type: MessageType.Call }, '{sm}', map);
}

function authReply(entries: [string, Dynamic][], caps = true): Buffer {
  const map = new Map<string, Dynamic>(caps ? defaultCapabilities() : []);
  for (const [k, v] of entries) map.set(k, v);
  return msg({ ...AUTH, id: MARK, type: MessageType.Reply }, '{sm}', map);
}

interface RealTraffic {
  /** Spec §11 vectors by number (V1 → `1`). */
  v: (n: number) => Buffer;
  naoqi25Call: Buffer;
  naoqi25Reply: Buffer;
  /** libqi 4.0.5's message dumps by name. */
  libqi: (name: string) => Buffer;
  /** Every message above (both directions), as donors for splices. */
  all: Buffer[];
}

let traffic: RealTraffic | undefined;
/** The real bytes the targets start from (read once). */
export function realTraffic(): RealTraffic {
  if (traffic) return traffic;
  const spec = specVectors();
  const v = (n: number) => {
    const x = spec.find((x) => x.name.startsWith(`V${n} `));
    if (!x) throw new Error(`no spec vector V${n}`);
    return x.bytes;
  };
  const messages = libqiVectors().filter((x) => x.kind === 'message');
  const libqi = (name: string) => {
    const x = messages.find((m) => m.name === name);
    if (!x) throw new Error(`no libqi message ${name}`);
    return Buffer.from(x.hex, 'hex');
  };
  const naoqi25Call = sharedFile('vectors/naoqi-2.5-header-call-authenticate.bin');
  const naoqi25Reply = sharedFile('vectors/naoqi-2.5-header-reply-authenticate.bin');
  const all = [
    ...spec.map((x) => x.bytes),
    ...messages.map((m) => Buffer.from(m.hex, 'hex')),
    naoqi25Call,
    naoqi25Reply,
  ];
  return (traffic = { v, naoqi25Call, naoqi25Reply, libqi, all });
}

/** How client connections open, per generation of client (spec §6.1, §6.4), as lists of frames. */
export function clientOpenings(): { name: string; frames: Buffer[] }[] {
  const { v, naoqi25Call, libqi } = realTraffic();
  const second = (b: Buffer, id: number) => {
    const c = Buffer.from(b);
    c.writeUInt32LE(id, 4);
    return c;
  };
  const metaObjectOfServer = msg({ id: 9, type: MessageType.Call, service: 0, object: 0, action: 2 }, '(I)', [0]);
  return [
    { name: 'libqi4-authenticate', frames: [v(1)] },
    { name: 'libqi4-authenticate+calls', frames: [v(1), v(7), v(5), v(10)] },
    { name: 'naoqi29-credentials', frames: [v(4)] },
    { name: 'naoqi29-credentials+calls', frames: [v(4), v(7), v(12)] },
    { name: 'naoqi29-wrong-token', frames: [authCall(1, { user: s('nao'), token: s('guess') }), v(7)] },
    { name: 'naoqi29-newToken-second-round', frames: [v(4), authCall(3, { user: s('nao'), token: s('fresh') }), v(7)] },
    { name: 'naoqi25-authenticate', frames: [naoqi25Call, v(7)] },
    { name: 'naoqi21-capability-first', frames: [v(3), v(7), v(5)] },
    { name: 'plain-call-without-auth', frames: [v(7)] },
    { name: 'plain-call-service', frames: [v(5), v(17)] },
    { name: 'post-first', frames: [libqi('msg_post_string_abc'), v(7)] },
    { name: 'cancel-first', frames: [v(13), v(1)] },
    { name: 'reply-and-error-first', frames: [libqi('msg_reply_add_3'), libqi('msg_error_boom'), v(1)] },
    { name: 'event-first', frames: [libqi('msg_event_int32_42'), v(4)] },
    { name: 'authenticate-twice', frames: [v(1), second(v(1), 2), v(7)] },
    { name: 'metaObject-of-server-object', frames: [v(1), metaObjectOfServer] },
    { name: 'call-then-authenticate', frames: [v(7), v(4)] },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Small async helpers
// ---------------------------------------------------------------------------------------------------

const tick = () => new Promise<void>((r) => setImmediate(r));
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True once `p` settles, false after `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Chunk sizes of a random split of `n` bytes (decided when the input is made, so that it replays). */
function splitSizes(rng: Rng, n: number): number[] {
  return randomSplit(rng, Buffer.alloc(n)).map((c) => c.length);
}

function chunked(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let p = 0;
  for (const n of sizes) {
    out.push(bytes.subarray(p, p + n));
    p += n;
  }
  if (p < bytes.length) out.push(bytes.subarray(p));
  return out;
}

const hexOf = (b: Buffer) => b.toString('hex');
const stackOf = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e));

// ---------------------------------------------------------------------------------------------------
// Server side of the handshake
// ---------------------------------------------------------------------------------------------------

/** Users of the authenticating servers, and the credentials that let a client in. */
const USERS = { nao: 'nao', alice: 'wonderland' };

/**
 * A two-round authenticator (asynchronous, so messages arrive while it runs): `nao`/`nao` gets Continue
 * with a new token, `nao`/`fresh` gets in, user `boom` makes it throw.
 */
const roundsAuthenticator: Authenticator = {
  async authenticate(c) {
    await tick();
    if (c.user === 'boom') throw new TypeError('the authenticator has a bug');
    if (c.user !== 'nao') return { outcome: 'refused', reason: 'unknown user' };
    if (c.token === 'fresh') return { outcome: 'done' };
    if (c.token === 'nao') return { outcome: 'continue', data: { newToken: 'fresh' } };
    return { outcome: 'refused', reason: 'invalid token' };
  },
};

export type ServerAuth = 'none' | 'user-token' | 'rounds';
const AUTHENTICATORS: Record<
  ServerAuth,
  { authenticator?: Authenticator; admits: (user: unknown, token: unknown) => boolean }
> = {
  none: { admits: () => true },
  'user-token': {
    authenticator: userTokenAuthenticator(USERS),
    admits: (u, tk) =>
      typeof u === 'string' &&
      typeof tk === 'string' &&
      (USERS as Record<string, string>)[u] === tk &&
      Object.hasOwn(USERS, u),
  },
  rounds: { authenticator: roundsAuthenticator, admits: (u, tk) => u === 'nao' && tk === 'fresh' },
};

/** True when some authenticate call among `bytes` carries credentials that `admits` accepts. */
function presentsValidCredentials(bytes: Buffer, admits: (user: unknown, token: unknown) => boolean): boolean {
  for (const m of readMessages(bytes)) {
    if (m.type !== MessageType.Call || m.service !== 0 || m.object !== 0 || m.action !== 8) continue;
    try {
      const map = m.decode('{sm}') as Map<string, Dynamic>;
      if (admits(map.get('auth_user')?.value, map.get('auth_token')?.value)) return true;
    } catch {
      // not a map: refused
    }
  }
  return false;
}

export type Ending = 'end' | 'destroy' | 'open';

/** Feeds one mutated client opening to `acceptChannel`; see {@link handshakeTargets}. */
export async function runServerHandshake(input: {
  bytes: Buffer;
  sizes: number[];
  pauses: boolean[];
  auth: ServerAuth;
  ending: Ending;
  handshakeTimeoutMs: number;
}): Promise<{ ready: boolean; closed: boolean }> {
  const { authenticator, admits } = AUTHENTICATORS[input.auth];
  const [client, end] = memoryPair();
  client.on('error', () => {});
  const stream = new MessageStream(end, 'tcp://198.51.100.7:40000', 'tcp://127.0.0.1:9559');
  let ready = false;
  let early: string | undefined;
  let closeError: Error | undefined;
  let markReady!: () => void;
  const becameReady = new Promise<void>((r) => (markReady = r));
  const ch = acceptChannel(stream, {
    authenticator,
    handshakeTimeoutMs: input.handshakeTimeoutMs,
    onReady: () => {
      ready = true;
      markReady();
    },
  });
  // Stands for the objects a session binds on every new connection: nothing may reach them before the handshake.
  ch.bindFallback({
    onMessage(m, c) {
      if (!ready) early ??= m.toString();
      if (m.type === MessageType.Call) c.replyError(m, 'fuzz: no object here');
    },
  });
  const closed = new Promise<void>((r) => ch.onClose((e) => ((closeError = e), r())));
  let outFault: unknown;
  const out = new FrameReader(() => {});
  client.on('data', (c: Buffer) => {
    if (outFault !== undefined) return;
    try {
      out.push(c);
    } catch (e) {
      outFault = e;
    }
  });

  const chunks = chunked(input.bytes, input.sizes);
  for (let i = 0; i < chunks.length; i++) {
    if (client.destroyed || client.writableEnded) break;
    client.write(chunks[i]);
    if (input.pauses[i]) await tick();
  }
  if (input.ending === 'end') client.end();
  else if (input.ending === 'destroy') client.destroy();

  // The peer gone, the channel must close; still connected, it must be let in or dropped at its handshake timeout.
  const bound = input.ending === 'open' ? input.handshakeTimeoutMs + 1000 : 1000;
  const settled = await within(input.ending === 'open' ? Promise.race([closed, becameReady]) : closed, bound);
  const wasClosed = ch.closed;
  client.destroy();
  if (!ch.closed) ch.close();

  if (closeError !== undefined && !(closeError instanceof QiError)) throw closeError; // thrown inside the stream, e.g. by the handshake code
  if (early !== undefined)
    throw new OracleFailure(`a message reached the objects before the client was let in: ${early}`);
  if (outFault !== undefined) throw new OracleFailure(`the server sent bytes that do not frame: ${stackOf(outFault)}`);
  if (ready && authenticator !== undefined && !presentsValidCredentials(input.bytes, admits)) {
    throw new OracleFailure(`the server let in a client (${input.auth}) that never presented valid credentials`);
  }
  if (!settled) {
    throw new OracleFailure(
      input.ending === 'open'
        ? `the channel was neither ready nor closed ${bound} ms after the input (handshake timeout ${input.handshakeTimeoutMs} ms)`
        : `the client ${input.ending === 'end' ? 'ended' : 'destroyed'} its side but the server channel was still open ${bound} ms later (ready: ${ready}, closed: ${wasClosed})`,
    );
  }
  return { ready, closed: wasClosed };
}

// ---------------------------------------------------------------------------------------------------
// Client side of the handshake
// ---------------------------------------------------------------------------------------------------

/** How a (fake) server answers: frames sent on accept, then one list of frames per authenticate call received. */
interface ServerScript {
  name: string;
  onAccept: Buffer[];
  rounds: Buffer[][];
  /** What the server does when the client calls again after the script: close, reset, or say nothing. */
  after: 'close' | 'destroy' | 'silent';
}

/** `__qi_auth_state` values of every type and many values (spec §6.3: any integer type must be read). */
const STATE_VALUES: [string, unknown][] = [
  ['I', 3],
  ['I', 2],
  ['I', 1],
  ['I', 0],
  ['I', 4],
  ['I', 0xffff_ffff],
  ['i', 3],
  ['i', 2],
  ['i', -3],
  ['i', -1],
  ['c', 3],
  ['C', 3],
  ['w', 3],
  ['W', 2],
  ['l', 3n],
  ['l', -1n],
  ['L', 3n],
  ['L', 2n ** 64n - 1n],
  ['L', 2n ** 32n + 3n],
  ['f', 3],
  ['d', 3],
  ['d', 2.5],
  ['d', NaN],
  ['d', Infinity],
  ['d', -0],
  ['b', true],
  ['b', false],
  ['s', '3'],
  ['s', ''],
  ['m', new Dynamic('I', 3)],
  ['m', new Dynamic('s', 'x')],
  ['[I]', [3]],
  ['[I]', []],
  ['(I)', [3]],
  ['+I', 3],
  ['+I', null],
  ['v', undefined],
  ['r', Buffer.from([3])],
  ['{sI}', new Map([['__qi_auth_state', 3]])],
];

const NEW_TOKENS: ([string, unknown] | undefined)[] = [
  ['s', 'fresh'],
  ['s', ''],
  ['i', 5],
  ['m', new Dynamic('s', 'fresh')],
  ['[s]', ['fresh']],
  ['r', Buffer.from('fresh')],
  undefined,
];

const ERROR_PAYLOADS: [string, unknown][] = [
  ['m', s('Authentication failed: invalid user or token')],
  ['m', s("can't find service, address: {0.0.8, id:1}")],
  ['m', s('')],
  ['m', new Dynamic('i', 5)],
  ['m', new Dynamic('[s]', ['a', 'b'])],
  ['m', new Dynamic('v', undefined)],
  ['s', 'not a dynamic'],
  ['v', undefined],
  ['(ii)', [1, 2]],
];

function serverScripts(): ServerScript[] {
  const { v, naoqi25Reply } = realTraffic();
  const caps21 = msg(
    { id: 1, type: MessageType.Capability },
    '{sm}',
    new Map([
      ['ClientServerSocket', new Dynamic('b', true)],
      ['MessageFlags', new Dynamic('b', true)],
      ['MetaObjectCache', new Dynamic('b', true)],
    ]),
  );
  const done = markedId(v(2));
  const state = (sig: string, value: unknown) => authReply([['__qi_auth_state', new Dynamic(sig, value)]]);
  const cont = (tok: [string, unknown] | undefined) =>
    authReply([
      ['__qi_auth_state', new Dynamic('I', 2)],
      ...(tok ? [['auth_newToken', new Dynamic(tok[0], tok[1])] as [string, Dynamic]] : []),
    ]);
  const error = (sig: string, value: unknown) => msg({ ...AUTH, id: MARK, type: MessageType.Error }, sig, value);
  const scripts: ServerScript[] = [
    { name: 'libqi4-done', onAccept: [], rounds: [[done]], after: 'silent' },
    { name: 'naoqi25-done', onAccept: [], rounds: [[markedId(naoqi25Reply)]], after: 'silent' },
    { name: 'naoqi21-error-fallback', onAccept: [caps21], rounds: [[markedId(v(21))]], after: 'silent' },
    { name: 'capability-then-done', onAccept: [], rounds: [[v(3), done]], after: 'silent' },
    { name: 'done-then-events', onAccept: [], rounds: [[done, v(9), v(3)]], after: 'silent' },
    { name: 'close-at-once', onAccept: [], rounds: [], after: 'close' },
    { name: 'reset-at-once', onAccept: [], rounds: [], after: 'destroy' },
    { name: 'silent', onAccept: [], rounds: [], after: 'silent' },
    { name: 'answer-to-another-id', onAccept: [], rounds: [[v(2)]], after: 'close' },
    { name: 'answer-of-another-call', onAccept: [], rounds: [[markedId(v(6)), markedId(v(8))]], after: 'close' },
    {
      name: 'http-server',
      onAccept: [],
      rounds: [[Buffer.from('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')]],
      after: 'close',
    },
    { name: 'tls-alert', onAccept: [], rounds: [[Buffer.from('15030100020228', 'hex')]], after: 'close' },
  ];
  for (const [sig, value] of STATE_VALUES)
    scripts.push({
      name: `state-${sig}-${String(value)}`,
      onAccept: [],
      rounds: [[state(sig, value)]],
      after: 'close',
    });
  scripts.push({ name: 'state-missing', onAccept: [], rounds: [[authReply([])]], after: 'close' });
  for (const tok of NEW_TOKENS) {
    const name = tok ? `${tok[0]}-${String(tok[1])}` : 'none';
    scripts.push({ name: `continue-newToken-${name}`, onAccept: [], rounds: [[cont(tok)], [done]], after: 'close' });
    scripts.push({
      name: `continue-forever-newToken-${name}`,
      onAccept: [],
      rounds: Array.from({ length: 9 }, () => [cont(tok)]),
      after: 'close',
    });
  }
  for (const [sig, value] of ERROR_PAYLOADS)
    scripts.push({
      name: `error-${sig}-${value instanceof Dynamic ? value.signature : ''}`,
      onAccept: [],
      rounds: [[error(sig, value)]],
      after: 'close',
    });
  const emptyError = Buffer.from(error('v', undefined).subarray(0, HEADER_SIZE));
  emptyError.writeUInt32LE(0, 8);
  scripts.push({ name: 'error-empty-payload', onAccept: [], rounds: [[emptyError]], after: 'close' });
  return scripts;
}

type ClientAuth = 'none' | 'credentials' | 'rounds';
const clientAuth = (a: ClientAuth): Credentials | ClientAuthenticator | undefined =>
  a === 'none'
    ? undefined
    : a === 'credentials'
      ? { user: 'nao', token: 'nao' }
      : {
          // A custom authenticator that answers whatever the server sends back, a few times.
          initial: () => ({ user: 'nao', token: 'nao', nonce: new Dynamic('l', 7n) }),
          next: (data) =>
            Object.keys(data).length > 3 ? undefined : { user: 'nao', token: String(data.newToken ?? 'again') },
        };

/** Runs `openChannel` against a scripted fake server; see {@link handshakeTargets}. */
export async function runClientHandshake(input: {
  onAccept: Buffer;
  rounds: { bytes: Buffer; sizes: number[] }[];
  after: ServerScript['after'];
  auth: ClientAuth;
  timeoutMs: number;
}): Promise<void> {
  const [end, server] = memoryPair();
  server.on('error', () => {});
  const stream = new MessageStream(end, 'tcp://198.51.100.7:9559', 'tcp://127.0.0.1:40000');
  let calls = 0;
  let clientFault: unknown;
  let serverSawEnd = false;
  const serverDone = new Promise<void>((r) => {
    server.on('end', () => ((serverSawEnd = true), r()));
    server.on('close', () => ((serverSawEnd = true), r()));
  });
  const respond = async (id: number) => {
    const k = calls++;
    const round = input.rounds[k];
    if (round === undefined) {
      if (k === input.rounds.length) {
        if (input.after === 'close') server.end();
        else if (input.after === 'destroy') server.destroy();
      }
      return;
    }
    for (const c of chunked(patchIds(round.bytes, id), round.sizes)) {
      if (server.destroyed || server.writableEnded) return;
      server.write(c);
      await tick();
    }
  };
  const reader = new FrameReader((m) => {
    if (m.type === MessageType.Call && m.service === 0 && m.object === 0 && m.action === 8) void respond(m.id);
  });
  server.on('data', (c: Buffer) => {
    if (clientFault !== undefined) return;
    try {
      reader.push(c);
    } catch (e) {
      clientFault = e;
    }
  });
  if (input.onAccept.length > 0) server.write(input.onAccept);
  if (input.rounds.length === 0 && input.after !== 'silent') void respond(0);

  const p = openChannel(stream, {
    auth: clientAuth(input.auth),
    timeoutMs: input.timeoutMs,
    limits: { heartbeatMs: 0 },
  });
  // Each round waits at most timeoutMs for its answer; the script has that many rounds, plus one that gets nothing.
  const bound = (Math.min(input.rounds.length, 8) + 1) * input.timeoutMs + 1000;
  let channel: Channel | undefined;
  let failure: unknown;
  let settled = false;
  p.then(
    (c) => ((channel = c), (settled = true)),
    (e) => ((failure = e), (settled = true)),
  );
  await within(p, bound);
  if (!settled) {
    server.destroy();
    throw new OracleFailure(
      `openChannel had not settled ${bound} ms after it started (timeoutMs ${input.timeoutMs}, ${calls} authenticate calls)`,
    );
  }
  channel?.close();
  // A failed handshake must not leave the connection open.
  const leftOpen = failure !== undefined && !(await within(serverDone, 1000));
  server.destroy();
  if (clientFault !== undefined)
    throw new OracleFailure(`the client sent bytes that do not frame: ${stackOf(clientFault)}`);
  if (failure !== undefined) {
    if (!(failure instanceof QiError)) throw failure as Error;
    if (leftOpen)
      throw new OracleFailure(
        `openChannel rejected (${(failure as Error).message}) but left the connection open (server saw no end: ${!serverSawEnd})`,
      );
    throw failure; // a QiError: accepted
  }
}

/** The two handshake targets: `handshake/server` (acceptChannel) and `handshake/client` (openChannel). */
export function handshakeTargets(): AsyncFuzzTarget[] {
  const openings = clientOpenings();
  const clientDonors = [...openings.flatMap((o) => o.frames), ...realTraffic().all];
  const scripts = serverScripts();
  const serverDonors = [...scripts.flatMap((x) => [...x.onAccept, ...x.rounds.flat()]), ...realTraffic().all];
  return [
    {
      name: 'handshake/server',
      async: true,
      next(rng) {
        const opening = rng.pick(openings);
        const m = rng.bool(0.05)
          ? { bytes: Buffer.concat(opening.frames), ops: ['none'] }
          : mutateFrames(rng, opening.frames, clientDonors);
        const sizes = splitSizes(rng, m.bytes.length);
        const pauses = sizes.map(() => rng.bool(0.3));
        const auth = rng.pick<ServerAuth>(['none', 'user-token', 'rounds']);
        const ending = rng.pick<Ending>(['end', 'end', 'end', 'destroy', 'open']);
        const handshakeTimeoutMs = ending === 'open' ? 20 + rng.int(100) : 20_000;
        const input = { bytes: m.bytes, sizes, pauses, auth, ending, handshakeTimeoutMs };
        return {
          bytes: m.bytes,
          describe: () =>
            `acceptChannel(auth: ${auth}, handshakeTimeoutMs: ${handshakeTimeoutMs}) fed ${hexOf(m.bytes)} in chunks [${sizes.join(',')}], pauses after [${pauses.flatMap((p, i) => (p ? [i] : [])).join(',')}], then ${ending}` +
            ` [${opening.name}, mutations: ${m.ops.join(' ')}]`,
          run: async () => void (await runServerHandshake(input)),
        };
      },
    },
    {
      name: 'handshake/client',
      async: true,
      next(rng) {
        const script = rng.pick(scripts);
        // Mutate one part of the script (what is sent on accept, or one round), or none.
        const parts = [script.onAccept, ...script.rounds];
        const target = rng.bool(0.1) ? -1 : rng.int(parts.length);
        const ops: string[] = [];
        const mutated = parts.map((frames, i) => {
          if (i !== target) return Buffer.concat(frames);
          const m = mutateFrames(rng, frames, serverDonors);
          ops.push(`${i === 0 ? 'onAccept' : `round ${i}`}: ${m.ops.join(' ')}`);
          return m.bytes;
        });
        const rounds = mutated.slice(1).map((bytes) => ({ bytes, sizes: splitSizes(rng, bytes.length) }));
        const auth = rng.pick<ClientAuth>(['none', 'credentials', 'rounds']);
        const timeoutMs = 30 + rng.int(90);
        const after = rng.bool(0.8) ? script.after : rng.pick<ServerScript['after']>(['close', 'destroy', 'silent']);
        const input = { onAccept: mutated[0], rounds, after, auth, timeoutMs };
        return {
          bytes: Buffer.concat(mutated),
          describe: () =>
            `openChannel(auth: ${auth}, timeoutMs: ${timeoutMs}) against a server sending on accept ${hexOf(mutated[0]) || '-'}, ` +
            rounds
              .map((r, i) => `answering call ${i + 1} with ${hexOf(r.bytes) || '-'} in chunks [${r.sizes.join(',')}]`)
              .join(', ') +
            `, then ${after} [${script.name}, ${ops.join('; ') || 'no mutation'}; the id of the client's call replaces a0a0a0a0 in headers]`,
          run: () => runClientHandshake(input),
        };
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------
// A live server
// ---------------------------------------------------------------------------------------------------

/** The test Calculator of test/object/calculator.ts (hook-free, so scripts/fuzz.ts can serve it). */
export const FuzzCalculator = Calculator;

/** A fresh test Calculator, as served by default by the live-socket target. */
export function fuzzCalculator(): LocalObject {
  // Long fuzz runs keep no history of finished slow calls (the heap checkpoints would count it).
  const order: string[] = [];
  order.push = () => 0;
  return calculator({ aborted: 0, order });
}

/**
 * Records what a real client sends in a whole session through a TCP relay: connect and authenticate, the
 * ServiceDirectory's metaObject, services(), service('Calculator'), the Calculator's metaObject, calls of
 * every method (an error, a struct, raw bytes, an object reference sent and received), a property, a
 * signal subscription and an emission, a canceled call, unsubscription. Returns the client's bytes.
 */
export async function recordSession(url: string, serviceName = 'Calculator'): Promise<Buffer> {
  const target = new URL(url);
  const recorded: Buffer[] = [];
  const pairs: net.Socket[] = [];
  const relay = net.createServer((down) => {
    const up = net.connect(Number(target.port), target.hostname);
    pairs.push(down, up);
    down.on('data', (c: Buffer) => {
      recorded.push(Buffer.from(c));
      up.write(c);
    });
    up.on('data', (c: Buffer) => down.write(c));
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
    down.on('error', () => {});
    up.on('error', () => {});
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  try {
    const port = (relay.address() as net.AddressInfo).port;
    const ch = await openChannel(await connect(`tcp://127.0.0.1:${port}`), { limits: { heartbeatMs: 0 } });
    enableObjectReferences(ch);
    const sd = createProxy(await RemoteBackend.fetch(ch, 1, 1, 'ServiceDirectory'));
    await sd.services();
    const info = (await sd.service(serviceName)) as unknown[] | Record<string, unknown>;
    const serviceId = Array.isArray(info) ? (info[1] as number) : (info.serviceId as number);
    const calc = createProxy<typeof FuzzCalculator>(await RemoteBackend.fetch(ch, serviceId, 1, serviceName));
    await calc.add(1, 2);
    await calc.concat('a', 'b');
    await calc.concat('n', 7);
    await calc.norm1({ x: 3, y: -4 });
    await calc.echoRaw(Buffer.from(Array.from({ length: 48 }, (_, i) => i)));
    await calc.fail('on purpose').catch(() => {});
    await calc.volume.get();
    await calc.volume.set(0.25);
    const off = await calc.fired.connect(() => {});
    calc.fired.emit(7, 'seven');
    const counter = (await calc.makeCounter(5)) as { increment(): Promise<number> };
    await counter.increment();
    await calc.useCounter(counter as never).catch(() => {});
    const ac = new AbortController();
    // Short: replays that lose the Cancel (or post the call) leave it running on the server for this long.
    const slow = calc.slow(300, ac.signal);
    await delay(5);
    ac.abort();
    await slow.catch(() => {});
    await off();
    await calc.add(40, 2);
    ch.close();
    await delay(20);
  } finally {
    for (const x of pairs) x.destroy();
    await new Promise((r) => relay.close(r));
  }
  return Buffer.concat(recorded);
}

interface LiveServer {
  session: Session;
  object: LocalObject;
  serviceId: number;
  addAction: number;
  url: string;
  port: number;
  recording: Buffer[];
  channels: Set<Channel>;
}

/** Options of the live-socket target. */
export interface LiveSocketOptions {
  /** The object served as `Calculator` (default: {@link fuzzCalculator}; the test suite passes fixtures' calculator()). */
  service?: () => LocalObject;
  /** Inputs between checkpoints (connections gone, no stale services, heap after GC). Default 200. */
  checkpointEvery?: number;
  /** Heap growth (after GC, over the first checkpoint's heap) reported as unbounded. Default 64 MB. */
  maxHeapGrowthMB?: number;
}

type LiveEnding = 'end' | 'destroy' | 'linger';

/** A fresh, well-behaved client: connects, authenticates and calls add. Throws an OracleFailure when the server does not serve it. */
export async function healthyCall(
  server: { url: string; serviceId: number; addAction: number },
  a = 20,
  b = 22,
  timeoutMs = 1000,
): Promise<void> {
  let ch: Channel | undefined;
  try {
    ch = await openChannel(await connect(server.url, { timeoutMs }), { timeoutMs, limits: { heartbeatMs: 0 } });
    const r = await ch.call({ service: server.serviceId, object: 1, action: server.addAction }, '(ii)', [a, b], 'i', {
      timeoutMs,
      name: 'Calculator.add',
    });
    if (r !== a + b) throw new OracleFailure(`a fresh client called add(${a}, ${b}) and got ${String(r)}`);
  } catch (e) {
    if (e instanceof OracleFailure) throw e;
    throw new OracleFailure(`the server no longer serves a fresh client: ${(e as Error)?.message ?? e}`);
  } finally {
    ch?.close();
  }
}

/** Plays `chunks` to the live server on a new raw TCP connection; returns once the connection is over. */
export async function replayRaw(
  port: number,
  input: { bytes: Buffer; sizes: number[]; pauses: boolean[]; ending: LiveEnding },
  during?: () => void,
): Promise<{ outFault?: unknown; received: number }> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  let outFault: unknown;
  let received = 0;
  let lastData: number; // the last time bytes came, from when the input is written
  let closed = false;
  const out = new FrameReader(() => {});
  sock.on('data', (c: Buffer) => {
    received += c.length;
    lastData = performance.now();
    if (outFault !== undefined) return;
    try {
      out.push(c);
    } catch (e) {
      outFault = e;
    }
  });
  sock.on('error', () => {});
  const gone = new Promise<void>((r) => sock.on('close', () => ((closed = true), r())));
  if (!(await within(new Promise((r, j) => (sock.once('connect', r), sock.once('error', j))), 1000)) || closed) {
    sock.destroy();
    throw new OracleFailure('the server did not accept a connection within 1000 ms');
  }
  const chunks = chunked(input.bytes, input.sizes);
  for (let i = 0; i < chunks.length && !closed; i++) {
    sock.write(chunks[i]);
    if (input.pauses[i]) await tick();
  }
  during?.();
  // Let the server answer: until it closes, or says nothing for a moment (at most 200 ms).
  lastData = performance.now();
  const start = performance.now();
  while (!closed && performance.now() - lastData < 8 && performance.now() - start < 200) await delay(2);
  if (input.ending === 'end') sock.end();
  else if (input.ending === 'destroy') sock.destroy();
  else {
    await delay(5);
    sock.destroy();
  }
  await within(gone, 1000);
  sock.destroy();
  return { outFault, received };
}

/**
 * The live-socket target `session/live-socket`: a real Session server (listenStandalone, Calculator
 * registered) and raw TCP clients replaying mutated recordings of real sessions. After each input a fresh
 * client must be served; every `checkpointEvery` inputs the connections of gone clients must be closed on
 * the server, the directory must hold no stale services and the heap (after GC) must not keep growing.
 */
export function liveSocketTargets(options: LiveSocketOptions = {}): AsyncFuzzTarget[] {
  let server: LiveServer | undefined;
  let starting: Promise<void> | undefined;
  const heaps: number[] = [];
  let heapBase: number | undefined;
  let checkpoints = 0;
  let emitted = 0;
  const maxGrowth = (options.maxHeapGrowthMB ?? 64) * 2 ** 20;
  const { v, libqi } = realTraffic();
  // libqi's own client messages (spec vectors and libqi 4.0.5 dumps), as a second base and as donors.
  const libqiClient = [
    v(1),
    v(3),
    v(4),
    v(5),
    v(7),
    v(10),
    v(12),
    v(13),
    v(16),
    v(17),
    libqi('msg_call_add_1_2'),
    libqi('msg_call_registerevent'),
    libqi('msg_post_string_abc'),
    libqi('msg_cancel_call_7'),
    libqi('msg_call_dynamic_payload'),
  ];

  const start = async () => {
    const session = await listenStandalone('tcp://127.0.0.1:0', { ipc: false, handshakeTimeoutMs: 2000 });
    const object = (options.service ?? fuzzCalculator)();
    const serviceId = await session.registerService('Calculator', object);
    const url = session.endpoints.find((e) => e.startsWith('tcp:'))!;
    const port = Number(/:(\d+)$/.exec(url)![1]);
    const addAction = object.type.methodsByName.get('add')![0].uid;
    const channels = (session as unknown as { channels: Set<Channel> }).channels;
    const recording = splitFrames(await recordSession(url));
    server = { session, object, serviceId, addAction, url, port, recording, channels };
  };

  const target: AsyncFuzzTarget = {
    name: 'session/live-socket',
    async: true,
    checkpointEvery: options.checkpointEvery ?? 200,
    setup: () => (starting ??= start()),
    async teardown() {
      await starting?.catch(() => {});
      const s = server;
      server = undefined;
      starting = undefined;
      await s?.session.close();
    },
    next(rng) {
      if (server === undefined) throw new Error('session/live-socket: setup() first');
      const srv = server;
      const rec = srv.recording;
      let base: Buffer[];
      let baseName: string;
      const r = rng.next();
      if (r < 0.6) {
        base = rec;
        baseName = `recorded session (${rec.length} messages)`;
      } else if (r < 0.8) {
        const k = 1 + rng.int(rec.length);
        base = rec.slice(0, k);
        baseName = `first ${k} messages of the recorded session`;
      } else if (r < 0.9) {
        const a = 1 + rng.int(rec.length - 1),
          b = a + 1 + rng.int(rec.length - a);
        base = [rec[0], ...rec.slice(a, b)];
        baseName = `authenticate + recorded messages ${a}..${b - 1}`;
      } else {
        base = [v(1), ...Array.from({ length: 1 + rng.int(5) }, () => rng.pick(libqiClient))];
        baseName = 'libqi client messages';
      }
      const m = mutateFrames(rng, base, [...rec, ...libqiClient]);
      const sizes = splitSizes(rng, m.bytes.length);
      // Few, bigger chunks: TCP coalesces anyway, and small writes only slow the run down.
      const merged: number[] = [];
      for (const n of sizes) {
        if (merged.length > 0 && rng.bool(0.7)) merged[merged.length - 1] += n;
        else merged.push(n);
      }
      const pauses = merged.map(() => rng.bool(0.2));
      const ending = rng.pick<LiveEnding>(['end', 'destroy', 'linger']);
      const input = { bytes: m.bytes, sizes: merged, pauses, ending };
      return {
        bytes: m.bytes,
        describe: () =>
          `raw TCP client sends ${hexOf(m.bytes)} in chunks [${merged.join(',')}], pauses after [${pauses.flatMap((p, i) => (p ? [i] : [])).join(',')}], then ${ending}` +
          ` [${baseName}, mutations: ${m.ops.join(' ')}]`,
        async run() {
          // The server emits to whoever subscribed, misbehaving peers included.
          const { outFault } = await replayRaw(srv.port, input, () =>
            (srv.object as unknown as LocalObject<typeof FuzzCalculator>).emit('fired', ++emitted, 'tick'),
          );
          if (outFault !== undefined)
            throw new OracleFailure(`the server sent bytes that do not frame: ${stackOf(outFault)}`);
          await healthyCall(srv);
        },
      } satisfies AsyncFuzzCase;
    },
    async checkpoint() {
      const srv = server;
      if (srv === undefined) return;
      const deadline = performance.now() + 2000;
      while (srv.channels.size > 0 && performance.now() < deadline) await delay(10);
      if (srv.channels.size > 0)
        throw new OracleFailure(`${srv.channels.size} server connections still open 2 s after their clients left`);
      const names = (await srv.session.services())
        .map((x) => x.name)
        .sort()
        .join(',');
      if (names !== 'Calculator,ServiceDirectory')
        throw new OracleFailure(`the directory lists ${names} after every client left`);
      const { gc } = await import('./gc.js'); // exposes gc to the process: only when a checkpoint needs it
      gc();
      const heap = process.memoryUsage().heapUsed;
      heaps.push(heap);
      checkpoints++;
      // The first checkpoints warm up (code, caches); from the second on, the heap must stay near.
      if (checkpoints === 2) heapBase = heap;
      if (heapBase !== undefined && heap - heapBase > maxGrowth) {
        const was = heapBase;
        heapBase = heap; // report growth once per maxGrowth
        throw new OracleFailure(
          `heap after GC grew from ${(was / 2 ** 20).toFixed(1)} MB to ${(heap / 2 ** 20).toFixed(1)} MB`,
        );
      }
    },
    summary() {
      if (heaps.length === 0) return 'no checkpoint reached';
      const mb = (x: number) => (x / 2 ** 20).toFixed(1);
      return `${heaps.length} checkpoints: heap after GC first ${mb(heaps[0])} MB, last ${mb(heaps[heaps.length - 1])} MB, max ${mb(Math.max(...heaps))} MB; no connection left open, no stale service`;
    },
  };
  return [target];
}
