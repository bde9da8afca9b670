/**
 * YARP Bottles against what real YARP sent (fixtures/yarp: `yarp write` to `yarp read`, `yarp rpc`):
 * decoding, re-encoding byte for byte, the text form `yarp read` printed, the qi ↔ Bottle mapping, and
 * hostile Bottles (lying counts and lengths, deep nesting, unknown tags).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bottleText,
  decodeBottle,
  encodeBottle,
  fromBottleValue,
  parseBottleText,
  toBottleValue,
  type Bottle,
} from '../../src/bridges/index.js';
import { Dynamic, parseSignature } from '../../src/index.js';
import { capture, connStarting } from '../helpers/yarp-captures.js';

/** The Bottles a captured connection's client sent (after the index and the 8-byte port command). */
function bottlesOf(name: string, sender: string): Buffer[] {
  const header = Buffer.concat([Buffer.from('5941e41e00005250', 'hex'), Buffer.from([sender.length + 1, 0, 0, 0])]);
  const conn = connStarting(capture(name), header);
  return conn.turns
    .slice(1)
    .filter((t) => t.from === 'client')
    .map((t) => t.bytes.subarray(8 + 10 + 4 * t.bytes[8] + 4 + 8))
    .filter((b) => b.length > 0);
}

const PRINTED = 'hello 1 2.5 "two words" (a (b 3)) [ok] {1 2 255} true -7 3000000000';

describe('YARP Bottles, as real YARP writes them', () => {
  const [first, second] = bottlesOf('write-read', '/w');

  it('decodes what yarp write sent, and encodes it back byte for byte', () => {
    const b = decodeBottle(first);
    assert.deepEqual(b, [
      { t: 'string', v: 'hello' },
      { t: 'int32', v: 1 },
      { t: 'float64', v: 2.5 },
      { t: 'string', v: 'two words' },
      {
        t: 'list',
        v: [
          { t: 'string', v: 'a' },
          {
            t: 'list',
            v: [
              { t: 'string', v: 'b' },
              { t: 'int32', v: 3 },
            ],
          },
        ],
      },
      { t: 'vocab', v: 'ok' },
      { t: 'blob', v: Buffer.from([1, 2, 255]) },
      { t: 'vocab', v: '1' },
      { t: 'int32', v: -7 },
      { t: 'int64', v: 3000000000n },
    ]);
    assert.deepEqual(encodeBottle(b), first);
  });

  it('prints it as yarp read did, and parses that line into the same bytes yarp write sent', () => {
    assert.equal(bottleText(decodeBottle(first)), PRINTED);
    assert.deepEqual(encodeBottle(parseBottleText(PRINTED)), first);
  });

  it('uses the shared-tag code for uniform Bottles, as YARP does (42: code 257; "hi there": code 260)', () => {
    assert.deepEqual(decodeBottle(second), [{ t: 'int32', v: 42 }]);
    assert.deepEqual(encodeBottle(parseBottleText('42')), second);
    const [add, hi] = bottlesOf('rpc', 'anon_rpc');
    assert.equal(hi.readInt32LE(0), 260);
    assert.deepEqual(encodeBottle(parseBottleText('hi "there"')), hi);
    assert.deepEqual(encodeBottle(parseBottleText('add 1 2')), add);
  });

  it('reads the empty Bottle yarp rpcserver replied', () => {
    const reply = connStarting(capture('rpc'), Buffer.from('5941e41e00005250', 'hex')).turns[3].bytes;
    assert.deepEqual(decodeBottle(reply.subarray(0, 8)), []);
    assert.deepEqual(encodeBottle([]), reply.subarray(0, 8));
  });

  it('quotes and escapes strings in text form as YARP does, and reads them back', () => {
    const b: Bottle = [
      { t: 'string', v: 'plain_word' },
      { t: 'string', v: '' },
      { t: 'string', v: 'true' },
      { t: 'string', v: '12' },
      { t: 'string', v: 'a "q"\n\\' },
      { t: 'float64', v: 3 },
      { t: 'vocab', v: '' },
    ];
    const text = bottleText(b);
    assert.equal(text, 'plain_word "" "true" "12" "a \\"q\\"\\n\\\\" 3.0 false');
    assert.deepEqual(parseBottleText(text), b);
  });
});

