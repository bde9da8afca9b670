/**
 * The ROS graph node under attack over real sockets: a ROS peer may send any connection header, any
 * length, any XML-RPC body, and may point the node at a hostile publisher. Each is bounded and refused
 * without harming the node.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { QiError } from '../../src/index.js';
import { RosGraphBridge, RosNode, messageTypeOf } from '../../src/bridges/index.js';
import { encodeHeader, frame, parseHeader } from '../../src/bridges/rosgraph/tcpros.js';
import { xmlRpcCall } from '../../src/bridges/rosgraph/xmlrpc-http.js';
import { RosMaster, rosSkip } from '../helpers/rosmaster.js';
import { until } from '../helpers/until.js';

/** Sends `bytes` to the node and collects what it answers until it closes the connection. */
function exchange(port: number, bytes: Buffer, ms = 8000): Promise<{ answer: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => (s.destroy(), resolve({ answer: Buffer.concat(chunks), closed: false })), ms);
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => (clearTimeout(timer), resolve({ answer: Buffer.concat(chunks), closed: true })));
    s.write(bytes);
  });
}

const headerOf = (answer: Buffer) => parseHeader(answer.subarray(4, 4 + answer.readUInt32LE(0)));

describe('ROS graph node under attack', { skip: rosSkip }, () => {
  let master: RosMaster;
  let node: RosNode;
  let port: number;
  const warnings: string[] = [];
  const said = messageTypeOf('Robot', 'said', [{ kind: 'string' }]);

  before(async () => {
    master = await RosMaster.start();
    node = await RosNode.start({
      masterUri: master.uri,
      maxConnections: 8,
      maxMessageBytes: 4096,
      onWarning: (m) => warnings.push(m),
    });
    await node.advertise('/qi/Robot/said', said.spec);
    const r = (await xmlRpcCall(node.uri, 'requestTopic', ['/attacker', '/qi/Robot/said', [['TCPROS']]])) as unknown[];
    port = (r[2] as [string, string, number])[2];
  });
  after(async () => {
    await node?.close();
    await master?.stop();
  });

  it('answers a garbage header with an error header and closes', async () => {
    const r = await exchange(port, frame(Buffer.from('\xff\xff\xff\x7fgarbage', 'latin1')));
    assert.ok(r.closed);
    assert.match(headerOf(r.answer).error, /past its end/);
  });

  it('refuses a huge announced length without waiting for it', async () => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(0xfffffff0);
    const r = await exchange(port, b);
    assert.ok(r.closed);
    assert.match(headerOf(r.answer).error, /announced 4294967280 bytes, over the limit of 1048576/);
  });

  it('refuses a subscriber expecting another type, naming both', async () => {
    const r = await exchange(
      port,
      encodeHeader({ callerid: '/x', topic: '/qi/Robot/said', md5sum: '0'.repeat(32), type: 'std_msgs/Int32' }),
    );
    assert.ok(r.closed);
    assert.match(
      headerOf(r.answer).error,
      /std_msgs\/String with md5sum 992ce8a1687cec8c8bd883ec73ca41d1; the subscriber expects std_msgs\/Int32/,
    );
  });

  it('refuses unknown topics and services', async () => {
    const headers: Record<string, string>[] = [{ topic: '/secret' }, { service: '/secret' }, { nothing: 'x' }];
    for (const h of headers) {
      const r = await exchange(port, encodeHeader({ callerid: '/x', md5sum: '*', ...h }));
      assert.ok(r.closed);
      assert.match(
        headerOf(r.answer).error,
        /does not publish \/secret|serves no service \/secret|neither a topic nor a service/,
      );
    }
  });

  it('closes a connection that sends no header, and takes no more than maxConnections', async () => {
    const silent = await Promise.all(Array.from({ length: 10 }, () => exchange(port, Buffer.alloc(0), 8000)));
    assert.ok(
      silent.every((r) => r.closed),
      'every silent connection is closed',
    );
    // The node still works: a real subscriber is served.
    const ok = await exchange(
      port,
      encodeHeader({ callerid: '/x', topic: '/qi/Robot/said', md5sum: '*', type: '*' }),
      300,
    );
    assert.equal(headerOf(ok.answer).type, 'std_msgs/String');
  });

  it('bounds XML-RPC bodies and refuses what is not XML-RPC with a fault', async () => {
    const post = (body: Buffer | string) =>
      new Promise<{ status?: number; text: string; error?: string }>((resolve) => {
        const req = http.request(node.uri, { method: 'POST' }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode, text }));
        });
        req.on('error', (e) => resolve({ text: '', error: e.message }));
        req.end(body);
      });
    const big = await post(Buffer.alloc(2 * 1024 * 1024, 'a'));
    assert.ok(big.error !== undefined || big.status !== 200, 'a 2 MiB body is not answered');
    const bad = await post(
      '<methodCall><methodName>getPid</methodName><params><param><value><base64>AA==</base64></value></param></params></methodCall>',
    );
    assert.match(bad.text, /<fault>.*unsupported type &lt;base64&gt;/s);
    const deep = await post(
      `<methodCall><methodName>getPid</methodName><params><param>${'<value><array><data>'.repeat(100)}`,
    );
    assert.match(deep.text, /<fault>.*nest deeper than 32/s);
    await assert.rejects(
      xmlRpcCall(node.uri, 'execute', ['/x']),
      (e: QiError) => e.code === 'ERR_QI_CALL' && /unknown slave API method execute/.test(e.message),
    );
    assert.equal(((await xmlRpcCall(node.uri, 'getPid', ['/x'])) as unknown[])[2], process.pid);
  });

  it('drops a hostile publisher: a header whose definition does not match its md5sum, or a huge frame', async () => {
    const sub = await RosNode.start({
      masterUri: master.uri,
      name: '/qi_victim',
      maxMessageBytes: 4096,
      onWarning: (m) => warnings.push(m),
    });
    const fake = net.createServer((s) => {
      s.once('data', () => {
        s.write(
          encodeHeader({
            callerid: '/evil',
            type: 'std_msgs/String',
            md5sum: '992ce8a1687cec8c8bd883ec73ca41d1',
            message_definition: 'int32 data\n',
          }),
        );
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const fakePort = (fake.address() as net.AddressInfo).port;
    const slave = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<?xml version="1.0"?><methodResponse><params><param><value><array><data><value><int>1</int></value><value>ok</value><value><array><data><value>TCPROS</value><value>127.0.0.1</value><value><int>${fakePort}</int></value></data></array></value></data></array></value></param></params></methodResponse>`,
      );
    });
    await new Promise<void>((r) => slave.listen(0, '127.0.0.1', r));
    const slaveUri = `http://127.0.0.1:${(slave.address() as net.AddressInfo).port}/`;
    try {
      const got: unknown[] = [];
      await sub.subscribe('/chatter', '*', (m) => got.push(m));
      // Anyone may call publisherUpdate: the node asks the "publisher" and checks what it says.
      await xmlRpcCall(sub.uri, 'publisherUpdate', ['/evil', '/chatter', [slaveUri]]);
      await until(
        () => warnings.some((w) => /hashes to .*, not to the md5sum it announced/.test(w)),
        'the md5 check',
        10_000,
      );
      assert.equal(got.length, 0);
    } finally {
      await sub.close();
      fake.close();
      slave.close();
    }
  });

  it('refuses to start without the acknowledgement or on a non-loopback address', async () => {
    await assert.rejects(
      RosGraphBridge.start({ masterUri: master.uri } as never),
      (e: QiError) => e.code === 'ERR_QI_CONFIG' && /no authentication/.test(e.message),
    );
    await assert.rejects(
      RosGraphBridge.start({ insecureUnauthenticated: true, masterUri: master.uri, host: '0.0.0.0' }),
      (e: QiError) => e.code === 'ERR_QI_CONFIG' && /not a loopback address/.test(e.message),
    );
  });
});
