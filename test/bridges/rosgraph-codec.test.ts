/**
 * The ROS graph bridge's codecs: XML-RPC values, message definitions and md5sums, serialization. The
 * ROS facts (md5sums, full texts, bytes) are read from Debian's rospy and std_msgs at run time.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { QiError } from '../../src/index.js';
import {
  deserialize,
  md5sum,
  messageTypeOf,
  parseDefinition,
  qiSignatureOf,
  serialize,
} from '../../src/bridges/index.js';
import { encodeCall, encodeResponse, parseCall, parseResponse } from '../../src/bridges/rosgraph/xmlrpc.js';
import { rosSkip } from '../helpers/rosmaster.js';

describe('ROS graph codecs', () => {
  it('writes and reads the XML-RPC values the ROS APIs use', () => {
    const params = ['/qi_bridge', ['TCPROS', '127.0.0.1', 40000], { a: true, b: -1.5, 'c<&>': null }, '', [], 2 ** 40];
    const call = parseCall(encodeCall('requestTopic', params));
    assert.equal(call.method, 'requestTopic');
    assert.deepEqual(call.params, params);
    assert.deepEqual(parseResponse(encodeResponse([1, 'ok', 7])), { value: [1, 'ok', 7] });
    assert.deepEqual(parseResponse(encodeResponse(null, { code: 1, message: 'no <way>' })), { fault: 'no <way>' });
    // What Python's xmlrpc sends: untyped strings, i4, whitespace.
    assert.deepEqual(
      parseCall(
        "<?xml version='1.0'?>\n<methodCall>\n<methodName>getPid</methodName>\n<params>\n<param>\n<value>/rostopic&amp;1</value>\n</param>\n<param><value><i4>-3</i4></value></param>\n</params>\n</methodCall>\n",
      ).params,
      ['/rostopic&1', -3],
    );
    assert.throws(
      () =>
        parseCall(
          '<methodCall><methodName>x</methodName><params><param><value><int>1e9</int></value></param></params></methodCall>',
        ),
      (e: QiError) => e.code === 'ERR_QI_PROTOCOL',
    );
  });

  it('maps qi signatures to ROS message types and values both ways', () => {
    const big = messageTypeOf(
      'Robot',
      'moved',
      [{ kind: 'int64' }, { kind: 'list', element: { kind: 'uint8' } }],
      ['n', 'bytes'],
    );
    assert.equal(big.spec.type, 'qi_msgs/Robot_moved');
    const bytes = serialize(big.spec, big.toMessage([-5n, [1, 2]]));
    assert.equal(bytes.toString('hex'), 'fbffffffffffffff020000000102');
    assert.deepEqual(big.fromMessage(deserialize(big.spec, bytes)), [-5n, [1, 2]]);
    assert.equal(qiSignatureOf(big.spec), '(lr)<Robot_moved,n,bytes>');
    assert.throws(
      () => serialize(big.spec, big.toMessage([2n ** 64n, []])),
      (e: QiError) => e.code === 'ERR_QI_VALUE' && /n: expected an int64/.test(e.message),
    );
    assert.throws(() => messageTypeOf('R', 'm', [{ kind: 'dynamic' }]), /has no ROS message equivalent/);
    // Hostile bytes: a count past the end, trailing bytes.
    assert.throws(() => deserialize(big.spec, Buffer.from('0000000000000000ffffff7f', 'hex')), /ends inside/);
    assert.throws(() => deserialize(big.spec, Buffer.concat([bytes, Buffer.from([0])])), /1 bytes follow/);
  });

  it('reads definitions and computes md5sums as rospy does', { skip: rosSkip }, () => {
    const facts = JSON.parse(
      execFileSync(
        '/usr/bin/python3',
        [
          '-c',
          `import io, json
from std_msgs.msg import Int32MultiArray as A, MultiArrayDimension as D, Header
m = A(); m.data = [1, -2, 3]; m.layout.dim = [D(label='x', size=3, stride=3)]; m.layout.data_offset = 7
b = io.BytesIO(); m.serialize(b)
print(json.dumps([[c._type, c._md5sum, c._full_text] for c in (A, Header)] + [b.getvalue().hex()]))`,
        ],
        { encoding: 'utf8' },
      ),
    ) as [[string, string, string], [string, string, string], string];
    for (const [type, sum, text] of facts.slice(0, 2) as [string, string, string][]) {
      const spec = parseDefinition(type, text);
      assert.equal(md5sum(spec), sum, type);
    }
    const spec = parseDefinition(facts[0][0], facts[0][2]);
    const value = deserialize(spec, Buffer.from(facts[2], 'hex'));
    assert.deepEqual(value, {
      layout: { dim: [{ label: 'x', size: 3, stride: 3 }], data_offset: 7 },
      data: [1, -2, 3],
    });
    assert.equal(serialize(spec, value).toString('hex'), facts[2]);
    assert.equal(
      qiSignatureOf(spec),
      '(([(sII)<MultiArrayDimension,label,size,stride>]I)<MultiArrayLayout,dim,data_offset>[i])<Int32MultiArray,layout,data>',
    );
  });
});
