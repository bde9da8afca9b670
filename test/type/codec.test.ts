import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Dynamic,
  ObjectReference,
  QiDecodeError,
  QiValueError,
  compile,
  decode,
  encode,
  inferSignature,
  toDynamic,
} from '../../src/index.js';
import { createMetaObjectCache, emptyMetaObject } from '../../src/wire.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('spec §4.4/§4.5 examples', () => {
  const cases: [string, unknown, string][] = [
    ['b', true, '01'],
    ['c', -5, 'fb'],
    ['C', 200, 'c8'],
    ['w', -2, 'feff'],
    ['W', 60000, '60ea'],
    ['i', -100000, '6079feff'],
    ['I', 3000000000, '005ed0b2'],
    ['l', -2n, 'feffffffffffffff'],
    ['L', 2n ** 63n, '0000000000000080'],
    ['f', 1.5, '0000c03f'],
    ['d', -2.25, '00000000000002c0'],
    ['s', '', '00000000'],
    ['s', 'hé', '0300000068c3a9'],
    ['[i]', [1, 2], '020000000100000002000000'],
    ['[s]', [], '00000000'],
    ['{si}', new Map([['a', 1]]), '01000000010000006101000000'],
    ['(is)', [1, 'a'], '010000000100000061'],
    ['+i', null, '00'],
    ['+i', 7, '0107000000'],
    ['#i', [1, 2], '020000000100000002000000'],
    ['m', new Dynamic('i', 5), '010000006905000000'],
    ['m', new Dynamic('s', 'abc'), '010000007303000000616263'],
    ['m', Dynamic.EMPTY, '00000000'],
    ['m', Dynamic.VOID, '0100000076'],
    [
      'm',
      new Dynamic('[m]', [new Dynamic('i', 1), new Dynamic('s', 'a')]),
      '030000005b6d5d02000000010000006901000000010000007301000000 61',
    ],
    ['m', new Dynamic('(ii)<Point,x,y>', { x: 4, y: 2 }), '0f00000028696929 3c506f696e742c782c793e 0400000002000000'],
    ['()', [], ''],
    ['v', undefined, ''],
  ];
  for (const [sig, value, bytes] of cases) {
    it(`${sig} ${typeof value === 'bigint' ? value + 'n' : (JSON.stringify(value) ?? 'undefined')}`, () => {
      const out = encode(sig, value);
      assert.equal(out.toString('hex'), hex(bytes).toString('hex'));
      assert.deepEqual(decode(sig, out), value);
    });
  }
  it('encodes raw bytes and decodes them', () => {
    assert.equal(encode('r', new Uint8Array([0x2a, 0])).toString('hex'), '020000002a00');
  });
});

