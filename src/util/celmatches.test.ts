import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RE2_MATCHES, renameMatchesCalls } from './celmatches.ts';

test('calls of matches are renamed; literals, comments, fields and other names are not', () => {
  const R = RE2_MATCHES;
  const table: Array<[string, string]> = [
    [`s.matches('a')`, `s.${R}('a')`],
    [`matches (s, 'a')`, `${R} (s, 'a')`],
    [`s.matches('matches(')`, `s.${R}('matches(')`],
    [`"matches(x)" == s`, `"matches(x)" == s`],
    [`r'\\matches(' + '''a ' matches(b)'''`, `r'\\matches(' + '''a ' matches(b)'''`],
    [`'it\\'s matches(' + s.matches("x")`, `'it\\'s matches(' + s.${R}("x")`],
    [`a.matches == b // s.matches(x)\n&& s.matches(y)`, `a.matches == b // s.matches(x)\n&& s.${R}(y)`],
    [`rematches(x) && matchesx(y) && b"matches(" != b""`, `rematches(x) && matchesx(y) && b"matches(" != b""`],
  ];
  for (const [input, want] of table) assert.equal(renameMatchesCalls(input), want, input);
});
