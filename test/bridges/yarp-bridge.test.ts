/**
 * The YARP bridge against replayed YARP peers (fixtures/yarp): a test peer sends exactly the bytes that
 * `yarp read`, `yarp write`, `yarp rpc` and a text_ack client sent to real YARP ports, and checks that the
 * bridge answers what real YARP answered (byte for byte where the content is the same).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { YarpBridge, encodeBottle, senderName, yarpNumber } from '../../src/bridges/index.js';
import { Dynamic } from '../../src/index.js';
import { RawPeer, capture, connStarting, type CapturedConn } from '../helpers/yarp-captures.js';
import { yarpWorld, type YarpWorld } from './yarp-world.js';

const TCP_HELLO = Buffer.from('5941e41e00005250', 'hex');
const ACK = yarpNumber(0);
const turns = (c: CapturedConn, from: 'client' | 'server') =>
  c.turns.filter((t) => t.from === from).map((t) => t.bytes);

/** Replays a captured text_ack admin connection to `port`; returns what the bridge answered. */
async function admin(port: number, c: CapturedConn): Promise<string> {
  const peer = await RawPeer.connect(port);
  const [hello, command] = turns(c, 'client');
  peer.send(hello);
  assert.equal((await peer.read(15)).toString('latin1'), 'Welcome admin\r\n');
  peer.send(command);
  const answer = (await peer.readUntil('<ACK>\r\n')).toString('latin1');
  peer.close();
  return answer;
}