describe('qi values ↔ Bottles', () => {
  const sig = (s: string) => parseSignature(s);
  it('maps qi types to the YARP types of the documented table', () => {
    const point = sig('(ii)<Point,x,y>');
    assert.deepEqual(bottleText([toBottleValue(point, { x: 1, y: 2 }, 'p')]), '((x 1) (y 2))');
    assert.deepEqual(toBottleValue(sig('b'), true, 'b'), { t: 'vocab', v: '1' });
    assert.deepEqual(toBottleValue(sig('I'), 4_000_000_000, 'u'), { t: 'int64', v: 4_000_000_000n });
    assert.deepEqual(toBottleValue(sig('I'), 7, 'u'), { t: 'int32', v: 7 });
    assert.deepEqual(toBottleValue(sig('f'), 0.5, 'f'), { t: 'float32', v: 0.5 });
    assert.equal(bottleText([toBottleValue(sig('{si}'), new Map([['a', 1]]), 'm')]), '((a 1))');
    assert.equal(bottleText([toBottleValue(sig('+s'), null, 'o')]), '()');
    assert.equal(bottleText([toBottleValue(sig('m'), new Dynamic('[i]', [1, 2]), 'd')]), '(1 2)');
    assert.throws(() => toBottleValue(sig('L'), 2n ** 64n - 1n, 'big'), /big: .*does not fit YARP's int64/);
    assert.throws(() => toBottleValue(sig('o'), {}, 'obj'), /obj: a qi o \(object\) has no YARP form/);
  });

  it('reads Bottle values as the qi types expected, and says what does not fit', () => {
    const [b] = parseBottleText('((x 1) (y 2))') as [Bottle[number]];
    assert.deepEqual(fromBottleValue(sig('(ii)<Point,x,y>'), b, 'p'), { x: 1, y: 2 });
    const [pos] = parseBottleText('(3 4)');
    assert.deepEqual(fromBottleValue(sig('(ii)<Point,x,y>'), pos, 'p'), { x: 3, y: 4 });
    assert.equal(fromBottleValue(sig('b'), { t: 'vocab', v: '1' }, 'b'), true);
    assert.equal(fromBottleValue(sig('d'), { t: 'int32', v: 2 }, 'd'), 2);
    assert.throws(
      () => fromBottleValue(sig('c'), { t: 'int32', v: 300 }, 'arg 1'),
      /arg 1: expected int8, got int32 300 \(out of range -128…127\)/,
    );
    assert.throws(
      () => fromBottleValue(sig('i'), { t: 'string', v: 'x' }, 'arg 2'),
      /arg 2: expected int32, got string x/,
    );
    assert.throws(
      () => fromBottleValue(sig('{si}'), { t: 'list', v: [{ t: 'int32', v: 1 }] }, 'm'),
      /\(key value\) pairs/,
    );
    const dyn = fromBottleValue(sig('m'), parseBottleText('(1 "a" 2.5)')[0], 'd') as Dynamic;
    assert.equal(dyn.signature, '[m]');
  });
});

describe('hostile Bottles', () => {
  const bytes = (...ints: number[]) => {
    const b = Buffer.alloc(4 * ints.length);
    ints.forEach((n, i) => b.writeInt32LE(n, 4 * i));
    return b;
  };
  it('refuses lying counts and lengths before allocating anything', () => {
    assert.throws(() => decodeBottle(bytes(256, 2_000_000_000)), /claims 2000000000 elements in 0 bytes/);
    assert.throws(() => decodeBottle(bytes(256, 1, 4, 1_000_000)), /string needs 1000000 bytes, only 0 are left/);
    assert.throws(() => decodeBottle(bytes(256, 1, 4, -5)), /claims a string of -5 bytes/);
    assert.throws(() => decodeBottle(bytes(256, 1, 99, 0)), /unknown tag 99/);
    assert.throws(() => decodeBottle(bytes(512, 0)), /dictionary/);
    assert.throws(() => decodeBottle(bytes(256, 0, 7)), /followed by 4 unexpected bytes/);
    assert.throws(() => decodeBottle(Buffer.alloc(3)), /code needs 4 bytes/);
  });

  it('bounds nesting, in binary and text form', () => {
    const deep = [256, 1, ...Array.from({ length: 40 }, () => [256, 1]).flat(), 1, 0];
    assert.throws(() => decodeBottle(bytes(...deep)), /nests deeper than 32 lists/);
    assert.throws(() => parseBottleText('('.repeat(40) + ')'.repeat(40)), /nests deeper than 32 lists/);
    assert.throws(() => parseBottleText('(1 2'), /misses its closing \)/);
    assert.throws(() => parseBottleText('"open'), /misses a closing quote/);
  });
});
