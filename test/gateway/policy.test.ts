/** Permission patterns and the access configuration, table-driven. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Access, QiConfigError, loadAccessConfig, type Identity } from '../../src/index.js';
import { Policy, type MemberKind } from '../../src/gateway/index.js';

describe('Policy', () => {
  const p = new Policy({
    allow: [
      'ALTextToSpeech',
      'method:ALMotion.move*',
      'signal:ALMemory.*Event',
      'property:Battery.charge',
      'Cam?ra.get*',
    ],
    deny: ['method:ALTextToSpeech.setLanguage', 'ALMotion.moveToDanger'],
  });
  const table: [MemberKind, string, string, boolean][] = [
    ['method', 'ALTextToSpeech', 'say', true],
    ['signal', 'ALTextToSpeech', 'done', true],
    ['property', 'ALTextToSpeech', 'volume', true],
    ['method', 'ALTextToSpeech', 'setLanguage', false],
    ['method', 'ALMotion', 'moveTo', true],
    ['method', 'ALMotion', 'moveToDanger', false],
    ['signal', 'ALMotion', 'moveFinished', false],
    ['method', 'ALMotion', 'rest', false],
    ['signal', 'ALMemory', 'TouchEvent', true],
    ['method', 'ALMemory', 'TouchEvent', false],
    ['property', 'Battery', 'charge', true],
    ['property', 'Battery', 'charging', false],
    ['method', 'Camera', 'getImage', true],
    ['method', 'Camxra', 'getImage', true],
    ['method', 'Caamera', 'getImage', false],
    ['method', 'ALTextToSpeechX', 'say', false],
    ['register', 'ALTextToSpeech', '*', false], // registering needs an explicit register: rule
    ['method', 'Unknown', 'x', false],
  ];
  for (const [kind, service, member, expected] of table) {
    it(`${expected ? 'allows' : 'denies'} ${kind} ${service}.${member}`, () =>
      assert.equal(p.allows(kind, service, member), expected));
  }

  it('lists a service only when part of it may be used and no deny covers it whole', () => {
    assert.ok(
      p.sees('ALTextToSpeech') &&
        p.sees('ALMotion') &&
        p.sees('ALMemory') &&
        p.sees('Camera') &&
        p.sees('ServiceDirectory'),
    );
    assert.ok(!p.sees('ALSystem'));
    assert.ok(!new Policy({ allow: ['*'], deny: ['ALSystem'] }).sees('ALSystem'));
    assert.ok(
      new Policy({ allow: ['*'], deny: ['method:ALSystem.*'] }).sees('ALSystem'),
      'its signals may still be used',
    );
    assert.ok(!new Policy({}).sees('ALTextToSpeech'), 'deny by default');
  });

  it('says which rule decided', () => {
    assert.deepEqual(p.decide('method', 'ALMotion', 'moveToDanger'), { allowed: false, by: 'ALMotion.moveToDanger' });
    assert.deepEqual(p.decide('method', 'ALMotion', 'moveTo'), { allowed: true, by: 'method:ALMotion.move*' });
  });

  it('rejects patterns it cannot read', () => {
    assert.throws(
      () => new Policy({ allow: ['call:X.y'] }),
      (e: unknown) => e instanceof QiConfigError && e.code === 'ERR_QI_CONFIG' && /unknown kind "call"/.test(e.message),
    );
    assert.throws(() => new Policy({ allow: ['method:'] }), /names no service/);
  });
});

describe('Access', () => {
  const access = new Access({
    users: {
      alice: { token: 'pw', allow: ['A'] },
      bob: { token: 'sha256:' + '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8', allow: ['B'] },
    },
  });
  const auth = (creds: Record<string, unknown>) => {
    let who: Identity | undefined;
    const r = access.authenticator((i) => (who = i)).authenticate(creds, { remote: 'test' });
    return { r, who };
  };

  it('accepts users by clear or hashed token, and refuses the rest without saying which part was wrong', () => {
    assert.equal(auth({ user: 'alice', token: 'pw' }).who?.user, 'alice');
    assert.equal(auth({ user: 'bob', token: 'password' }).who?.policy.sees('B'), true);
    for (const creds of [
      { user: 'alice', token: 'PW' },
      { user: 'carol', token: 'pw' },
      { user: 'bob', token: 'sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8' },
    ]) {
      const { r, who } = auth(creds);
      assert.deepEqual(r, { outcome: 'refused', reason: 'invalid user or token' });
      assert.equal(who, undefined);
    }
    assert.match((auth({}).r as { reason: string }).reason, /requires a user and a token/);
  });

  it('reads a configuration file and names what is wrong in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qi-access-'));
    const f = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    assert.deepEqual(loadAccessConfig(f('ok.json', '{"anonymous":{"allow":["X"]}}')).anonymous, { allow: ['X'] });
    assert.throws(() => loadAccessConfig(f('bad.json', '{nope')), /is not valid JSON/);
    assert.throws(
      () => loadAccessConfig(f('notoken.json', '{"users":{"a":{"allow":["X"]}}}')),
      /users\.a\.token must be a non-empty string/,
    );
    assert.throws(() => loadAccessConfig(f('hash.json', '{"users":{"a":{"token":"sha256:abc"}}}')), /64 hex digits/);
    assert.throws(
      () => loadAccessConfig(f('list.json', '{"users":{"a":{"token":"t","allow":"X"}}}')),
      /users\.a\.allow must be a list/,
    );
    assert.throws(() => loadAccessConfig(join(dir, 'missing.json')), /Cannot read the gateway configuration/);
  });
});
