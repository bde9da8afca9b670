/** The ROS bridge's pure parts: value mapping both ways, argument rules, names and the allowlist. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dynamic, parseSignature } from '../../src/index.js';
import {
  RosAllowlist,
  RosValueError,
  argsFromRos,
  fromJson,
  jsonDynamic,
  messageOf,
  messageOfArgs,
  paramsOf,
  parseRosName,
  requestOf,
  toJson,
} from '../../src/bridges/index.js';

const sig = parseSignature;

describe('ROS bridge value mapping', () => {
  it('converts JSON to qi by signature, strictly, naming the path of what does not fit', () => {
    assert.equal(fromJson(sig('l'), '18446744073709551', 'v'), 18446744073709551n);
    assert.equal(fromJson(sig('L'), 5, 'v'), 5n);
    assert.deepEqual(fromJson(sig('r'), 'AAE=', 'v'), Buffer.from([0, 1]));
    assert.deepEqual(fromJson(sig('[C]'), 'AAE=', 'v'), [0, 1]);
    assert.deepEqual(
      fromJson(sig('{is}'), { 1: 'a', 2: 'b' }, 'v'),
      new Map([
        [1, 'a'],
        [2, 'b'],
      ]),
    );
    assert.deepEqual(fromJson(sig('{(ii)s}'), [{ key: [1, 2], value: 'p' }], 'v'), new Map([[[1, 2], 'p']]));
    assert.deepEqual(fromJson(sig('(i+s)<P,x,label>'), { x: 1 }, 'v'), { x: 1, label: null });
    assert.deepEqual(fromJson(sig('(ii)<P,x,y>'), [1, 2], 'v'), { x: 1, y: 2 });
    assert.deepEqual(fromJson(sig('+i'), null, 'v'), null);
    assert.equal(fromJson(sig('m'), null, 'v'), Dynamic.VOID);
    const bad: [string, unknown, RegExp][] = [
      ['c', 200, /v: expected int8, got number 200 \(out of range -128…127\)/],
      ['i', 1.5, /expected int32, got number 1.5/],
      ['l', '1e3', /a safe integer, or a decimal string/],
      ['L', -1, /out of range/],
      ['[s]', ['a', 2], /v\[1\]: expected string, got number 2/],
      ['{is}', { x: 'a' }, /v\.x \(key\): expected int32, got string "x"/],
      ['(ii)<P,x,y>', { x: 1, y: 2, z: 3 }, /unknown field z/],
      ['(ii)', { a: 1 }, /expected tuple \(int32, int32\), got an object/],
      ['o', {}, /qi objects \(o\) cannot be passed from ROS/],
      ['r', 'a!', /text must be base64/],
    ];
    for (const [s, v, re] of bad)
      assert.throws(
        () => fromJson(sig(s), v, 'v'),
        (e: Error) => e instanceof RosValueError && re.test(e.message),
        `${s} ${JSON.stringify(v)}`,
      );
  });

  it('converts qi values to JSON', () => {
    assert.deepEqual(
      toJson({
        big: 2n ** 60n,
        small: 3n,
        raw: Buffer.from([255]),
        map: new Map([[1, 'a']]),
        pairs: new Map([[[1, 2], 'p']]),
        dyn: new Dynamic('i', 4),
        none: null,
        f32: new Float32Array([0.5]),
        nan: NaN,
      }),
      {
        big: '1152921504606846976',
        small: 3,
        raw: '/w==',
        map: { 1: 'a' },
        pairs: [{ key: [1, 2], value: 'p' }],
        dyn: 4,
        none: null,
        f32: [0.5],
        nan: null,
      },
    );
    assert.deepEqual(messageOf(5, sig('i')), { data: 5 });
    assert.deepEqual(messageOf({ x: 1, y: 2 }, sig('(ii)<P,x,y>')), { x: 1, y: 2 });
    assert.deepEqual(messageOf([1, 2], sig('(ii)')), { data: [1, 2] });
    assert.deepEqual(messageOf(undefined, sig('v')), {});
    assert.deepEqual(messageOfArgs([1, 'a'], [sig('i'), sig('s')]), { data: [1, 'a'] });
    assert.deepEqual(messageOfArgs([], []), {});
    assert.deepEqual(requestOf(new Map([['a', 1]])), { a: 1 });
    assert.deepEqual(requestOf(3), { data: 3 });
    assert.deepEqual(requestOf(undefined), {});
    const d = jsonDynamic({ sum: 3, note: 'x', list: [1, 2], odd: { 'a-b': null } });
    assert.equal(d.signature, '(is[i]{sm})<Response,sum,note,list,odd>');
  });

  it('maps ROS args onto positional qi arguments by the documented rules', () => {
    const add = paramsOf(sig('(ii)'), ['a', 'b']);
    assert.deepEqual(argsFromRos(add, [1, 2], 'add'), [1, 2]);
    assert.deepEqual(argsFromRos(add, { b: 2, a: 1 }, 'add'), [1, 2]);
    assert.deepEqual(argsFromRos(add, { data: [1, 2] }, 'add'), [1, 2]);
    assert.throws(() => argsFromRos(add, { a: 1 }, 'add'), /add: the argument "b" \(int32\) is missing/);
    assert.throws(() => argsFromRos(add, 3, 'add'), /add takes \(a: int32, b: int32\)/);
    const unnamed = paramsOf(sig('(ii)'));
    assert.deepEqual(argsFromRos(unnamed, { arg0: 5, arg1: 6 }, 'f'), [5, 6]);
    const one = paramsOf(sig('(s)'), ['text']);
    assert.deepEqual(argsFromRos(one, { data: 'x' }, 'say'), ['x']);
    assert.deepEqual(argsFromRos(one, { text: 'x' }, 'say'), ['x']);
    assert.deepEqual(argsFromRos(one, 'x', 'say'), ['x']);
    const point = paramsOf(sig('((ii)<P,x,y>)'), ['p']);
    assert.deepEqual(argsFromRos(point, { x: 1, y: 2 }, 'norm'), [{ x: 1, y: 2 }]);
    assert.deepEqual(argsFromRos(point, { p: { x: 1, y: 2 } }, 'norm'), [{ x: 1, y: 2 }]);
    assert.deepEqual(argsFromRos(point, { data: { x: 1, y: 2 } }, 'norm'), [{ x: 1, y: 2 }]);
    assert.deepEqual(argsFromRos(paramsOf(sig('()')), {}, 'none'), []);
    assert.deepEqual(argsFromRos(paramsOf(sig('()')), undefined, 'none'), []);
    assert.throws(() => argsFromRos(paramsOf(sig('()')), { x: 1 }, 'none'), /none takes no arguments/);
    assert.deepEqual(argsFromRos(paramsOf(sig('(+i)')), null, 'opt'), [null]);
  });

  it('parses ROS names and allowlist rules', () => {
    assert.deepEqual(parseRosName('/qi', '/qi/AL.Memory/getData'), { service: 'AL.Memory', member: 'getData' });
    assert.deepEqual(parseRosName('/qi', 'qi/S/m'), { service: 'S', member: 'm' });
    for (const n of ['/qi/S', '/qi/S/', '/other/S/m', '/qi//m', 3])
      assert.equal(parseRosName('/qi', n), undefined, String(n));
    const a = new RosAllowlist(['Calculator.*, method:TTS.say', 'signal:Mem.ev?', 'serve:Planner']);
    assert.ok(a.allows('method', 'Calculator', 'add'));
    assert.ok(a.allows('emit', 'Calculator', 'fired'));
    assert.ok(!a.allows('serve', 'Calculator', 'add')); // serving is asked for by name
    assert.ok(a.allows('method', 'TTS', 'say'));
    assert.ok(!a.allows('signal', 'TTS', 'say'));
    assert.ok(a.allows('signal', 'Mem', 'ev1') && !a.allows('signal', 'Mem', 'ev12'));
    assert.ok(a.allows('serve', 'Planner', 'anything'));
    assert.ok(new RosAllowlist([]).empty);
    assert.throws(() => new RosAllowlist(['call:X.y']), /unknown kind "call"/);
  });
});