describe('values that do not fit', () => {
  function fails(sig: string, value: unknown, path: string, reason: RegExp, name?: string) {
    assert.throws(
      () => encode(sig, value, name ? { name } : undefined),
      (e: unknown) => {
        assert.ok(e instanceof QiValueError, String(e));
        assert.equal(e.code, 'ERR_QI_VALUE');
        assert.equal(e.where, path);
        assert.match(e.reason, reason);
        assert.equal(e.signature, sig);
        assert.ok(e.message.includes(path), e.message);
        return true;
      },
    );
  }
  it('names the path inside nested structs and lists', () => {
    const sig = '(s(i[(ii)<P,x,y>])<Shape,id,points>)';
    fails(
      sig,
      [
        'a',
        {
          id: 1,
          points: [
            { x: 1, y: 2 },
            { x: 1, y: 2 },
            { x: 1, y: 2 },
            { x: 'no', y: 2 },
          ],
        },
      ],
      'args[1].points[3].x',
      /expected an integer \(int32\), got string "no"/,
      'args',
    );
  });
  it('reports a missing struct field by name', () =>
    fails('(ii)<P,x,y>', { x: 1 }, 'value.y', /missing field "y" of struct P/));
  it('checks integer ranges', () => {
    fails('i', 2 ** 31, 'value', /out of range for int32/);
    fails('C', -1, 'value', /out of range for uint8/);
    fails('W', 65536, 'value', /out of range for uint16/);
    fails('I', -1, 'value', /out of range for uint32/);
    fails('L', -1n, 'value', /out of range for uint64/);
    fails('l', 2n ** 63n, 'value', /out of range for int64/);
    fails('l', 2 ** 60, 'value', /not a safe integer; pass int64 values beyond 2\^53 as a bigint/);
    fails('i', 1.5, 'value', /expected an integer/);
  });
  it('checks JS types', () => {
    fails('b', 1, 'value', /expected a boolean/);
    fails('s', 5, 'value', /expected a string/);
    fails('r', 'text', 'value', /expected a Uint8Array/);
    fails('[i]', 'abc', 'value', /expected an array/);
    fails('{si}', new Map([['a', 'x']]), 'value["a"]', /expected an integer/);
    fails('(is)', [1], 'value', /expected an array of 2 members/);
    fails('X', 1, 'value', /cannot be serialized/);
    fails('~m', 1, 'value', /cannot be serialized/);
    fails('o', {}, 'value', /expected an object reference/);
  });
  it('rejects cyclic values given to a dynamic', () => {
    const a: unknown[] = [];
    a.push(a);
    fails('m', a, 'value', /deeper than 1000 levels/);
  });
});

describe('bytes that do not decode', () => {
  function fails(sig: string, bytes: string, offset: number, reason: RegExp, path = 'value') {
    assert.throws(
      () => decode(sig, hex(bytes)),
      (e: unknown) => {
        assert.ok(e instanceof QiDecodeError, String(e));
        assert.equal(e.code, 'ERR_QI_DECODE');
        assert.equal(e.offset, offset);
        assert.equal(e.where, path);
        assert.match(e.reason, reason);
        return true;
      },
    );
  }
  it('reports truncation with the path', () =>
    fails(
      '(i[s])<T,a,names>',
      '01000000 02000000 01000000 61 05000000 6263',
      13,
      /claims 5 bytes but only 2 remain/,
      'value.names[1]',
    ));
  it('fails fast on a list claiming 2^32-1 elements', () => {
    const t = process.hrtime.bigint();
    fails('[i]', 'ffffffff 00000000', 0, /claims 4294967295 elements but only 4 bytes remain/);
    fails('[()]', 'ffffffff', 0, /claims 4294967295 elements/);
    fails('{ss}', 'ffffff7f', 0, /map claims 2147483647 elements/);
    assert.ok(process.hrtime.bigint() - t < 50_000_000n);
  });
  it('rejects trailing bytes unless allowed', () => {
    fails('i', '01000000 02', 4, /1 bytes are left after the value/);
    assert.equal(decode('i', hex('01000000 02'), { allowTrailing: true }), 1);
  });
  it('rejects an invalid signature inside a dynamic', () => fails('m', '01000000 71', 0, /invalid signature/));
  it('bounds nested dynamics', () => {
    const deep = Buffer.concat([...Array.from({ length: 1100 }, () => hex('01000000 6d')), hex('01000000 76')]);
    assert.throws(
      () => decode('m', deep),
      (e: unknown) => e instanceof QiDecodeError && /nest deeper than 1000/.test(e.reason),
    );
  });
});

