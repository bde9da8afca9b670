import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QiProtocolError } from '../../src/index.js';
import {
  FrameReader,
  HEADER_SIZE,
  Message,
  MessageType,
  encodeMessage,
  parseMessages,
  writeHeader,
} from '../../src/wire.js';

function sample(): Buffer[] {
  return [
    Buffer.concat(
      encodeMessage({ id: 1, type: MessageType.Call, service: 1, object: 1, action: 100 }, '(s)', ['ALTextToSpeech']),
    ),
    Buffer.concat(
      encodeMessage({ id: 2, type: MessageType.Reply, service: 1, object: 1, action: 101 }, 'v', undefined),
    ),
    Buffer.concat(
      encodeMessage(
        { id: 3, type: MessageType.Event, service: 2, object: 1, action: 106 },
        'r',
        Buffer.alloc(100_000, 3),
      ),
    ),
    Buffer.concat(
      encodeMessage({ id: 4, type: MessageType.Post, flags: 1, service: 7, object: 3, action: 3 }, 'm', 23),
    ),
  ];
}

function collect(chunks: Buffer[], options?: { maxPayload?: number }): Message[] {
  const out: Message[] = [];
  const r = new FrameReader((m) => out.push(m), options);
  for (const c of chunks) r.push(c);
  r.end();
  return out;
}

/** A lone call header (id 9, service 1, object 1, action 100) announcing a `size`-byte payload. */
function callHeader(size: number): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  writeHeader(header, 0, { id: 9, size, version: 0, type: 1, flags: 0, service: 1, object: 1, action: 100 });
  return header;
}

function summary(ms: Message[]): string[] {
  return ms.map((m) => `${m.toString()} ${m.flags} ${m.payload.toString('hex').slice(0, 16)}`);
}

