/**
 * Bounded fuzzing above the framing (seeded, ~4 s): the server side of the handshake (acceptChannel fed
 * mutated openings of every client generation, with and without authenticators), the client side
 * (openChannel against a fake server sending mutated real replies) and a live Session server on a TCP
 * socket replaying mutated recordings of a real session. The long version is scripts/fuzz.ts:
 *
 *   npm run fuzz -- --seconds 600 --target handshake,session
 *
 * The findings of the long runs follow as regression tests, each with its minimal input (F1–F6: they were
 * todo tests until fixed in src/, by 59c3fec; a new finding gets a todo test the same way until its fix).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import {
  Dynamic,
  LocalObject,
  QiError,
  encode,
  listenStandalone,
  userTokenAuthenticator,
  type CallContext,
} from '../../src/index.js';
import {
  FrameReader,
  HEADER_SIZE,
  METAOBJECT_SIGNATURE,
  MessageType,
  acceptChannel,
  connect,
  encodeMessage,
  openChannel,
  type Channel,
  type Message,
} from '../../src/wire.js';
import { Rng, runTargetAsync, type AsyncFuzzTarget } from '../helpers/arbitraries.js';
import {
  clientOpenings,
  fuzzCalculator,
  handshakeTargets,
  healthyCall,
  liveSocketTargets,
  runServerHandshake,
} from '../helpers/fuzz-net.js';
import { loopbackListener } from '../helpers/net.js';
import { specVectors } from '../helpers/shared.js';
import { Calculator, calculator } from '../object/fixtures.js';

const SEED = 0x5eed_4a5d;
/** Inputs per target and a time cap each (slow or loaded machines run fewer of the same inputs). */
const LIMITS: Record<string, { inputs: number; ms: number }> = {
  'handshake/server': { inputs: 300, ms: 1200 },
  'handshake/client': { inputs: 40, ms: 1000 },
  'session/live-socket': { inputs: 40, ms: 1200 },
};

const vector = (n: number) => specVectors().find((v) => v.name.startsWith(`V${n} `))!.bytes;
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bounded(target: AsyncFuzzTarget): Promise<void> {
  const limits = LIMITS[target.name];
  const run = await runTargetAsync(target, new Rng(SEED ^ target.name.length), {
    maxInputs: limits.inputs,
    maxMs: limits.ms,
    hangMs: 1000,
  });
  assert.ok(run.inputs >= Math.min(20, limits.inputs), `only ${run.inputs} inputs ran`);
  assert.equal(run.findings.length, 0, run.findings.map((f) => f.message.slice(0, 3000)).join('\n'));
}

