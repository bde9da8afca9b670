import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QiSignatureError, parseSignature, printSignature, signaturesEqual } from '../../src/index.js';
import { METAOBJECT_SIGNATURE, tupleSignature, MAX_NESTING_DEPTH } from '../../src/wire.js';

describe('signature parsing', () => {
  it('parses every scalar character', () => {
    const kinds = {
      v: 'void',
      b: 'bool',
      c: 'int8',
      C: 'uint8',
      w: 'int16',
      W: 'uint16',
      i: 'int32',
      I: 'uint32',
      l: 'int64',
      L: 'uint64',
      f: 'float',
      d: 'double',
      s: 'string',
      r: 'raw',
      m: 'dynamic',
      o: 'object',
      X: 'unknown',
      _: 'none',
    };
    for (const [c, kind] of Object.entries(kinds)) assert.deepEqual(parseSignature(c), { kind }, c);
  });

  it('parses containers, prefixes and nesting', () => {
    assert.deepEqual(parseSignature('[i]'), { kind: 'list', element: { kind: 'int32' } });
    assert.deepEqual(parseSignature('{sm}'), { kind: 'map', key: { kind: 'string' }, value: { kind: 'dynamic' } });
    assert.deepEqual(parseSignature('()'), { kind: 'tuple', members: [] });
    assert.deepEqual(parseSignature('+i'), { kind: 'optional', element: { kind: 'int32' } });
    assert.deepEqual(parseSignature('#m'), { kind: 'varargs', element: { kind: 'dynamic' } });
    assert.deepEqual(parseSignature('~m'), { kind: 'kwargs', element: { kind: 'dynamic' } });
    const deep = '[{s(i[+d])}]';
    assert.equal(printSignature(parseSignature(deep)), deep);
    const nested = '['.repeat(200) + 'i' + ']'.repeat(200);
    assert.equal(printSignature(parseSignature(nested)), nested);
  });

  it('reads struct annotations into a name and field names', () => {
    const s = parseSignature('(sI)<Pair,first,second>');
    assert.equal(s.kind, 'tuple');
    if (s.kind !== 'tuple') return;
    assert.equal(s.name, 'Pair');
    assert.deepEqual(s.fields, ['first', 'second']);
    // A name without one field per member is a bare struct name.
    const bare = parseSignature('(ii)<Foo>');
    assert.ok(bare.kind === 'tuple' && bare.name === 'Foo' && bare.fields === undefined);
    // Template-like names with nested brackets are allowed (qiloop emits them).
    const tpl = parseSignature('(d)<List<double>,x>');
    assert.ok(tpl.kind === 'tuple' && tpl.name === 'List<double>' && tpl.fields?.[0] === 'x');
  });

  it('prints back exactly what it parsed, for the MetaObject signature too', () => {
    for (const s of [
      METAOBJECT_SIGNATURE,
      '(sIsI[s]ss)<ServiceInfo,name,serviceId,machineId,processId,endpoints,sessionId,objectUid>',
      '()<Foo>',
      'i<x>',
      '((IiIm(ll)<timeval,tv_sec,tv_usec>llII)<EventTrace,id,kind,slotId,arguments,timestamp,userUsTime,systemUsTime,callerContext,calleeContext>)',
    ]) {
      assert.equal(printSignature(parseSignature(s)), s);
    }
    assert.equal(METAOBJECT_SIGNATURE.length, 287);
  });

  it('compares signatures ignoring annotations, as libqi does', () => {
    assert.ok(signaturesEqual('(ii)<A,x,y>', '(ii)'));
    assert.ok(!signaturesEqual('(ii)', '(iI)'));
  });

  it('builds struct signatures', () => {
    assert.equal(
      printSignature(tupleSignature([{ kind: 'int32' }, { kind: 'int32' }], 'Point', ['x', 'y'])),
      '(ii)<Point,x,y>',
    );
    assert.equal(printSignature(tupleSignature([], 'Empty')), '()<Empty>');
  });
});

describe('malformed signatures', () => {
  const cases: [string, number, RegExp][] = [
    ['', 0, /a type/],
    ['(i', 2, /'\)' closing the tuple/],
    ['[i', 2, /'\]' closing the list/],
    ['[]', 1, /type character/],
    ['{s}', 2, /value type of the map/],
    ['{sii}', 3, /'}' closing the map/],
    ['ii', 1, /end of the signature/],
    ['(i)<Foo', 7, /'>' closing the annotation/],
    ['q', 0, /type character/],
    ['*', 0, /type character/],
    ['+', 1, /a type/],
  ];
  for (const [text, position, expected] of cases) {
    it(`rejects ${JSON.stringify(text)} at position ${position}`, () => {
      assert.throws(
        () => parseSignature(text),
        (e: unknown) => {
          assert.ok(e instanceof QiSignatureError);
          assert.equal(e.code, 'ERR_QI_SIGNATURE');
          assert.equal(e.position, position);
          assert.match(e.expected, expected);
          assert.match(
            e.message,
            new RegExp(
              `Invalid qi signature ${JSON.stringify(JSON.stringify(text))
                .slice(1, -1)
                .replace(/[()[\]{}*+]/g, '\\$&')}`,
            ),
          );
          return true;
        },
      );
    });
  }

  it('bounds nesting depth instead of overflowing the stack', () => {
    const deep = '['.repeat(MAX_NESTING_DEPTH + 5) + 'i' + ']'.repeat(MAX_NESTING_DEPTH + 5);
    assert.throws(
      () => parseSignature(deep),
      (e: unknown) => e instanceof QiSignatureError && /levels of nesting/.test(e.expected),
    );
    const huge = '('.repeat(200_000);
    assert.throws(() => parseSignature(huge), QiSignatureError);
  });
});