describe('the YARP bridge, replaying real YARP peers', () => {
  let w: YarpWorld;
  before(async () => {
    w = await yarpWorld();
  });
  after(() => w.close());

  it('registers one port per allowed signal and service with the name server, on loopback', () => {
    for (const name of ['/qi/Robot/done:o', '/qi/Robot/heard:i', '/qi/Robot/written:i', '/qi/Robot/rpc:i']) {
      const r = w.ns.table.get(name);
      assert.equal(r?.host, '127.0.0.1', name);
      assert.equal(r?.carrier, 'tcp');
    }
    assert.ok(w.ns.commands.includes(`register /qi/Robot/rpc:i tcp 127.0.0.1 ${w.portOf('/qi/Robot/rpc:i')}`));
  });

  it('is a source `yarp read /r2 /qi/…` connects: admin [add], the tcp connection, a Bottle as YARP sends it, [del]', async () => {
    const conns = capture('read-connect');
    const admins = conns.filter((c) => c.turns[0]?.bytes.toString('latin1').startsWith('CONNACK admin'));
    const [list, add, list2, del] = admins;
    const src = w.portOf('/qi/Robot/done:o');
    // The reader, as /r2 was: it answers the header with its port number, then acknowledges each message.
    const realReader = connStarting(conns, Buffer.concat([TCP_HELLO, senderName('/src')]));
    const reader = net.createServer();
    await new Promise<void>((resolve) => reader.listen(0, '127.0.0.1', resolve));
    w.ns.table.set('/r2', { host: '127.0.0.1', port: (reader.address() as net.AddressInfo).port, carrier: 'tcp' });
    const accepted = new Promise<RawPeer>((resolve) => reader.once('connection', (s) => resolve(RawPeer.of(s))));
    try {
      assert.equal(await admin(src, list), turns(list, 'server')[1].toString('latin1')); // "\r\n<ACK>\r\n": none yet
      // As a YARP port does, the bridge answers [add] once connected to the reader.
      const added = admin(src, add);
      const peer = await accepted;
      const hello = Buffer.concat([TCP_HELLO, senderName('/qi/Robot/done:o')]);
      assert.deepEqual(await peer.read(hello.length), hello);
      peer.send(turns(realReader, 'server')[0]);
      assert.equal(await added, '0 "Added connection from /qi/Robot/done:o to /r2"\r\n<ACK>\r\n');
      // The captured /src wrote `x 1`: the same emission gives the same bytes.
      const [, xOne] = turns(realReader, 'client');
      await new Promise((r) => setTimeout(r, 50));
      w.robot.emit('done', 'x', 1);
      assert.deepEqual(await peer.read(xOne.length), xOne);
      peer.send(ACK);
      const listed = await admin(src, list2);
      assert.equal(listed, '(from "/qi/Robot/done:o") (to "/r2") (carrier tcp)\r\n<ACK>\r\n');
      assert.equal(turns(list2, 'server')[1].toString('latin1'), '(from "/src") (to "/r2") (carrier tcp)\r\n<ACK>\r\n');
      assert.equal(await admin(src, del), '0 "Removed connection from /qi/Robot/done:o to /r2"\r\n<ACK>\r\n');
      await peer.closedWithin(2000);
    } finally {
      reader.close();
    }
  });

  it('is a destination `yarp write /w /qi/…` writes to: acknowledgements as /r sent them, values into qi', async () => {
    const real = connStarting(capture('write-read'), Buffer.concat([TCP_HELLO, senderName('/w')]));
    const [hello, hi, fortyTwo, quit] = turns(real, 'client');
    const acks = turns(real, 'server');
    const proxy = await w.bridge.session.service('Robot');
    const got: unknown[][] = [];
    const off = await (
      proxy as unknown as { written: { connect(f: (...a: unknown[]) => void): Promise<() => Promise<void>> } }
    ).written.connect((...args) => got.push(args));
    const peer = await RawPeer.connect(w.portOf('/qi/Robot/written:i'));
    peer.send(hello);
    const answer = await peer.read(8);
    assert.deepEqual([answer.subarray(0, 2), answer.subarray(6)], [acks[0].subarray(0, 2), acks[0].subarray(6)]);
    assert.equal(answer.readInt32LE(2), w.portOf('/qi/Robot/written:i'));
    peer.send(hi);
    assert.deepEqual(await peer.read(8), acks[1]);
    peer.send(fortyTwo);
    assert.deepEqual(await peer.read(8), acks[2]);
    peer.send(quit);
    assert.deepEqual(await peer.read(8), acks[3]);
    await peer.closedWithin(2000);
    for (let i = 0; i < 150 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await off();
    assert.equal(got.length, 1);
    const [s, one, f, two, nested, ok, blob, yes, minus, big] = got[0];
    assert.deepEqual(
      [s, one, f, two, ok, yes, minus, big],
      ['hello', 1, 2.5, 'two words', 'ok', true, -7, 3000000000n],
    );
    assert.deepEqual([...(blob as Uint8Array)], [1, 2, 255]);
    assert.equal((nested as Dynamic).signature, '[m]');
    // `42` does not fit the signal: the writer asked for no reply, so the operator is told.
    assert.ok(
      w.warnings.some((m) =>
        /a Bottle from \/w is not emitted: Robot.written takes 10 values per Bottle, got 1/.test(m),
      ),
    );
  });

  it('answers `yarp rpc` as YARP RPC servers do: the reply Bottle, then the acknowledgement', async () => {
    const real = connStarting(capture('rpc'), Buffer.concat([TCP_HELLO, senderName('anon_rpc')]));
    const [hello, add, hi] = turns(real, 'client');
    const peer = await RawPeer.connect(w.portOf('/qi/Robot/rpc:i'));
    peer.send(hello);
    await peer.read(8);
    peer.send(add);
    const three = encodeBottle([{ t: 'int32', v: 3 }]);
    assert.deepEqual(await peer.read(three.length + 8), Buffer.concat([three, ACK]));
    peer.send(hi);
    const fail = encodeBottle([
      { t: 'vocab', v: 'fail' },
      { t: 'string', v: 'Robot has no method hi served over YARP (served: add, say, slow)' },
    ]);
    assert.deepEqual(await peer.read(fail.length + 8), Buffer.concat([fail, ACK]));
    peer.close();
  });

  it('speaks the text_ack carrier as YARP ports do (Welcome, a reply line, <ACK>)', async () => {
    const [bytes] = turns(connStarting(capture('text'), 'CONNACK /telnet'), 'client');
    const peer = await RawPeer.connect(w.portOf('/qi/Robot/rpc:i'));
    peer.send(bytes.toString('latin1').replace('1 2 "three"', 'add 20 22'));
    assert.equal((await peer.closedWithin(2000)).toString('latin1'), 'Welcome /telnet\r\n42\r\n<ACK>\r\n<ACK>\r\n');
  });

  it('unregisters every port when it closes', async () => {
    const other = await yarpWorld();
    const names = [...other.ns.table.keys()];
    assert.equal(names.length, 4);
    await other.bridge.close();
    assert.equal(other.ns.table.size, 0);
    for (const n of names) assert.ok(other.ns.commands.includes(`unregister ${n}`));
    await other.close();
  });

  it('refuses to start without the acknowledgement, on a non-loopback host, or with a bad name server', async () => {
    await assert.rejects(YarpBridge.start({ nameServer: w.ns.address, insecureUnauthenticated: false }), {
      code: 'ERR_QI_CONFIG',
      message: /The YARP bridge has no authentication.*--insecure-unauthenticated/,
    });
    await assert.rejects(
      YarpBridge.start({ nameServer: w.ns.address, host: '0.0.0.0', insecureUnauthenticated: true }),
      { code: 'ERR_QI_CONFIG', message: /refusing to listen on 0\.0\.0\.0.*--allow-non-loopback/ },
    );
    await assert.rejects(YarpBridge.start({ nameServer: 'yarp://x', insecureUnauthenticated: true }), {
      code: 'ERR_QI_CONFIG',
    });
  });
});