describe('handshake and live-socket fuzzing (bounded, seeded)', () => {
  it('the fuzz script serves the same Calculator as the tests (the script cannot import fixtures.ts)', () => {
    const meta = (o: { type: { metaObject: unknown } }) =>
      encode(METAOBJECT_SIGNATURE, o.type.metaObject).toString('hex');
    assert.equal(meta(fuzzCalculator()), meta(calculator()));
  });

  it('harness sanity: every unmutated opening is let in by a server without authentication', async () => {
    for (const o of clientOpenings()) {
      const bytes = Buffer.concat(o.frames);
      const r = await runServerHandshake({
        bytes,
        sizes: [bytes.length],
        pauses: [false],
        auth: 'none',
        ending: 'open',
        handshakeTimeoutMs: 300,
      });
      assert.equal(r.ready, true, o.name);
    }
  });

  it('harness sanity: an authenticating server lets in V4 (nao/nao) and refuses V1 (no credentials)', async () => {
    const run = (n: number) =>
      runServerHandshake({
        bytes: vector(n),
        sizes: [vector(n).length],
        pauses: [false],
        auth: 'user-token',
        ending: 'open',
        handshakeTimeoutMs: 300,
      });
    assert.deepEqual(await run(4), { ready: true, closed: false });
    assert.deepEqual(await run(1), { ready: false, closed: true });
  });

  for (const target of handshakeTargets()) {
    it(`${target.name}: settles in time, only QiErrors, oracles hold`, () => bounded(target));
  }

  it('session/live-socket: the server survives mutated real sessions and keeps serving (the test Calculator)', async () => {
    const [target] = liveSocketTargets({ service: () => calculator(), checkpointEvery: 25 });
    try {
      await bounded(target);
    } finally {
      await target.teardown?.();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Findings of `npm run fuzz -- --seconds 600 --seed 20261124 --target handshake,session`, minimized.
// ---------------------------------------------------------------------------------------------------

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
/** A message with a hand-made payload. */
function frame(
  fields: { id: number; type: number; service?: number; object?: number; action?: number },
  payload: Buffer,
): Buffer {
  const [head] = encodeMessage({ service: 0, object: 0, action: 8, ...fields }, 'v', undefined);
  const h = Buffer.from(head.subarray(0, HEADER_SIZE));
  h.writeUInt32LE(payload.length, 8);
  return Buffer.concat([h, payload]);
}
/** `{sm}` with one entry whose key is the single byte ff (not UTF-8) and whose value is the bool true. */
const NON_UTF8_KEY_ENTRY = Buffer.concat([
  u32(1),
  u32(1),
  Buffer.from([0xff]),
  u32(1),
  Buffer.from('b'),
  Buffer.from([1]),
]);
/** 30 bytes that are not a qi header (what an HTTP client sends first). */
const NOT_QI = Buffer.from('GET / HTTP/1.1\r\nHost: robot\r\n\r\n');

/** Collects unhandled rejections while `f` runs and for `settleMs` after (a server process would die of them). */
async function rejectionsDuring(f: () => Promise<void>, settleMs = 100): Promise<string[]> {
  const seen: string[] = [];
  const onRejection = (e: unknown) => seen.push(`${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? e}`);
  process.on('unhandledRejection', onRejection);
  try {
    await f();
    await delay(settleMs);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  return seen;
}

/** A raw TCP peer: sends bytes in one write, collects what comes back until the server closes or `ms` pass. */
async function rawExchange(port: number, bytes: Buffer, ms = 300): Promise<{ messages: Message[]; closed: boolean }> {
  const sock = net.connect(port, '127.0.0.1');
  const messages: Message[] = [];
  const reader = new FrameReader((m) => messages.push(m));
  let closed = false;
  sock.on('data', (c) => reader.push(c));
  sock.on('error', () => {});
  const gone = new Promise<void>((r) => sock.on('close', () => ((closed = true), r())));
  await new Promise((r) => sock.once('connect', r));
  sock.write(bytes);
  await Promise.race([gone, delay(ms)]);
  sock.destroy();
  return { messages, closed };
}

/** A server like a Session's: acceptChannel on each connection; reports how each channel closed. */
async function acceptingServer(options: Parameters<typeof acceptChannel>[1]) {
  const closes: (Error | undefined)[] = [];
  const l = await loopbackListener((s) => acceptChannel(s, options).onClose((e) => closes.push(e)));
  return { port: (l.endpoint as { port: number }).port, closes };
}

describe('fuzz findings (regressions; fixed in 59c3fec)', () => {
  // F1. handshake.ts authenticate() → Channel.mergeRemoteCapabilities → mergeCapabilities calls k.startsWith on
  // every key, but a key that is not valid UTF-8 decodes to a Buffer: TypeError inside the async
  // authenticate(), an unhandled rejection, and Node ends the server process. Any client can do it, before
  // authentication, to any server (Session, ServiceDirectory, gateway), with or without an authenticator.
  // Minimal input: one authenticate call (0,0,8) whose payload is {"\xff": true}.
  it('F1: an authenticate call with a non-UTF-8 capability key does not crash the server', async () => {
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    try {
      const serviceId = await sd.registerService('Calculator', calculator());
      const url = sd.endpoints.find((e) => e.startsWith('tcp:'))!;
      const port = Number(/:(\d+)$/.exec(url)![1]);
      let answer: { messages: Message[]; closed: boolean } | undefined;
      const rejections = await rejectionsDuring(async () => {
        answer = await rawExchange(port, frame({ id: 1, type: MessageType.Call }, NON_UTF8_KEY_ENTRY));
      });
      assert.deepEqual(rejections, []);
      assert.ok(answer!.messages.length > 0 || answer!.closed, 'the client got neither an answer nor a disconnection');
      await healthyCall({ url, serviceId, addAction: calculator().type.methodsByName.get('add')![0].uid });
    } finally {
      await sd.close();
    }
  });

  // F2. The client side of F1: openChannel → mergeRemoteCapabilities on the server's reply. A reply map with
  // a non-UTF-8 key makes openChannel reject with a TypeError instead of a QiError (or connecting: libqi takes
  // keys as bytes). Minimal input: the reply (0,0,8) {"\xff": true, "__qi_auth_state": I 3}.
  it('F2: a handshake reply with a non-UTF-8 capability key settles openChannel with a QiError or a channel', async () => {
    const server = net.createServer((s) => {
      const r = new FrameReader((m) => {
        const payload = Buffer.concat([
          u32(2),
          Buffer.from([1, 0, 0, 0, 0xff]),
          u32(1),
          Buffer.from('b'),
          Buffer.from([1]),
          encode('s', '__qi_auth_state'),
          encode('m', new Dynamic('I', 3)),
        ]);
        s.write(frame({ id: m.id, type: MessageType.Reply }, payload));
      });
      s.on('data', (c) => r.push(c));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      let ch: Channel | undefined;
      try {
        ch = await openChannel(await connect(`tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`), {
          timeoutMs: 1000,
        });
      } catch (e) {
        assert.ok(
          e instanceof QiError,
          `openChannel rejected with ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`,
        );
      }
      ch?.close();
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  // F3. acceptChannel with an authenticator: refuse() answers Error and calls stream.close() (end), but the
  // gate goes on handling the messages that came in the same read (or were queued during authentication):
  // each is refused again, and writing its Error after end() destroys the socket with ERR_STREAM_WRITE_AFTER_END,
  // which becomes the channel's close reason (not a QiError). Minimal input: services() (V7) twice in one write.
  it('F3: a server refusing an unauthenticated client stops there and closes cleanly', async () => {
    const { port, closes } = await acceptingServer({ authenticator: userTokenAuthenticator({ nao: 'nao' }) });
    const { messages } = await rawExchange(port, Buffer.concat([vector(7), vector(7)]));
    await delay(50);
    assert.deepEqual(
      messages.map((m) => m.type),
      [MessageType.Error],
      'one refusal, then nothing',
    );
    assert.equal(closes.length, 1);
    assert.ok(
      closes[0] === undefined || closes[0] instanceof QiError,
      `closed with ${closes[0]?.constructor.name} ${(closes[0] as { code?: string })?.code}: ${closes[0]?.message}`,
    );
  });

  // F4. acceptChannel with an authenticator: messages that arrive while authenticate() runs are queued and,
  // in its finally, delivered even when the channel closed meanwhile. The gate then refuses a queued call:
  // refuse() → replyError() on a closed stream throws QiClosedError inside the async authenticate(), an
  // unhandled rejection, and the server process ends. (A queued authenticate call whose payload is not a map
  // takes the same path through authenticate() → refuse().) Any client can do it before authenticating.
  // Minimal input, one write: the authenticate call V1 (no credentials), services() (V7), then 30 bytes that
  // are not qi (the framing error closes the connection while the first call is being authenticated).
  it('F4: a message queued during authentication, after the connection failed, does not crash the server', async () => {
    const { port } = await acceptingServer({ authenticator: userTokenAuthenticator({ nao: 'nao' }) });
    for (const queued of [vector(7), frame({ id: 2, type: MessageType.Call }, Buffer.from([0xff]))]) {
      const rejections = await rejectionsDuring(
        async () => void (await rawExchange(port, Buffer.concat([vector(1), queued, NOT_QI]))),
      );
      assert.deepEqual(rejections, []);
    }
  });

  // F5. openChannel, multi-round authentication: when the connection fails right after a Continue (state 2)
  // answer, the next round's awaitAnswer() registers its close listener on the closed channel (it fires on a
  // microtask and rejects) and then ch.send() throws QiClosedError. openChannel rejects with that, and the
  // promise of awaitAnswer() rejects with nobody awaiting it: an unhandled rejection that ends the client
  // process. Minimal input, one write from the server: Reply (0,0,8) {__qi_auth_state: I 2, auth_newToken: s "x"}
  // followed by 30 bytes that are not qi; the client connects with { user, token }.
  it('F5: a connection lost between two authentication rounds rejects openChannel only (no unhandled rejection)', async () => {
    const server = net.createServer((s) => {
      const r = new FrameReader((m) => {
        const reply = Buffer.concat(
          encodeMessage(
            { id: m.id, type: MessageType.Reply, service: 0, object: 0, action: 8 },
            '{sm}',
            new Map<string, Dynamic>([
              ['__qi_auth_state', new Dynamic('I', 2)],
              ['auth_newToken', new Dynamic('s', 'x')],
            ]),
          ),
        );
        s.write(Buffer.concat([reply, NOT_QI]));
      });
      s.on('data', (c) => r.push(c));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const rejections = await rejectionsDuring(async () => {
        await assert.rejects(
          openChannel(await connect(`tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`), {
            auth: { user: 'nao', token: 'nao' },
            timeoutMs: 1000,
          }),
          QiError,
        );
      });
      assert.deepEqual(rejections, []);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  // F6 (resources; lower severity, a design question). ObjectServer cancels the running calls of a client that
  // goes away, but only those it tracks: a Post of an asynchronous method is never tracked (nor counted by
  // limits.maxIncomingCalls), and a Call reusing the id of a running one replaces it in the table. Their work
  // goes on after the client left, with nothing to stop it: a client can post slow(2^31-1) again and again and
  // leave. Found through the timers of slow() outliving the fuzz server. Minimal input: V1, then a Post of
  // Calculator.slow(60000); or two Calls of slow(60000) with the same id; then disconnect.
  it('F6: work a client started (a Post, a Call whose id was reused) is canceled when it goes away', async () => {
    let running = 0;
    const base = calculator();
    const object = new LocalObject(Calculator, {
      ...(base.implementation as object),
      slow: (ms: number, ctx: CallContext) =>
        new Promise<number>((resolve, reject) => {
          running++;
          const timer = setTimeout(() => (running--, resolve(ms)), ms);
          timer.unref();
          ctx.signal.addEventListener('abort', () => (clearTimeout(timer), running--, reject(new Error('aborted'))));
        }),
    } as never);
    const sd = await listenStandalone('tcp://127.0.0.1:0', { ipc: false });
    try {
      const service = await sd.registerService('Calculator', object);
      const port = Number(/:(\d+)$/.exec(sd.endpoints.find((e) => e.startsWith('tcp:'))!)![1]);
      const action = object.type.methodsByName.get('slow')![0].uid;
      const slow = (id: number, type: number) =>
        Buffer.concat(encodeMessage({ id, type, service, object: 1, action }, '(i)', [60_000]));
      const left: Record<string, number> = {};
      for (const [name, bytes] of [
        ['post', slow(5, MessageType.Post)],
        ['same id twice', Buffer.concat([slow(5, MessageType.Call), slow(5, MessageType.Call)])],
      ] as const) {
        running = 0;
        await rawExchange(port, Buffer.concat([vector(1), bytes]), 50);
        await delay(50);
        left[name] = running;
      }
      assert.deepEqual(left, { post: 0, 'same id twice': 0 }, 'calls of slow() still running after their client left');
    } finally {
      await sd.close();
    }
  });
});
