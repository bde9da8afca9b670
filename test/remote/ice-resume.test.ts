/**
 * Resumable streams (src/remote/ice/resume.ts) over real DataChannels on loopback: a stream whose
 * channel dies resumes on a fresh one, each side resending exactly what the other did not count (no
 * message lost, none twice); its replay buffer and its resume deadline are bounded, and the stream
 * says which bound closed it; a write larger than the replay bound waits for the peer's counts instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { channelOpen } from '../../src/remote/ice/peer.js';
import { ResumableChannel, firstMessage, parseHello, resumeLimits } from '../../src/remote/ice/resume.js';
import { loadStack, type IcePeer } from '../../src/remote/ice/stack.js';
import { DataChannelDuplex, type DataChannelLike } from '../../src/remote/ice/duplex.js';
import { until } from '../helpers/until.js';

describe('resumable streams over loopback DataChannels', () => {
  let a: IcePeer;
  let b: IcePeer;
  const incoming: DataChannelLike[] = [];
  before(async () => {
    const stack = await loadStack('libdatachannel');
    const options = { servers: [], hostAddress: '127.0.0.1' };
    a = stack.createPeer(options);
    b = stack.createPeer(options);
    b.onChannel((c) => incoming.push(c));
    const first = a.createChannel();
    await b.applyRemote('offer', await a.describe('offer', 5000));
    await a.applyRemote('answer', await b.describe('answer', 5000));
    await channelOpen(a, first, 10_000);
    await until(() => incoming.length === 1, 'the first channel to reach b');
    first.close();
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** A channel from a to b, open on both ends. */
  async function channel(): Promise<[DataChannelLike, DataChannelLike]> {
    const n = incoming.length;
    const ours = a.createChannel();
    await channelOpen(a, ours, 10_000);
    await until(() => incoming.length > n, 'the channel to reach b');
    const theirs = incoming[n];
    await channelOpen(b, theirs, 10_000);
    return [ours, theirs];
  }

  const collect = (s: ResumableChannel) => {
    const got: number[] = [];
    s.onMessage((m) => got.push((m as Buffer).readUInt32BE(0)));
    return got;
  };
  /** Message i: its number, then 0 to 600 bytes. */
  const msg = (i: number) => {
    const m = Buffer.alloc(4 + (i % 7) * 100, 1);
    m.writeUInt32BE(i, 0);
    return m;
  };

  it('resumes on a fresh channel: every message once, in order, both ways', { timeout: 20_000 }, async () => {
    const [ca, cb] = await channel();
    const opener = new ResumableChannel('s1', {});
    ca.sendText('os1');
    opener.attach(ca, 0);
    const hello = parseHello(await firstMessage(cb, 5000));
    assert.deepEqual(hello, { kind: 'open', stream: 's1' });
    const acceptor = new ResumableChannel('s1', {});
    acceptor.attach(cb, 0);
    const atB = collect(acceptor);
    const atA = collect(opener);
    for (let i = 0; i < 100; i++) opener.send(msg(i));
    for (let i = 0; i < 50; i++) acceptor.send(msg(i));
    await until(() => atB.length === 100 && atA.length === 50, 'the first messages');
    // The channel dies; both keep writing; nothing is acknowledged meanwhile.
    ca.close();
    await until(() => cb.readyState === 'closed', 'b to see the channel close');
    for (let i = 100; i < 300; i++) opener.send(msg(i));
    for (let i = 50; i < 120; i++) acceptor.send(msg(i));
    assert.equal(opener.readyState, 'open', 'the stream waits for a new channel');
    // The opener names the stream and its count; the acceptor answers with its own, then both resend.
    const [na, nb] = await channel();
    na.sendText(`rs1:${opener.count}`);
    const resume = parseHello(await firstMessage(nb, 5000));
    assert.deepEqual(resume, { kind: 'resume', stream: 's1', received: 50 });
    nb.sendText(`a${acceptor.count}`);
    acceptor.attach(nb, resume.kind === 'resume' ? resume.received : 0);
    const counted = await firstMessage(na, 5000);
    assert.equal(counted, 'a100');
    opener.attach(na, 100);
    await until(() => atB.length === 300 && atA.length === 120, 'the messages written during the break');
    assert.deepEqual(atB, [...Array(300).keys()], 'b got 0…299 once each, in order');
    assert.deepEqual(atA, [...Array(120).keys()], 'a got 0…119 once each, in order');
    opener.close();
    acceptor.close();
  });

  it('closes a stream that found no new channel within resumeMs, saying so', { timeout: 20_000 }, async () => {
    const [ca] = await channel();
    const s = new ResumableChannel('s2', { resumeMs: 300 });
    s.attach(ca, 0);
    const closed = new Promise<void>((r) => s.onStateChange((st) => st === 'closed' && r()));
    ca.close();
    await closed;
    assert.equal(s.why, 'no new path within 300 ms (QI_ICE_RESUME_MS)');
    assert.throws(() => s.send(Buffer.from('late')), /closed/);
  });

  it('closes a stream whose replay buffer passes replayBytes, saying so', { timeout: 20_000 }, async () => {
    const [ca] = await channel();
    const s = new ResumableChannel('s3', { replayBytes: 64 * 1024 });
    s.attach(ca, 0);
    ca.close(); // no channel: nothing is counted, everything stays for replay
    await until(() => s.bufferedAmount > 1e9, 'the stream to wait for a channel');
    for (let i = 0; i < 15; i++) s.send(Buffer.alloc(4096));
    assert.throws(() => s.send(Buffer.alloc(4096 * 2)), /more than 65536 bytes unacknowledged \(QI_ICE_REPLAY_BYTES\)/);
    assert.equal(s.readyState, 'closed');
  });

  it(
    'holds a writer back instead of failing when one write is larger than the replay limit',
    { timeout: 20_000 },
    async () => {
      const [ca, cb] = await channel();
      const s = new ResumableChannel('s4', { replayBytes: 1024 * 1024 });
      const r = new ResumableChannel('s4', {});
      s.attach(ca, 0);
      r.attach(cb, 0);
      const duplex = new DataChannelDuplex(s);
      let got = 0;
      r.onMessage((m) => (got += (m as Buffer).length));
      const big = Buffer.alloc(6 * 1024 * 1024, 3); // six times the limit, in one write (one qi message)
      await new Promise<void>((resolve, reject) => duplex.write(big, (e) => (e ? reject(e) : resolve())));
      await until(() => got === big.length, 'the whole write to arrive', 15_000);
      assert.equal(s.readyState, 'open', `the stream is still open (${s.why ?? ''})`);
      duplex.destroy();
      r.close();
    },
  );

  it('takes its limits from the options, else QI_ICE_REPLAY_BYTES / QI_ICE_RESUME_MS, else 8 MiB / 20 s', () => {
    assert.deepEqual(resumeLimits({}), { replayBytes: 8 * 1024 * 1024, resumeMs: 20_000 });
    process.env.QI_ICE_REPLAY_BYTES = '1000';
    process.env.QI_ICE_RESUME_MS = '500';
    try {
      assert.deepEqual(resumeLimits({}), { replayBytes: 1000, resumeMs: 500 });
      assert.deepEqual(resumeLimits({ replayBytes: 5, resumeMs: 6 }), { replayBytes: 5, resumeMs: 6 });
    } finally {
      delete process.env.QI_ICE_REPLAY_BYTES;
      delete process.env.QI_ICE_RESUME_MS;
    }
  });
});
