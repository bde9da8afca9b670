/**
 * Ground truth: every value dumped by real libqi 4.0.5 and the NAOqi 2.5 MetaObject capture must
 * decode to the stated value and re-encode to the same bytes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dynamic, decode, encode, type MetaObject } from '../../src/index.js';
import { METAOBJECT_SIGNATURE } from '../../src/wire.js';
import { libqiVectors, sharedFile } from '../helpers/shared.js';

/** The plain JSON form libqi prints (`qi_json`): maps as objects, int64 as numbers, dynamics unwrapped. */
function toPlain(v: unknown): unknown {
  if (v instanceof Dynamic) return toPlain(v.value);
  if (v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toPlain(x)]));
  if (Array.isArray(v)) return v.map(toPlain);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

describe('libqi 4.0.5 value vectors', () => {
  const values = libqiVectors().filter((v) => v.kind === undefined);
  it('has the vectors', () => assert.ok(values.length >= 45, `only ${values.length} vectors found`));
  for (const v of values) {
    it(`${v.name} (${v.signature!.length > 40 ? v.signature!.slice(0, 40) + '…' : v.signature})`, () => {
      const bytes = Buffer.from(v.hex, 'hex');
      const value = decode(v.signature!, bytes);
      assert.equal(encode(v.signature!, value).toString('hex'), v.hex, 're-encoding gives other bytes');
      if (v.qi_json !== undefined) {
        // qi_json may have integer map keys ({1:"a"}), which JSON does not allow: quote them.
        const expected = JSON.parse(v.qi_json.replace(/([{,])(-?\d+):/g, '$1"$2":'));
        if (v.signature === 'l' || v.signature === 'L') assert.equal(value, BigInt(v.qi_json));
        else assert.deepEqual(toPlain(value), expected);
      }
    });
  }

  it('decodes structs to objects with their field names', () => {
    const nested = values.find((v) => v.name === 'struct_nested_timestamped_point2d')!;
    assert.deepEqual(decode(nested.signature!, Buffer.from(nested.hex, 'hex')), {
      p: { x: 4, y: 2 },
      t: { i: 3, j: 1 },
    });
  });

  it('keeps the dynamic signature so an empty dynamic and a void one stay distinct', () => {
    const empty = decode('m', Buffer.from('00000000', 'hex')) as Dynamic;
    const voidV = decode('m', Buffer.from('0100000076', 'hex')) as Dynamic;
    assert.equal(empty.signature, '');
    assert.equal(voidV.signature, 'v');
    assert.ok(empty.isEmpty && voidV.isEmpty);
  });

  it('decodes ServiceInfo with its 20-byte object uid', () => {
    const si = values.find((v) => v.name === 'serviceinfo_calculator')!;
    const info = decode(si.signature!, Buffer.from(si.hex, 'hex')) as Record<string, unknown>;
    assert.equal(info.name, 'Calculator');
    assert.equal(info.serviceId, 2);
    assert.deepEqual(info.endpoints, ['tcp://127.0.0.1:41681']);
    assert.equal(info.sessionId, '361ecec4-00f7-4c94-a6e2-d91e28c5a06c');
    assert.deepEqual(
      Buffer.from(info.objectUid as string, 'latin1'),
      Buffer.from('0102030405060708090a0b0c0d0e0f1011121314', 'hex'),
    );
  });

  it('decodes the MetaObject libqi built', () => {
    const mo = values.find((v) => v.name === 'metaobject_builder_raw')!;
    const m = decode(mo.signature!, Buffer.from(mo.hex, 'hex')) as MetaObject;
    assert.deepEqual(m.methods.get(100), {
      uid: 100,
      returnSignature: 'i',
      name: 'add',
      parametersSignature: '(i)',
      description: 'Adds one to its argument',
      parameters: [],
      returnDescription: '',
    });
    assert.deepEqual(
      [...m.signals.values()].map((s) => `${s.uid}:${s.name}${s.signature}`),
      ['101:fire(i)', '102:val(i)'],
    );
    assert.deepEqual(m.properties.get(102), { uid: 102, name: 'val', signature: 'i' });
    assert.equal(m.description, 'Interop test object');
  });
});

describe('NAOqi 2.5 ServiceDirectory MetaObject capture', () => {
  const bytes = sharedFile('vectors/naoqi-2.5-meta-object.bin');
  const m = decode(METAOBJECT_SIGNATURE, bytes) as MetaObject;

  it('decodes all 2100 bytes with nothing left over and re-encodes identically', () => {
    assert.equal(bytes.length, 2100);
    assert.ok(encode(METAOBJECT_SIGNATURE, m).equals(bytes));
  });

  it('lists the ServiceDirectory members at their fixed ids', () => {
    const names = Object.fromEntries([...m.methods].map(([id, x]) => [id, x.name]));
    assert.deepEqual(
      {
        0: names[0],
        2: names[2],
        8: names[8],
        100: names[100],
        101: names[101],
        102: names[102],
        103: names[103],
        104: names[104],
        105: names[105],
        108: names[108],
      },
      {
        0: 'registerEvent',
        2: 'metaObject',
        8: 'registerEventWithSignature',
        100: 'service',
        101: 'services',
        102: 'registerService',
        103: 'unregisterService',
        104: 'serviceReady',
        105: 'updateServiceInfo',
        108: 'machineId',
      },
    );
    assert.equal(m.signals.get(106)?.name, 'serviceAdded');
    assert.equal(m.signals.get(107)?.signature, '(Is)');
    // NAOqi 2.5 uses the 6-field ServiceInfo.
    assert.equal(
      m.methods.get(100)?.returnSignature,
      '(sIsI[s]s)<ServiceInfo,name,serviceId,machineId,processId,endpoints,sessionId>',
    );
  });
});