describe('FrameReader', () => {
  const stream = Buffer.concat(sample());
  const expected = summary(parseMessages(stream));

  it('reads many messages from one chunk', () => {
    assert.deepEqual(
      expected.map((s) => s.split(' (')[0]),
      ['Call {1.1.100, id:1}', 'Reply {1.1.101, id:2}', 'Event {2.1.106, id:3}', 'Post {7.3.3, id:4}'],
    );
  });

  it('reads the same messages one byte at a time', () => {
    const bytes = [...stream].map((b) => Buffer.from([b]));
    assert.deepEqual(summary(collect(bytes)), expected);
  });

  it('reads the same messages at every split point and at random chunk sizes', () => {
    for (let cut = 0; cut <= 200; cut++)
      assert.deepEqual(summary(collect([stream.subarray(0, cut), stream.subarray(cut)])), expected);
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) % 3000) + 1;
    for (let round = 0; round < 50; round++) {
      const chunks: Buffer[] = [];
      for (let p = 0; p < stream.length;) {
        const n = rand();
        chunks.push(stream.subarray(p, p + n));
        p += n;
      }
      assert.deepEqual(summary(collect(chunks)), expected);
    }
  });

  it('hands out payloads inside a chunk as views, without copying', () => {
    const ms = collect([stream]);
    assert.equal(ms[2].payload.buffer, stream.buffer);
  });

  it('rejects a bad magic with a message that says what to check', () => {
    const bad = Buffer.from(stream);
    bad[1] = 0xad;
    bad[2] = 0xde;
    assert.throws(
      () => collect([bad]),
      (e: unknown) => {
        assert.ok(e instanceof QiProtocolError);
        assert.equal(e.code, 'ERR_QI_PROTOCOL');
        assert.equal(e.fault, 'bad-magic');
        assert.match(e.message, /expected magic 42 de ad 42, got 42 ad de 42/);
        return true;
      },
    );
  });

  it('rejects TLS bytes on a plain socket as not qi', () => {
    const clientHello = Buffer.from('160301020001000' + '0'.repeat(60), 'hex');
    assert.throws(() => collect([clientHello]), /Not a qi message.*TLS on one side only/);
  });

  it('rejects an unknown version', () => {
    const bad = Buffer.from(stream);
    bad[12] = 1;
    assert.throws(
      () => collect([bad]),
      (e: unknown) => e instanceof QiProtocolError && e.fault === 'bad-version' && /version 1/.test(e.message),
    );
  });

  it('rejects a size over the limit before reading the payload, and stays failed', () => {
    const header = callHeader(0xffffffff);
    const out: Message[] = [];
    const r = new FrameReader((m) => out.push(m), { maxPayload: 1 << 20 });
    r.push(sample()[0]);
    assert.throws(
      () => r.push(header),
      (e: unknown) =>
        e instanceof QiProtocolError &&
        e.fault === 'too-large' &&
        e.streamOffset === sample()[0].length &&
        /4294967295-byte payload, over the 1048576-byte limit/.test(e.message),
    );
    assert.throws(() => r.push(sample()[0]), /4294967295-byte payload/);
    assert.equal(out.length, 1);
  });

  it('accepts a payload exactly at the limit', () => {
    const m = sample()[2];
    assert.equal(collect([m], { maxPayload: m.length - HEADER_SIZE }).length, 1);
    assert.throws(() => collect([m], { maxPayload: m.length - HEADER_SIZE - 1 }), /over the/);
  });

  it('does not allocate what a header announces until the bytes arrive', () => {
    const header = callHeader(40_000_000);
    const before = process.memoryUsage().arrayBuffers;
    const r = new FrameReader(() => assert.fail('no message expected'));
    r.push(header);
    r.push(Buffer.alloc(10));
    assert.ok(process.memoryUsage().arrayBuffers - before < 1_000_000);
    assert.ok(r.pending);
    assert.throws(
      () => r.end(),
      (e: unknown) => e instanceof QiProtocolError && e.fault === 'truncated' && /38 of 40000028 bytes/.test(e.message),
    );
  });

  it('keeps memory proportional to the bytes when a payload trickles in byte by byte', () => {
    const m = Buffer.concat(
      encodeMessage(
        { id: 1, type: MessageType.Call, service: 2, object: 1, action: 100 },
        'r',
        Buffer.alloc(128 * 1024, 1),
      ),
    );
    const out: Message[] = [];
    const r = new FrameReader((x) => out.push(x));
    const chunks = Array.from({ length: m.length }, (_, i) => m.subarray(i, i + 1));
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < m.length - 1; i++) r.push(chunks[i]);
    const grown = process.memoryUsage().heapUsed - before;
    r.push(chunks[m.length - 1]);
    assert.ok(grown < 4_000_000, `heap grew by ${grown} bytes for ${m.length} bytes received`);
    assert.equal(out.length, 1);
    assert.ok((out[0].decode('r') as Buffer).equals(Buffer.alloc(128 * 1024, 1)));
  });

  it('offers the unfilled part of a large payload to read into directly, once an eighth has arrived', () => {
    const body = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32LE(i, i);
    const m = Buffer.concat(
      encodeMessage({ id: 5, type: MessageType.Call, service: 2, object: 1, action: 100 }, 'r', body),
    );
    const out: Message[] = [];
    const r = new FrameReader((x) => out.push(x));
    let p = 0;
    while (r.readTarget(1) === null) {
      assert.ok(p < m.length / 4, 'a target should exist after an eighth of the payload');
      r.push(m.subarray(p, p + 65536));
      p += 65536;
    }
    assert.ok(p * 8 >= body.length && p * 8 < body.length + 8 * 65536 + 8 * HEADER_SIZE);
    while (out.length === 0) {
      const t = r.readTarget(1)!;
      const n = Math.min(t.length, 100_000);
      m.copy(t, 0, p, p + n); // what the kernel would do with onread
      r.advance(n);
      p += n;
    }
    assert.equal(p, m.length);
    assert.equal(r.readTarget(1), null);
    assert.ok((out[0].decode('r') as Buffer).equals(body));
    assert.ok(!r.pending);
  });

  it('assembles a payload under 1 MiB in one buffer as its chunks arrive', () => {
    const m = sample()[2];
    const out: Message[] = [];
    const r = new FrameReader((x) => out.push(x));
    r.push(m.subarray(0, 1000));
    const t = r.readTarget(1)!;
    assert.equal(t.length, m.length - 1000);
    r.push(m.subarray(1000, 50_000));
    assert.equal(r.readTarget(1)!.length, m.length - 50_000);
    assert.equal(r.readTarget(m.length), null, 'smaller than asked');
    r.push(m.subarray(50_000));
    assert.equal(summary(out).join(), summary([parseMessages(m)[0]]).join());
  });

  it('honours QI_MAX_MESSAGE_PAYLOAD like libqi', () => {
    const old = process.env.QI_MAX_MESSAGE_PAYLOAD;
    process.env.QI_MAX_MESSAGE_PAYLOAD = '1000';
    try {
      assert.equal(new FrameReader(() => {}).maxPayload, 1000);
    } finally {
      if (old === undefined) delete process.env.QI_MAX_MESSAGE_PAYLOAD;
      else process.env.QI_MAX_MESSAGE_PAYLOAD = old;
    }
    assert.equal(new FrameReader(() => {}).maxPayload, 50_000_000);
  });

  it('passes unknown types and flags through to the consumer', () => {
    const m = Message.of({ id: 5, type: 42, flags: 0x80, service: 1, object: 1, action: 1 });
    const [back] = parseMessages(m.toBuffer());
    assert.equal(back.type, 42);
    assert.equal(back.flags, 0x80);
    assert.equal(back.toString(), 'Unknown(42) {1.1.1, id:5} (0 bytes)');
  });
});

describe('encodeMessage', () => {
  it('keeps large raw payloads as separate buffers for a vectored write', () => {
    const big = Buffer.alloc(1 << 20, 9);
    const parts = encodeMessage({ id: 1, type: MessageType.Call, service: 2, object: 1, action: 100 }, '(r)', [big]);
    assert.ok(parts.includes(big), 'the raw buffer itself must be one of the parts');
    const whole = Buffer.concat(parts);
    assert.equal(whole.readUInt32LE(8), (1 << 20) + 4);
    const [m] = parseMessages(whole);
    assert.ok((m.decode('(r)') as [Buffer])[0].equals(big));
  });
  it('names the argument path when a value does not fit', () => {
    assert.throws(
      () => encodeMessage({ id: 1, type: 1, service: 2, object: 1, action: 100 }, '(is)', [1, 2], { name: 'args' }),
      /Cannot encode args\[1\] \(signature \(is\)\): expected a string/,
    );
  });
});
