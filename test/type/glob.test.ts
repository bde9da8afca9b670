/** globRegExp: the wildcard patterns of gateway permissions, the ROS allowlist and the CLI's targets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globRegExp } from '../../src/type/index.js';

describe('globRegExp', () => {
  it('matches whole names, `*` any run of characters and `?` one', () => {
    assert.ok(globRegExp('ALText*').test('ALTextToSpeech'));
    assert.ok(globRegExp('AL?otion').test('ALMotion'));
    assert.ok(!globRegExp('AL?otion').test('ALMMotion'));
    assert.ok(!globRegExp('Motion').test('ALMotion'));
    assert.ok(globRegExp('a.b+(c)[d]$^{e}|\\').test('a.b+(c)[d]$^{e}|\\'), 'other characters match themselves');
    assert.ok(!globRegExp('a.b').test('axb'));
  });

  it('lets wildcards cover line breaks (names may hold them)', () => {
    assert.ok(globRegExp('a*b').test('a\nb'));
    assert.ok(globRegExp('a?b').test('a\nb'));
  });
});
