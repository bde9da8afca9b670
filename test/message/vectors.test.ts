/**
 * Whole messages from the spec (§11, read from the spec text itself), from libqi 4.0.5 and from a
 * NAOqi 2.5 capture: each must frame, decode with its stated signature leaving nothing over, and
 * re-encode to the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dynamic, compile } from '../../src/index.js';
import { Message, MessageType, encodeMessage, parseMessages, readHeader } from '../../src/wire.js';
import { libqiVectors, sharedFile, specVectors } from '../helpers/shared.js';

function single(bytes: Buffer): Message {
  const msgs = parseMessages(bytes);
  assert.equal(msgs.length, 1);
  return msgs[0];
}

describe('spec §11 test vectors', () => {
  const vectors = specVectors();
  it('finds all 21 vectors in the spec', () => assert.equal(vectors.length, 21));
  for (const v of vectors) {
    it(v.name, () => {
      const m = single(v.bytes);
      assert.equal(m.payload.length, readHeader(v.bytes, 0).size);
      assert.ok(m.toBuffer().equals(v.bytes), 'Message.toBuffer() gives other bytes');
      if (v.signature === undefined) return; // header-only vectors (V7, V14)
      const codec = compile(v.signature);
      const value = codec.decode(m.payload); // strict: nothing may be left over
      const again = encodeMessage(m, codec, value);
      assert.ok(Buffer.concat(again).equals(v.bytes), 're-encoding gives other bytes');
    });
  }

  it('V1 is an authenticate call with the default capabilities', () => {
    const m = single(specVectors()[0].bytes);
    assert.deepEqual([m.type, m.service, m.object, m.action, m.id], [MessageType.Call, 0, 0, 8, 1]);
    const caps = m.decode('{sm}') as Map<string, Dynamic>;
    assert.deepEqual(
      [...caps].map(([k, d]) => `${k}=${d.signature}:${d.value}`),
      [
        'ClientServerSocket=b:true',
        'MessageFlags=b:true',
        'MetaObjectCache=b:false',
        'ObjectPtrUID=b:true',
        'RelativeEndpointURI=b:true',
        'RemoteCancelableCalls=b:true',
      ],
    );
  });

  it('V17 carries the DynamicPayload flag', () => {
    const v = specVectors().find((x) => x.name.startsWith('V17'))!;
    const m = single(v.bytes);
    assert.equal(m.flags, 1);
    const d = m.decode('m') as Dynamic;
    assert.equal(d.signature, '(is)');
    assert.deepEqual(d.value, [1, 'a']);
  });
});

describe('libqi 4.0.5 message vectors', () => {
  for (const v of libqiVectors().filter((x) => x.kind === 'message')) {
    it(v.name, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      const m = single(bytes);
      assert.deepEqual(
        [m.id, m.type, m.flags, m.service, m.object, m.action],
        [v.id, v.type, v.flags, v.service, v.object, v.action],
      );
      assert.equal(m.payload.toString('hex'), v.payload_hex);
      assert.ok(Message.of(m, Buffer.from(v.payload_hex!, 'hex')).toBuffer().equals(bytes));
    });
  }
});

describe('NAOqi 2.5 authenticate capture', () => {
  it('decodes the client call: capabilities without ObjectPtrUID', () => {
    const m = single(sharedFile('vectors/naoqi-2.5-header-call-authenticate.bin'));
    assert.deepEqual([m.type, m.service, m.object, m.action], [MessageType.Call, 0, 0, 8]);
    const caps = m.decode('{sm}') as Map<string, Dynamic>;
    assert.deepEqual(
      [...caps.keys()],
      ['ClientServerSocket', 'MessageFlags', 'MetaObjectCache', 'RemoteCancelableCalls'],
    );
    assert.equal(caps.get('MetaObjectCache')?.value, true);
  });
  it('decodes the server reply with the auth state as a signed int and re-encodes it byte for byte', () => {
    const bytes = sharedFile('vectors/naoqi-2.5-header-reply-authenticate.bin');
    const m = single(bytes);
    const caps = m.decode('{sm}') as Map<string, Dynamic>;
    const state = caps.get('__qi_auth_state')!;
    assert.equal(state.signature, 'i');
    assert.equal(state.value, 3);
    assert.ok(Buffer.concat(encodeMessage(m, '{sm}', caps)).equals(bytes));
  });
});
