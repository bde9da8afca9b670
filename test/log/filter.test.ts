/** Category patterns and levels of log listeners (libqi's addFilter with * wildcards), and level names. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogFilter, categoryMatches, levelName, parseLevel } from '../../src/log/index.js';

describe('log filters', () => {
  it('matches categories with * wildcards', () => {
    assert.ok(categoryMatches('audio.input', 'audio.*'));
    assert.ok(categoryMatches('audio.input', '*input'));
    assert.ok(categoryMatches('audio.input', '*'));
    assert.ok(categoryMatches('a.b.c', 'a*c'));
    assert.ok(categoryMatches('audio', 'audio'));
    assert.ok(!categoryMatches('audio', 'audio.*'));
    assert.ok(!categoryMatches('audiox', 'audio'));
    assert.ok(!categoryMatches('video.input', 'audio.*'));
    assert.ok(categoryMatches('a.b', 'a?b'.replace('?', '.')));
    assert.ok(!categoryMatches('axb', 'a.b'), 'a dot is a dot, not any character');
  });

  it('takes bounded time on a hostile pattern (no regex backtracking)', () => {
    const start = Date.now();
    assert.ok(!categoryMatches('a'.repeat(20_000), `${'*a'.repeat(40)}b`));
    assert.ok(Date.now() - start < 5000, `${Date.now() - start} ms`);
  });

  it('applies the level of the last matching filter, else the listener level', () => {
    const f = new LogFilter(2);
    assert.ok(f.passes(2, 'x') && !f.passes(3, 'x'));
    f.add('x.*', 6);
    f.add('x.quiet', 1);
    assert.ok(f.passes(6, 'x.a'));
    assert.ok(!f.passes(2, 'x.quiet') && f.passes(1, 'x.quiet'));
    assert.ok(!f.passes(0, 'x.a'), 'silent records are never shown');
    f.clear();
    assert.ok(!f.passes(6, 'x.a'));
  });

  it('parses level names, letters and numbers, and names the levels when it cannot', () => {
    assert.deepEqual(
      ['fatal', 'E', 'warn', 'Warning', 'info', 'v', 'debug', '0', '6'].map(parseLevel),
      [1, 2, 3, 3, 4, 5, 6, 0, 6],
    );
    assert.equal(levelName(3), 'warning');
    assert.throws(
      () => parseLevel('loud'),
      /unknown log level "loud": use one of silent, fatal, error, warning, info, verbose, debug \(or 0-6\)/,
    );
  });
});
