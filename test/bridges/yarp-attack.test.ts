/**
 * Hostile YARP peers over real sockets: oversized and lying messages, endless headers and lines, floods
 * of connections, readers that never acknowledge, [add] towards addresses off this machine. Each is
 * bounded and closed with a reason, and an honest client beside it keeps being answered.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  encodeBottle,
  message,
  parseBottleText,
  portCommand,
  senderName,
  yarpNumber,
} from '../../src/bridges/index.js';
import { RawPeer } from '../helpers/yarp-captures.js';
import { yarpWorld, type YarpWorld } from './yarp-world.js';

const HELLO = (name: string) => Buffer.concat([yarpNumber(7777 + 3 + 128), senderName(name)]);
const call = (text: string) => message([portCommand('d'), encodeBottle(parseBottleText(text))]);

/** An RPC client that has said hello. */
async function rpcClient(w: YarpWorld): Promise<RawPeer> {
  const peer = await RawPeer.connect(w.portOf('/qi/Robot/rpc:i'));
  peer.send(HELLO('/honest'));
  await peer.read(8);
  return peer;
}

/** `add 1 2` answered with 3 (the reply Bottle and the acknowledgement). */
async function stillAnswers(peer: RawPeer): Promise<void> {
  peer.send(call('add 1 2'));
  const three = encodeBottle([{ t: 'int32', v: 3 }]);
  assert.deepEqual(await peer.read(three.length + 8), Buffer.concat([three, yarpNumber(0)]));
}

describe('the YARP bridge under attack', () => {
  let w: YarpWorld;
  let honest: RawPeer;
  before(async () => {
    w = await yarpWorld({ maxMessageBytes: 64 * 1024, handshakeMs: 300, maxConnections: 8 });
    honest = await rpcClient(w);
  });
  after(async () => {
    honest.close();
    await w.close();
  });

  it('closes a connection announcing a message over maxMessageBytes before reading it', async () => {
    const peer = await rpcClient(w);
    const index = Buffer.concat([yarpNumber(10), Buffer.from([1, 1, 255, 255, 255, 255, 255, 255, 255, 255])]);
    const lens = Buffer.alloc(8);
    lens.writeInt32LE(1 << 30, 0);
    peer.send(Buffer.concat([index, lens]));
    await peer.closedWithin(2000);
    assert.ok(w.warnings.some((m) => /announced a message over the limit of 65536 bytes/.test(m)));
    await stillAnswers(honest);
  });

  it('closes connections with a lying sender name, garbage, or a Bottle whose counts lie', async () => {
    const liar = await RawPeer.connect(w.portOf('/qi/Robot/rpc:i'));
    const head = Buffer.concat([yarpNumber(7908), Buffer.alloc(4)]);
    head.writeInt32LE(5000, 8);
    liar.send(head);
    await liar.closedWithin(2000);
    assert.ok(w.warnings.some((m) => /a sender name of 5000 bytes/.test(m)));
    const garbage = await RawPeer.connect(w.portOf('/qi/Robot/rpc:i'));
    garbage.send('GET / HTTP/1.1\r\n\r\n');
    await garbage.closedWithin(2000);
    assert.ok(w.warnings.some((m) => /bytes that are not a YARP header/.test(m)));
    const counts = await rpcClient(w);
    const lying = Buffer.alloc(8);
    lying.writeInt32LE(256, 0);
    lying.writeInt32LE(1_000_000_000, 4);
    counts.send(message([portCommand('d'), lying]));
    await counts.closedWithin(2000);
    assert.ok(w.warnings.some((m) => /claims 1000000000 elements in 0 bytes/.test(m)));
    await stillAnswers(honest);
  });

  it('closes a peer that sends no header in time, and a text line that never ends', async () => {
    const mute = await RawPeer.connect(w.portOf('/qi/Robot/rpc:i'));
    mute.send('YA');
    await mute.closedWithin(2000);
    assert.ok(w.warnings.some((m) => /no YARP connection header within 300 ms/.test(m)));
    const endless = await RawPeer.connect(w.portOf('/qi/Robot/rpc:i'));
    endless.send('CONNACK /x\r\nd\r\n');
    endless.send(Buffer.alloc(200 * 1024, 'a'));
    await endless.closedWithin(3000);
    assert.ok(w.warnings.some((m) => /a line longer than 65536 bytes/.test(m)));
    await stillAnswers(honest);
  });

  it('bounds connections per port; a connected client keeps its answers through the flood', async () => {
    const port = w.portOf('/qi/Robot/rpc:i');
    const flood = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        await new Promise((resolve) => s.once('connect', resolve));
        return RawPeer.of(s);
      }),
    );
    await stillAnswers(honest);
    // Over the limit (8, the honest client among them), the server closes the extra ones at once; the
    // rest are closed when their 300 ms for a header run out.
    await Promise.all(flood.map((p) => p.closedWithin(3000)));
    const late = await rpcClient(w);
    await stillAnswers(late);
    late.close();
  });

  it('drops emissions to a reader that never acknowledges, and counts them', async () => {
    const reader = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.write(yarpNumber(4242))); // answers the header, then never acknowledges
    });
    await new Promise<void>((resolve) => reader.listen(0, '127.0.0.1', resolve));
    w.ns.table.set('/lazy', { host: '127.0.0.1', port: (reader.address() as net.AddressInfo).port, carrier: 'tcp' });
    try {
      const admin = await RawPeer.connect(w.portOf('/qi/Robot/done:o'));
      admin.send('CONNACK admin\r\na\r\n[add] "/lazy"\r\n');
      assert.match((await admin.readUntil('<ACK>\r\n')).toString(), /^Welcome admin\r\n0 "Added connection/);
      admin.close();
      const before = w.bridge.metrics.dropped;
      for (let i = 0; i < 200; i++) w.robot.emit('done', `n${i}`, i);
      for (let i = 0; i < 250 && w.bridge.metrics.dropped - before < 100; i++)
        await new Promise((r) => setTimeout(r, 20));
      assert.ok(w.bridge.metrics.dropped - before >= 100, `${w.bridge.metrics.dropped - before} dropped`);
    } finally {
      reader.close();
    }
  });

  it('refuses [add] towards ports off this machine or unknown to the name server', async () => {
    w.ns.table.set('/far', { host: '192.0.2.1', port: 10002, carrier: 'tcp' });
    const admin = await RawPeer.connect(w.portOf('/qi/Robot/done:o'));
    admin.send('CONNACK admin\r\na\r\n[add] "/far"\r\n');
    assert.match((await admin.readUntil('<ACK>\r\n')).toString(), /-1 "\/far is at 192\.0\.2\.1, not on this machine/);
    admin.send('a\r\n[add] "/nobody"\r\n');
    assert.match((await admin.readUntil('<ACK>\r\n')).toString(), /-1 "the name server does not know \/nobody"/);
    admin.send('a\r\n[add] "/far" udp\r\n');
    assert.match((await admin.readUntil('<ACK>\r\n')).toString(), /-1 ".*tcp carrier only, not udp"/);
    admin.close();
  });

  it('answers calls that do not fit with [fail] and the reason, to the caller', async () => {
    honest.send(call('add 1 x'));
    const reply = encodeBottle([
      { t: 'vocab', v: 'fail' },
      { t: 'string', v: 'Robot.add argument 2: expected int32, got string x' },
    ]);
    assert.deepEqual(await honest.read(reply.length + 8), Buffer.concat([reply, yarpNumber(0)]));
    await stillAnswers(honest);
  });
});
