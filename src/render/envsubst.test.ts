import { test } from 'node:test';
import assert from 'node:assert/strict';
import { envsubst, EnvsubstError, globMatch } from './envsubst.ts';

const v = (o: Record<string, string>) => new Map(Object.entries(o));

test('expands the forms Flux supports', () => {
  const cases: Array<[Record<string, string>, string, string]> = [
    [{}, 'plain text only', 'plain text only'],
    [{ a: 'abcdEFGH28ij' }, '${a}', 'abcdEFGH28ij'],
    [{ a: 'abcdEFGH28ij' }, '${#a}', '12'],
    [{ a: 'abcdEFGH28ij' }, '${a^}', 'AbcdEFGH28ij'],
    [{ a: 'abcdEFGH28ij' }, '${a^^}', 'ABCDEFGH28IJ'],
    [{ a: 'ABCDEFGH28IJ' }, '${a,}', 'aBCDEFGH28IJ'],
    [{ a: 'ABCDEFGH28IJ' }, '${a,,}', 'abcdefgh28ij'],
    [{ p: '/home/bozo/ideas/thoughts.for.today' }, '${p:11}', 'ideas/thoughts.for.today'],
    [{ p: '/home/bozo/ideas/thoughts.for.today' }, '${p:11:5}', 'ideas'],
    [{ p: 'abcdef', n: '-2' }, '${p:${n}}', 'ef'],
    [{ p: 'abcdef' }, '${p:-2}', 'abcdef'], // :- is the default form, not a negative offset
    [{ p: 'abcdef' }, '${p:1:-1}', 'bcde'],
    [{ p: 'abcdef' }, '${p:9}', ''],
    [{ p: 'abcdef' }, '${p:x}', 'abcdef'],
    [{ s: 'abcABC123ABCabc' }, '${s/%abc/XYZ}', 'abcABC123ABCXYZ'],
    [{ s: 'abcABC123ABCabc' }, '${s/#abc/XYZ}', 'XYZABC123ABCabc'],
    [{ s: 'somevalue' }, '${s/#/prefix-}', 'prefix-somevalue'],
    [{ s: 'somevalue' }, '${s/%/-suffix}', 'somevalue-suffix'],
    [{ s: 'abcABC123ABCabc' }, '${s//abc/xyz}', 'xyzABC123ABCxyz'],
    [{ s: 'abcABC123ABCabc' }, '${s/abc/xyz}', 'xyzABC123ABCabc'],
    [{ s: 'foo.bar' }, '${s/./}', 'foobar'],
    [{ s: 'foo/bar' }, '${s/\\//-}', 'foo-bar'],
    [{ s: 'foo/bar/baz' }, '${s//\\//-}', 'foo-bar-baz'],
    [{ f: 'bash.string.txt' }, '${f#*.}', 'string.txt'],
    [{ f: 'bash.string.txt' }, '${f##*.}', 'txt'],
    [{ f: 'bash.string.txt' }, '${f%.*}', 'bash.string'],
    [{ f: 'bash.string.txt' }, '${f%%.*}', 'bash'],
    [{ f: 'path/to/file' }, '${f#*/}', 'to/file'],
    [{ f: 'path/to/file' }, '${f##*/}', 'file'],
    [{ f: '/path/to/file' }, '${f##*/}', 'file'],
    [{ a: 'abcdEFGH28ij' }, '${x=${a^^}}', 'ABCDEFGH28IJ'],
  ];
  for (const [vars, input, want] of cases) assert.equal(envsubst(input, v(vars)), want, input);
});

test('defaults: every default form applies when the value is empty or unset', () => {
  assert.equal(envsubst('${v:=dev}', v({})), 'dev');
  assert.equal(envsubst('${v:-dev}', v({})), 'dev');
  assert.equal(envsubst('${v=dev}', v({})), 'dev');
  assert.equal(envsubst('${v:=dev}', v({ v: 'prod' })), 'prod');
  assert.equal(envsubst('${v=dev}', v({ v: '' })), 'dev'); // unlike bash
  assert.equal(envsubst('${v:+alt}', v({ v: 'set' })), 'set'); // Flux treats :+ as a default
  assert.equal(envsubst('${v:=a ${w}-b}', v({ w: 'W' })), 'a W-b');
  assert.equal(envsubst('${v:=}', v({})), '');
  assert.equal(envsubst('x: ${missing}', v({})), 'x: ');
});

test('$$ escapes a dollar', () => {
  const vars = v({ a: 'abcdEFGH28ij', d: 'foo' });
  assert.equal(envsubst('$${a}', vars), '${a}');
  assert.equal(envsubst('some text ${a}$${var$${a}$a${a}', vars), 'some text abcdEFGH28ij${var${a}$aabcdEFGH28ij');
  assert.equal(envsubst('something $${v=${d}}', vars), 'something ${v=foo}');
  assert.equal(envsubst('echo $HOME and $$HOME', vars), 'echo $HOME and $HOME');
  assert.equal(envsubst('\\\\x ${v=${d}}', vars), '\\\\x foo');
});

test('syntax errors are reported like Flux', () => {
  const bad: Array<[string, string]> = [
    ['${v-default}', 'missing closing brace'],
    ['${', 'unable to parse variable name'],
    ['${ v}', 'unable to parse variable name'],
    ['${v', 'missing closing brace'],
    ['${v:=abc', 'unable to parse substitution within function'],
    ['${v:}', 'unable to parse substitution within function'],
    ['${v^x}', 'bad substitution'],
  ];
  for (const [input, msg] of bad) {
    assert.throws(() => envsubst(input, v({ v: 'x' })), (err: unknown) => err instanceof EnvsubstError && err.message === msg, input);
  }
});

test('strict mode fails on unset variables unless a default form is used', () => {
  const vars = v({ foo: 'bar', empty: '' });
  assert.equal(envsubst('${foo}', vars, true), 'bar');
  assert.equal(envsubst('${empty}', vars, true), '');
  for (const input of ['${missing}', '${#missing}', '${missing^^}', '${missing:0:1}', '${missing/a/b}', '${missing%%x}']) {
    assert.throws(
      () => envsubst(input, vars, true),
      (err: unknown) => err instanceof EnvsubstError && err.variable === 'missing' && /variable not set \(strict mode\): "missing"/.test(err.message),
      input,
    );
  }
  assert.equal(envsubst('${missing:-fallback}', vars, true), 'fallback');
  assert.equal(envsubst('${missing:=assigned}', vars, true), 'assigned');
  assert.equal(envsubst('${missing=assigned}', vars, true), 'assigned');
});

test('lengths and offsets count UTF-8 bytes, as in Go', () => {
  assert.equal(envsubst('${#v}', v({ v: 'ü' })), '2');
  assert.equal(envsubst('${v:2}', v({ v: 'übc' })), 'bc');
});

test('glob patterns: * crosses /, classes and escapes', () => {
  assert.equal(globMatch('*/', 'path/to/'), true);
  assert.equal(globMatch('a?c', 'abc'), true);
  assert.equal(globMatch('[a-c]x', 'bx'), true);
  assert.equal(globMatch('[^a-c]x', 'bx'), false);
  assert.equal(globMatch('\\*', '*'), true);
  assert.throws(() => globMatch('[', 'a'));
  assert.equal(envsubst('${v#[}', v({ v: 'abc' })), 'abc'); // a bad pattern leaves the value as is
});
