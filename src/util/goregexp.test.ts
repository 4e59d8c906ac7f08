import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGoRegexp } from './goregexp.ts';

test('RE2 syntax that JavaScript spells otherwise: inline flags, \\A and \\z, (?P<name>), POSIX classes', () => {
  const table: Array<[string, string, boolean]> = [
    ['(?i)^reconciliation', 'Reconciliation done', true],
    ['(?s)a.b', 'a\nb', true],
    ['a.b', 'a\nb', false],
    ['(?m)^b$', 'a\nb\nc', true],
    ['\\Adone\\z', 'done', true],
    ['\\Adone\\z', 'done\n', false],
    ['^(?P<major>\\d+)\\.', '12.3', true],
    ['^[[:alpha:]]+$', 'abcXYZ', true],
    ['^[[:alpha:]]+$', 'abc1', false],
    ['^[[:digit:][:upper:]]+$', '9A', true],
    ['^[[:^digit:]]+$', 'abc', true],
    ['^[[:^digit:]]+$', 'a1', false],
    ['\\p{Greek}', 'λ', true],
    ['^\\pL+$', 'héllo', true],
    ['^\\PL+$', '123', true],
    ['^\\p{^Greek}+$', 'abc', true],
    ['^\\p{^Greek}+$', 'aλ', false],
  ];
  for (const [re, s, want] of table) assert.equal(compileGoRegexp(re).test(s), want, `${re} on ${JSON.stringify(s)}`);
});

test('what RE2 refuses is refused: backreferences, lookaround, unknown POSIX classes, bad syntax', () => {
  for (const re of ['(a)\\1', '(?=a)b', 'a(?!b)', '(?<=a)b', '(?<!a)b', '[[:nope:]]', '(open', '[z-a]']) {
    assert.throws(() => compileGoRegexp(re), SyntaxError, re);
  }
  // Inside a class, \1 is an octal-ish escape to RE2 too, and (?= is literal text: not refused for that.
  assert.ok(compileGoRegexp('[(?=]').test('='));
});
