/**
 * Direct links without namespaces: STUN/TURN URL parsing, the DataChannel byte stream (two werift peer
 * connections in this process, over this machine's own addresses), and a whole link (signaling through
 * a ServiceDirectory, a gateway serving the link's sessions) on one host.
 */
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openStream, QiConnectError, QiError, Session, type AnyProxy } from '../../src/index.js';
import { openChannel } from '../../src/wire.js';
import {
  DataChannelDuplex,
  DirectLink,
  DirectLinkHost,
  QiIceServerError,
  describeIceServer,
  parseIceServer,
  toRtcIceServer,
} from '../../src/remote/index.js';
import { channelOpen } from '../../src/remote/ice/peer.js';
import { loadStack, type IcePeer, type IceStack } from '../../src/remote/ice/stack.js';
import type { DataChannelLike } from '../../src/remote/ice/duplex.js';
import { calculator } from '../object/fixtures.js';
import { camera } from '../stream/fixtures.js';
import { iceHost } from '../helpers/ice-host.js';

describe('ICE server URLs', () => {
  it('reads stun:, turn: and turns: with their defaults', () => {
    assert.deepEqual(parseIceServer('stun:203.0.113.1'), { kind: 'stun', host: '203.0.113.1', port: 3478 });
    assert.deepEqual(parseIceServer('stun:stun.example.org:19302'), {
      kind: 'stun',
      host: 'stun.example.org',
      port: 19302,
    });
    assert.deepEqual(parseIceServer('turn:alice:s3cret@203.0.113.1:3479'), {
      kind: 'turn',
      host: '203.0.113.1',
      port: 3479,
      transport: 'udp',
      username: 'alice',
      credential: 's3cret',
    });
    assert.deepEqual(parseIceServer('TURN:alice:pw@turn.example.org?transport=tcp'), {
      kind: 'turn',
      host: 'turn.example.org',
      port: 3478,
      transport: 'tcp',
      username: 'alice',
      credential: 'pw',
    });
    assert.deepEqual(parseIceServer('turns:alice:pw@turn.example.org'), {
      kind: 'turns',
      host: 'turn.example.org',
      port: 5349,
      transport: 'tcp',
      username: 'alice',
      credential: 'pw',
    });
    assert.deepEqual(parseIceServer('stun:[2001:db8::1]:3478'), { kind: 'stun', host: '2001:db8::1', port: 3478 });
  });

  it('decodes percent-encoded credentials, and never prints them', () => {
    const s = parseIceServer('turn:bob%40home:p%3Ass%40w%25rd@198.51.100.7:3478');
    assert.equal(s.username, 'bob@home');
    assert.equal(s.credential, 'p:ss@w%rd');
    assert.equal(describeIceServer(s), 'turn:198.51.100.7:3478');
    assert.deepEqual(toRtcIceServer(s), {
      urls: 'turn:198.51.100.7:3478?transport=udp',
      username: 'bob@home',
      credential: 'p:ss@w%rd',
    });
  });

  it('refuses what cannot work, saying why (without the password)', () => {
    const cases: [string, RegExp][] = [
      ['http://example.org', /must start with stun:, turn: or turns:/],
      ['turn:203.0.113.1:3478', /needs credentials/],
      ['turn:alice@203.0.113.1', /password is missing/],
      ['stun:u:p@203.0.113.1', /takes no credentials/],
      ['stun:203.0.113.1:99999', /not a port/],
      ['turn:a:b@203.0.113.1?transport=sctp', /udp or tcp/],
      ['turns:a:b@203.0.113.1?transport=udp', /over TCP/],
      ['stun:2001:db8::1', /in brackets/],
      ['turn:a:b@host?foo=1', /unknown parameter "foo"/],
    ];
    for (const [url, why] of cases) {
      assert.throws(
        () => parseIceServer(url),
        (e: Error) => e instanceof QiIceServerError && why.test(e.message) && !e.message.includes(':b@'),
        url,
      );
    }
    assert.throws(
      () => parseIceServer('turn:alice:topsecret@'),
      (e: Error) => !e.message.includes('topsecret') && /alice:\*\*\*@/.test(e.message),
    );
  });
});

