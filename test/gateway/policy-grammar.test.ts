/** The rule grammar: dotted service names, `register:` only when named, and how a service gets listed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Policy, type MemberKind } from '../../src/gateway/index.js';

type Row = [MemberKind, string, string, boolean];

function table(title: string, p: Policy, rows: Row[]): void {
  describe(title, () => {
    for (const [kind, service, member, expected] of rows) {
      it(`${expected ? 'allows' : 'denies'} ${kind} ${service}.${member}`, () =>
        assert.equal(p.allows(kind, service, member), expected));
    }
  });
}

table('dotted service names: deny My.Secret (whole service)', new Policy({ allow: ['*'], deny: ['My.Secret'] }), [
  ['method', 'My.Secret', 'value', false],
  ['signal', 'My.Secret', 'changed', false],
  ['property', 'My.Secret', 'level', false],
  ['method', 'My.Open', 'value', true],
  ['method', 'My.SecretX', 'value', true],
  // The ambiguity: "My.Secret" also reads as member Secret of a service My.
  ['method', 'My', 'Secret', false],
  ['method', 'My', 'Other', true],
]);

table('dotted service names: deny My.Secret.*', new Policy({ allow: ['*'], deny: ['My.Secret.*'] }), [
  ['method', 'My.Secret', 'value', false],
  ['method', 'My.Secret.Deeper', 'value', false],
  ['method', 'My.Open', 'value', true],
  ['method', 'My', 'value', true],
]);

table(
  'dotted service names: member rules',
  new Policy({ allow: ['My.Open.value', 'signal:A.B.C.*Event', '*.ping'], deny: ['method:My.Open.value2'] }),
  [
    ['method', 'My.Open', 'value', true],
    ['method', 'My.Open', 'value2', false],
    ['method', 'My.Open', 'increment', false],
    ['method', 'My', 'Open', false],
    ['signal', 'A.B.C', 'TouchEvent', true],
    ['signal', 'A.B', 'TouchEvent', false],
    ['method', 'A.B.C', 'TouchEvent', false],
    ['method', 'Any.Dotted.Name', 'ping', true],
    ['method', 'Plain', 'ping', true],
    ['method', 'Plain', 'pong', false],
  ],
);

table(
  'registering needs register:',
  new Policy({
    allow: ['Phone', 'Tablet*', 'register:Cam.*', 'register:Robot?'],
    deny: ['Robot2', 'register:Cam.Secret'],
  }),
  [
    ['register', 'Phone', '*', false],
    ['register', 'TabletA', '*', false],
    ['method', 'Phone', 'call', true],
    ['register', 'Cam.Front', '*', true],
    ['register', 'Cam', '*', true],
    ['register', 'Cam.Secret', '*', false],
    ['register', 'Camera', '*', false],
    ['register', 'Robot1', '*', true],
    // A deny without a kind covers registering too.
    ['register', 'Robot2', '*', false],
  ],
);

describe('listing with dotted names', () => {
  it('hides a dotted service denied whole, lists one partly allowed', () => {
    assert.ok(!new Policy({ allow: ['*'], deny: ['My.Secret'] }).sees('My.Secret'));
    assert.ok(!new Policy({ allow: ['*'], deny: ['My.Secret.*'] }).sees('My.Secret'));
    assert.ok(new Policy({ allow: ['*'], deny: ['My.Secret.*'] }).sees('My.Open'));
    assert.ok(
      new Policy({ allow: ['*'], deny: ['method:My.Secret.*'] }).sees('My.Secret'),
      'its signals may still be used',
    );
    assert.ok(new Policy({ allow: ['My.Open.value'] }).sees('My.Open'));
    assert.ok(!new Policy({ allow: ['My.Open.value'] }).sees('My.Secret'));
    assert.ok(!new Policy({ allow: ['register:My.*'] }).sees('My.Open'), 'a register: rule lists nothing');
  });

  it('allowAll allows registering too', () => {
    assert.ok(Policy.allowAll().allows('register', 'Anything.At.All', '*'));
  });

  it('rejects a pattern that starts with a dot', () => {
    assert.throws(() => new Policy({ deny: ['.Secret'] }), /names no service/);
  });
});

describe('names with unusual characters', () => {
  it('globs match line breaks too: deny Secret* covers "Secret\\nCopy"', () => {
    const p = new Policy({ allow: ['*'], deny: ['Secret*'] });
    assert.ok(!p.allows('method', 'Secret\nCopy', 'read'));
    assert.ok(!p.sees('Secret\nCopy'));
    assert.ok(new Policy({ allow: ['*'] }).allows('method', 'Line\nBreak', 'x'));
  });

  it('a remembered decision is never reused for another (service, member) pair', () => {
    const p = new Policy({ allow: ['method:Open.*'] });
    assert.ok(p.allows('method', 'Open', 'Secret\u0000x'));
    assert.ok(!p.allows('method', 'Open\u0000Secret', 'x'));
  });
});