describe('value mapping', () => {
  it('decodes raw values as views on the received buffer (no copy)', () => {
    const payload = Buffer.alloc(1 << 20, 7);
    const bytes = encode('(ir)', [1, payload]);
    const [, raw] = decode('(ir)', bytes) as [number, Buffer];
    assert.equal(raw.length, 1 << 20);
    assert.equal(raw.buffer, bytes.buffer, 'raw must share memory with the input');
    assert.equal(raw.byteOffset, bytes.byteOffset + 8);
  });

  it('keeps strings that are not UTF-8 as bytes, losslessly', () => {
    const uid = hex('a1b2c3d4e5f60718293a4b5c6d7e8f9001122334');
    const bytes = encode('s', uid);
    const back = decode('s', bytes);
    assert.ok(back instanceof Uint8Array);
    assert.ok(encode('s', back).equals(bytes));
    assert.equal(decode('s', encode('s', 'a\ufffdb')), 'a\ufffdb', 'a real U+FFFD stays a string');
  });

  it('round-trips astral and long strings', () => {
    for (const s of ['😀 robots', 'x'.repeat(70_000), 'é'.repeat(100)]) assert.equal(decode('s', encode('s', s)), s);
  });

  it('accepts plain objects and sorts map keys like libqi', () => {
    assert.equal(
      encode('{si}', { b: 2, a: 1 }).toString('hex'),
      encode(
        '{si}',
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      ).toString('hex'),
    );
    assert.deepEqual(
      decode('{is}', encode('{is}', { 10: 'x', 2: 'y' })),
      new Map([
        [2, 'y'],
        [10, 'x'],
      ]),
    );
  });

  it('accepts bigint for small ints and numbers for 64-bit ones', () => {
    assert.equal(encode('i', 5n).toString('hex'), '05000000');
    assert.equal(decode('l', encode('l', -(2 ** 53) + 1)), -(2n ** 53n) + 1n);
    assert.equal(decode('L', encode('L', 2n ** 64n - 1n)), 2n ** 64n - 1n);
  });

  it('accepts typed arrays for lists and positional arrays for structs', () => {
    assert.deepEqual(decode('[i]', encode('[i]', new Int32Array([1, -2, 3]))), [1, -2, 3]);
    assert.deepEqual(decode('(ii)<P,x,y>', encode('(ii)<P,x,y>', [3, 4])), { x: 3, y: 4 });
  });

  it('compiles once per signature', () => {
    assert.equal(compile('[(is)]'), compile('[(is)]'));
  });
});

describe('signature inference for dynamics', () => {
  const cases: [unknown, string][] = [
    [undefined, 'v'],
    [null, 'v'],
    [true, 'b'],
    [1, 'i'],
    [2 ** 31, 'l'],
    [1.5, 'd'],
    [5n, 'l'],
    [2n ** 63n, 'L'],
    ['x', 's'],
    [new Uint8Array(2), 'r'],
    [new Float64Array(2), '[d]'],
    [[1, 2], '[i]'],
    [[1, 2.5], '[d]'],
    [[1, 'a'], '[m]'],
    [[], '[m]'],
    [new Map([[1, 'a']]), '{is}'],
    [{ a: 1, b: 'x' }, '{sm}'],
    [{ a: [1] }, '{s[i]}'],
    [{}, '{sm}'],
    [new Dynamic('I', 3), 'm'],
    [new ObjectReference(emptyMetaObject(), 1, 2), 'o'],
  ];
  for (const [value, sig] of cases) {
    it(`${sig}`, () => assert.equal(inferSignature(value), sig));
  }
  it('encodes plain values given to m with their inferred signature', () => {
    assert.equal(encode('m', 5).toString('hex'), '010000006905000000');
    const back = decode('m', encode('m', { i: 1, s: 'x' })) as Dynamic;
    assert.equal(back.signature, '{sm}');
    assert.equal(toDynamic([1, 2]).signature, '[i]');
  });
  it('refuses values with no qi type', () => {
    assert.throws(() => inferSignature(() => 1), QiValueError);
    assert.throws(() => inferSignature(new Date()), /cannot infer a qi type/);
    assert.throws(() => inferSignature(2n ** 64n), /does not fit any qi integer type/);
  });
});