const run = promisify(execFile);

/** Two connected peers of `stack` on this host (loopback only), with one open DataChannel each way. */
async function pair(stack: IceStack): Promise<{ a: IcePeer; b: IcePeer; ca: DataChannelLike; cb: DataChannelLike }> {
  const options = { servers: [], hostAddress: '127.0.0.1' };
  const a = stack.createPeer(options);
  const b = stack.createPeer(options);
  const ca = a.createChannel();
  const cbP = new Promise<DataChannelLike>((r) => b.onChannel(r));
  await b.applyRemote('offer', await a.describe('offer', 5000));
  await a.applyRemote('answer', await b.describe('answer', 5000));
  for (const sdp of [a.localSdp!, b.localSdp!]) {
    const addresses = sdp.match(/^a=candidate:.*$/gm)?.map((l) => l.split(' ')[4]);
    assert.deepEqual([...new Set(addresses)], ['127.0.0.1'], `only loopback candidates are offered: ${sdp}`);
  }
  const cb = await cbP;
  await Promise.all([channelOpen(a, ca, 10_000), channelOpen(b, cb, 10_000)]);
  return { a, b, ca, cb };
}

for (const name of ['libdatachannel', 'werift'] as const)
  describe(`DataChannelDuplex on ${name}`, () => {
    let stack: IceStack;
    let peers: Awaited<ReturnType<typeof pair>>;
    before(async () => {
      stack = await loadStack(name);
      assert.equal(stack.name, name);
      peers = await pair(stack);
    });
    after(async () => {
      await Promise.all([peers?.a.close(), peers?.b.close()]);
    });

    it(
      'carries bytes both ways, complete and in order, cut to the message size limit, with backpressure',
      { timeout: 30_000 },
      async () => {
        const da = new DataChannelDuplex(peers.ca, {
          chunkSize: 16 * 1024,
          highWaterMark: 256 * 1024,
          lowWaterMark: 64 * 1024,
        });
        const db = new DataChannelDuplex(peers.cb, { chunkSize: 16 * 1024 });
        const sizes: number[] = [];
        peers.cb.onMessage((m) => sizes.push(m.length));
        const total = 4 * 1024 * 1024;
        const sent = randomBytes(total);
        const received: Buffer[] = [];
        let receivedBytes = 0;
        const done = new Promise<void>((r) =>
          db.on('data', (c: Buffer) => {
            received.push(c);
            receivedBytes += c.length;
            if (receivedBytes >= total) r();
          }),
        );
        // Writes of uneven sizes, waiting for 'drain' as a well-behaved writer does.
        let off = 0;
        let refusals = 0;
        let peak = 0;
        while (off < total) {
          const n = Math.min(total - off, 1 + Math.floor(Math.random() * 100_000));
          const ok = da.write(sent.subarray(off, off + n));
          off += n;
          peak = Math.max(peak, peers.ca.bufferedAmount);
          if (!ok) {
            refusals++;
            await new Promise((r) => da.once('drain', r));
          }
        }
        await done;
        const got = Buffer.concat(received);
        assert.equal(got.length, total);
        assert.ok(got.equals(sent), 'the bytes arrived intact and in order');
        assert.ok(Math.max(...sizes) <= 16 * 1024, `a message of ${Math.max(...sizes)} bytes exceeds the chunk size`);
        assert.ok(refusals > 0, 'the writer was told to wait at least once');
        assert.ok(peak <= 256 * 1024 + 16 * 1024 + 100_000, `the channel's queue went up to ${peak} bytes`);

        // And back, in one large write.
        const back = randomBytes(1024 * 1024);
        const gotBack: Buffer[] = [];
        const backDone = new Promise<void>((r) => {
          let n = 0;
          da.on('data', (c: Buffer) => {
            gotBack.push(c);
            n += c.length;
            if (n >= back.length) r();
          });
        });
        db.write(back);
        await backDone;
        assert.equal(
          createHash('sha256').update(Buffer.concat(gotBack)).digest('hex'),
          createHash('sha256').update(back).digest('hex'),
        );

        // Ending one side ends the other.
        const ended = new Promise<void>((r) => db.once('end', r));
        da.end();
        await ended;
      },
    );

    it('carries a qi connection: handshake and calls over a MessageStream', { timeout: 20_000 }, async () => {
      const fresh = await pair(stack);
      try {
        const { acceptChannel, MessageStream, ObjectServer, RemoteBackend, createProxy } =
          await import('../../src/wire.js');
        const served = acceptChannel(new MessageStream(new DataChannelDuplex(fresh.cb), 'ice://b', 'ice://a'), {});
        new ObjectServer(calculator(), served, 5, 1, 'Calculator');
        const ch = await openChannel(new MessageStream(new DataChannelDuplex(fresh.ca), 'ice://a', 'ice://b'), {});
        const calc = createProxy(await RemoteBackend.fetch(ch, 5, 1, 'Calculator')) as AnyProxy;
        assert.equal(await calc.add(40, 2), 42);
        const big = randomBytes(3 * 1024 * 1024);
        const echoed = (await calc.echoRaw(big)) as Uint8Array;
        assert.ok(Buffer.from(echoed).equals(big), '3 MiB raw came back intact');
        ch.close();
      } finally {
        await Promise.all([fresh.a.close(), fresh.b.close()]);
      }
    });
  });