describe('object references', () => {
  const meta = emptyMetaObject();
  meta.methods.set(100, {
    uid: 100,
    returnSignature: 'i',
    name: 'add',
    parametersSignature: '(ii)',
    description: '',
    parameters: [],
    returnDescription: '',
  });
  const uid = hex('a1b2c3d4e5f60718293a4b5c6d7e8f9001122334');

  it('uses the plain layout with a uid (libqi 4.x, spec V15)', () => {
    const bytes = encode('o', new ObjectReference(emptyMetaObject(), 23, 3, uid));
    assert.equal(bytes.toString('hex'), '00000000'.repeat(4) + '17000000' + '03000000' + uid.toString('hex'));
    const ref = decode('o', bytes) as ObjectReference;
    assert.deepEqual(
      [ref.serviceId, ref.objectId, Buffer.from(ref.uid!).toString('hex')],
      [23, 3, uid.toString('hex')],
    );
    assert.ok(ref.uid!.buffer !== bytes.buffer, 'uid is copied, it outlives the message');
  });

  it('omits the uid when ObjectPtrUID is not shared (NAOqi 2.5)', () => {
    const bytes = encode('o', new ObjectReference(meta, 5, 2), { objectUid: false });
    const ref = decode('o', bytes, { objectUid: false }) as ObjectReference;
    assert.equal(ref.uid, undefined);
    assert.deepEqual(ref.metaObject.methods.get(100)?.name, 'add');
    assert.equal(bytes.length, encode('o', new ObjectReference(meta, 5, 2)).length - 20);
  });

  it('uses the MetaObject cache when it is shared: transmitted once, then by id', () => {
    const send = createMetaObjectCache(),
      receive = createMetaObjectCache();
    const ref = new ObjectReference(meta, 5, 2);
    const first = encode('o', ref, { objectUid: false, metaObjectCache: send });
    const second = encode('o', ref, { objectUid: false, metaObjectCache: send });
    assert.equal(first[0], 1);
    assert.equal(second.toString('hex'), '00' + '01000000' + '05000000' + '02000000');
    const a = decode('o', first, { objectUid: false, metaObjectCache: receive }) as ObjectReference;
    const b = decode('o', second, { objectUid: false, metaObjectCache: receive }) as ObjectReference;
    assert.equal(b.metaObject, a.metaObject);
    assert.throws(
      () => decode('o', second, { objectUid: false, metaObjectCache: createMetaObjectCache() }),
      /cache id 1, which the peer never sent/,
    );
  });

  it('passes objects through hooks supplied by the object layer', () => {
    const local = { name: 'a local object' };
    const hooks = {
      toReference: (v: unknown) => (assert.equal(v, local), new ObjectReference(meta, 9, 0x80000000, uid)),
      fromReference: (r: ObjectReference) => ({ proxyFor: r.objectId }),
    };
    const bytes = encode('[o]', [local], { objects: hooks });
    assert.deepEqual(decode('[o]', bytes, { objects: hooks }), [{ proxyFor: 0x80000000 }]);
  });
});

describe('regressions found by fuzzing', () => {
  it('bounds zero-size elements across nested lists, not per list', () => {
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const bytes = Buffer.concat([u32(3), u32(1 << 16), u32(1 << 16), u32(1 << 16)]);
    const t = process.hrtime.bigint();
    assert.throws(
      () => decode('[[v]]', bytes),
      (e: unknown) => e instanceof QiDecodeError && /over the 65536 such elements/.test(e.reason),
    );
    assert.ok(process.hrtime.bigint() - t < 100_000_000n);
  });
  it('counts container depth inside nested dynamics (no stack overflow)', () => {
    const sig = '['.repeat(100) + 'm' + ']'.repeat(100);
    const level = Buffer.concat([encode('s', sig), Buffer.from('01000000'.repeat(100), 'hex')]);
    const bytes = Buffer.concat([...Array.from({ length: 50 }, () => level), Buffer.from('00000000', 'hex')]);
    assert.throws(
      () => decode('m', bytes),
      (e: unknown) => e instanceof QiDecodeError && /nest deeper than 1000/.test(e.reason),
    );
  });
  it('sends string keys in UTF-8 byte order, as std::map does', () => {
    const bytes = encode('{si}', { '\u{10000}': 1, '\uffff': 2, a: 3 });
    assert.deepEqual([...(decode('{si}', bytes) as Map<string, number>).keys()], ['a', '\uffff', '\u{10000}']);
  });
});