describe('DirectLink on one host', () => {
  const fx = iceHost({
    allow: ['Calculator', 'Camera'],
    services: { Camera: camera().object },
    client: { lpc: false },
  });

  it('runs on libdatachannel by default (node-datachannel is installed here); QI_ICE_STACK and stack choose', async () => {
    assert.equal((await loadStack()).name, 'libdatachannel');
    process.env.QI_ICE_STACK = 'werift';
    try {
      assert.equal((await loadStack()).name, 'werift');
      assert.equal((await loadStack('libdatachannel')).name, 'libdatachannel', 'the option wins over the variable');
      delete process.env.QI_ICE_STACK;
      const tcpTurn = [parseIceServer('turn:u:p@192.0.2.9:3478?transport=tcp')];
      assert.equal((await loadStack('auto', tcpTurn)).name, 'werift', 'libjuice has no TURN over TCP');
      process.env.QI_ICE_STACK = 'webrtc';
      await assert.rejects(
        loadStack(),
        (e: Error) =>
          e instanceof QiError && /Unknown ICE stack "webrtc": use auto, libdatachannel or werift/.test(e.message),
      );
    } finally {
      delete process.env.QI_ICE_STACK;
    }
  });

  for (const name of ['libdatachannel', 'werift'] as const)
    it(
      `${name}: a TURN server refusing the credentials never makes the password visible`,
      { timeout: 30_000 },
      async () => {
        const password = 'pw-Never-Printed-7781';
        const fixture = fileURLToPath(new URL('./fixtures/ice-turn-refused.js', import.meta.url));
        // On libdatachannel the process ends by itself once its link and host are closed (no native thread left).
        const { stdout, stderr } = await run(process.execPath, [fixture, name, password], { timeout: 25_000 });
        const outcome = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
          path: string;
          stack: string;
          reason: string;
        };
        assert.equal(outcome.stack, name);
        assert.equal(outcome.path, 'gateway');
        assert.match(outcome.reason, /turn:127\.0\.0\.1:\d+ gave no relay address \(it refused the credentials\?\)/);
        assert.ok(!`${stdout}${stderr}`.includes(password), `the password was printed: ${stdout}${stderr}`);
        assert.ok(!`${stdout}${stderr}`.includes('qi-user'), 'nor the user name');
      },
    );

  it('links a werift host and a libdatachannel client', { timeout: 20_000 }, async () => {
    const werift = await DirectLinkHost.register(fx.sd, {
      name: 'DirectLinkWerift',
      accept: fx.gw,
      hostAddress: '127.0.0.1',
      stack: 'werift',
    });
    try {
      const link = await fx.open({ service: 'DirectLinkWerift', stack: 'libdatachannel' });
      try {
        assert.equal(link.path, 'direct', link.reason);
        assert.equal(link.stack, 'libdatachannel');
        assert.equal(werift.active[0]?.stack, 'werift');
        const calc = (await link.session.service('Calculator')) as AnyProxy;
        assert.equal(await calc.add(20, 22), 42);
        const big = randomBytes(2 * 1024 * 1024);
        assert.ok(Buffer.from((await calc.echoRaw(big)) as Uint8Array).equals(big), '2 MiB came back intact');
      } finally {
        await link.close();
      }
    } finally {
      await werift.close();
      const id = fx.sd.serviceId('DirectLinkWerift');
      if (id !== undefined) await fx.sd.unregisterService(id);
    }
  });

  it('opens a link over host candidates, runs a session through it, and closes it', { timeout: 20_000 }, async () => {
    const link = await fx.open();
    try {
      assert.equal(link.path, 'direct', link.reason);
      assert.equal(link.stack, 'libdatachannel');
      assert.equal(link.local?.type, 'host');
      assert.equal(link.local?.address, '127.0.0.1', 'only loopback is offered');
      assert.equal(link.remote?.address, '127.0.0.1');
      assert.equal(fx.host.active.length, 1);
      assert.equal(fx.host.active[0].path, 'direct');
      assert.equal(fx.host.active[0].stack, 'libdatachannel');
      const calc = (await link.session.service('Calculator')) as AnyProxy;
      assert.equal(await calc.add(1, 2), 3);
      assert.equal(
        Session.route(calc),
        link.session.directoryConnection?.stream.remote,
        'the service is reached over the link',
      );
      // Services the link's gateway does not let bob see are not there.
      await assert.rejects(link.session.service('DirectLink'), /Cannot find service/);
      const raw = await link.openStream();
      assert.match(raw.remote, /^ice:\/\//);
      raw.destroy();
    } finally {
      await link.close();
    }
    for (let i = 0; i < 50 && fx.host.active.length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(fx.host.active.length, 0, 'the host dropped the link when it was hung up');
  });

  it(
    'cuts SCTP packets for mtu 1500 (option or QI_ICE_MTU), and refuses an mtu no path takes',
    { timeout: 20_000 },
    async () => {
      const payload = randomBytes(1 << 20);
      const viaOption = await fx.open({ mtu: 1500 });
      try {
        assert.equal(viaOption.path, 'direct', viaOption.reason);
        const calc = (await viaOption.session.service('Calculator')) as AnyProxy;
        assert.ok(((await calc.echoRaw(payload)) as Buffer).equals(payload), '1 MiB back intact');
      } finally {
        await viaOption.close();
      }
      process.env.QI_ICE_MTU = '1500';
      try {
        const viaEnv = await fx.open();
        try {
          const calc = (await viaEnv.session.service('Calculator')) as AnyProxy;
          assert.ok(((await calc.echoRaw(payload)) as Buffer).equals(payload));
        } finally {
          await viaEnv.close();
        }
        for (const mtu of [576, 1500.5, 65_536])
          await assert.rejects(
            fx.open({ mtu }),
            (e: Error) =>
              e instanceof QiError &&
              e.code === 'ERR_QI_CONFIG' &&
              new RegExp(`mtu must be a whole number from 1280 to 9000 bytes, not ${mtu}`).test(e.message),
          );
        assert.throws(
          () => new DirectLinkHost({ accept: fx.gw, mtu: 100 }),
          /mtu must be a whole number from 1280 to 9000 bytes, not 100/,
        );
      } finally {
        delete process.env.QI_ICE_MTU;
      }
    },
  );

  it('refuses offers that are not usable SDP, keeping no slot, and still opens the next link', async () => {
    // Any caller of the signaling service sends these; libdatachannel parses them natively (it aborts the
    // whole process on some misuse), so what it refuses must come back as an error, nothing more.
    const signaling = (await fx.client.service('DirectLink')) as AnyProxy;
    const header = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n';
    const media = 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n';
    const offers: [string, RegExp][] = [
      ['', /no ICE user fragment/],
      ['hello world', /no ICE user fragment/],
      [header, /no ICE user fragment/],
      [
        `${header}${media}a=ice-ufrag:abcd\r\na=ice-pwd:${'y'.repeat(22)}\r\na=fingerprint:sha-256 ZZ\r\na=setup:actpass\r\n`,
        /Invalid sha-256 fingerprint/,
      ],
    ];
    for (const [i, [sdp, why]] of offers.entries())
      await assert.rejects(signaling.offer(`hostile-${i}`, sdp), (e: Error) => {
        assert.match(e.message, /cannot answer this offer: .*/);
        assert.match(e.message, why);
        return true;
      });
    assert.equal(fx.host.active.length, 0, 'a refused offer keeps no link');
    const link = await fx.open();
    try {
      assert.equal(link.path, 'direct', link.reason);
      assert.equal(await ((await link.session.service('Calculator')) as AnyProxy).add(2, 2), 4);
    } finally {
      await link.close();
    }
  });

  it(
    'carries a stream of typed frames with backpressure over the link, complete and in order',
    { timeout: 20_000 },
    async () => {
      const link = await fx.open();
      try {
        assert.equal(link.path, 'direct', link.reason);
        const cam = (await link.session.service('Camera')) as AnyProxy;
        const reader = openStream<{ index: number; width: number; data: Buffer }>(
          (await cam.frames(200, 16 * 1024)) as object,
          { credit: 8 },
        );
        let next = 0;
        for await (const f of reader) {
          assert.equal(f.index, next++, 'frames in order');
          assert.ok(
            f.data.length === 16 * 1024 &&
              f.data[0] === (f.index & 255) &&
              f.data[f.data.length - 1] === (f.index & 255),
            `frame ${f.index} intact`,
          );
        }
        assert.equal(next, 200, 'every frame arrived');
        assert.ok(reader.peakBuffered <= 8, `the reader held at most its credit (${reader.peakBuffered})`);
      } finally {
        await link.close();
      }
    },
  );

  // How fast it opens is the bench's business (npm run bench:ice); here, that the silent servers were left out.
  it('leaves out STUN/TURN servers that do not answer, and still opens', { timeout: 20_000 }, async () => {
    const dead = ['stun:198.51.100.1:3478', 'turn:u:p@198.51.100.1:3478'];
    const link = await fx.open({ iceServers: dead });
    try {
      assert.equal(link.path, 'direct', link.reason);
      assert.equal(link.local?.type, 'host', 'on the loopback host candidates, no server between');
      assert.deepEqual(link.warnings, [
        'stun:198.51.100.1:3478 did not answer within 1500 ms',
        'turn:198.51.100.1:3478 did not answer within 1500 ms',
      ]);
      const calc = (await link.session.service('Calculator')) as AnyProxy;
      assert.equal(await calc.add(2, 3), 5);
    } finally {
      await link.close();
    }
  });

  it(
    'falls back to the signaling path when no candidate pair can work, and says why',
    { timeout: 20_000 },
    async () => {
      // Relay only, and no TURN server: nothing to offer.
      const link = await DirectLink.open(fx.client, {
        hostAddress: '127.0.0.1',
        relayOnly: true,
        timeoutMs: 3000,
      });
      assert.equal(link.path, 'gateway');
      assert.match(link.reason ?? '', /no candidate pair worked|ICE failed/);
      assert.match(link.reason ?? '', /no TURN server configured/);
      assert.equal(link.session, fx.client, 'the link is the signaling session');
      const calc = (await link.session.service('Calculator')) as AnyProxy;
      assert.equal(await calc.add(2, 2), 4);
      await link.close();
      assert.equal(fx.client.isConnected, true, 'closing a gateway-path link leaves the signaling session open');
      await assert.rejects(
        DirectLink.open(fx.client, {
          hostAddress: '127.0.0.1',
          relayOnly: true,
          timeoutMs: 2000,
          fallback: false,
        }),
        (e: Error) => e instanceof QiConnectError && /no TURN server configured/.test(e.message),
      );
    },
  );
});
