import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseYamlStream, resolvePlain, YamlSyntaxError, YamlValueError } from './yaml.ts';
import { emitV2, goyamlKeyLess } from './yamlwrite.ts';

test('v3 resolution (how kustomize reads sources)', () => {
  const r = (s: string) => resolvePlain(s, 'v3');
  assert.equal(r('yes'), 'yes');
  assert.equal(r('on'), 'on');
  assert.equal(r('True'), true);
  assert.equal(r('~'), null);
  assert.equal(r(''), null);
  assert.equal(r('0755'), 493);
  assert.equal(r('0o14'), 12);
  assert.equal(r('0x1F'), 31);
  assert.equal(r('0b101'), 5);
  assert.equal(r('1_000'), 1000);
  assert.equal(r('1e3'), 1000);
  assert.equal(r('.5'), 0.5);
  assert.equal(r('08'), 8);
  assert.equal(r('1:20'), '1:20');
  assert.equal(r('2001-12-14'), '2001-12-14T00:00:00Z');
  assert.equal(r('2001-12-14 21:59:43.10'), '2001-12-14T21:59:43.1Z');
  assert.equal(r('2001-12-14T21:59:43.10-05:00'), '2001-12-14T21:59:43.1-05:00');
  assert.equal(r('2001-02-30'), '2001-02-30');
  assert.equal(r('v1.2'), 'v1.2');
  assert.equal(r('-'), '-');
  assert.equal(r('1e400'), '1e400');
});

test('v2 resolution (how Flux and the API machinery read rendered YAML)', () => {
  const r = (s: string) => resolvePlain(s, 'v2');
  assert.equal(r('yes'), true);
  assert.equal(r('Off'), false);
  assert.equal(r('y'), true);
  assert.equal(r('0755'), 493);
  assert.equal(r('2001-12-14'), '2001-12-14');
});

test('parsing keeps quoted scalars as strings and applies merge keys', () => {
  const { documents } = parseYamlStream('a: "0755"\nb: 0755\nbase: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n', 'v3');
  assert.deepEqual(documents[0]!.value, { a: '0755', b: 493, base: { x: 1, y: 2 }, c: { x: 1, y: 3 } });
});

test('syntax and value errors carry line and column', () => {
  assert.throws(
    () => parseYamlStream('a: 1\nb: [1, 2\n', 'v3'),
    (e: unknown) => e instanceof YamlSyntaxError && e.line >= 2,
  );
  assert.throws(
    () => parseYamlStream('a: 1\nb: .inf\n', 'v3'),
    (e: unknown) => e instanceof YamlValueError && e.line === 2 && e.column === 4,
  );
  assert.throws(() => parseYamlStream('a: 1\na: 2\n', 'v3'), YamlSyntaxError);
});

test('key order is goyaml.v2 natural order', () => {
  const keys = ['b', 'a10', 'a2', 'A', '123', 'apiVersion', 'key with: colon', 'kind'];
  keys.sort((x, y) => (goyamlKeyLess(x, y) ? -1 : goyamlKeyLess(y, x) ? 1 : 0));
  assert.deepEqual(keys, ['123', 'A', 'a2', 'a10', 'apiVersion', 'b', 'key with: colon', 'kind']);
});

// Expected texts are what kustomize v5.8.2 (sigs.k8s.io/yaml) prints for the same values.
test('emits scalars as goyaml.v2 does', () => {
  const data = {
    a: 'yes', c: 493, e: null, i: '2001-12-14T00:00:00Z', j: '${x}', ab: '${a:=b}', ac: 'x #y', ad: '', ae: ' ',
    ag: '@at', ay: '?q', az: '? q', ba: ':c', bc: 'ctl\u0001', be: 'emoji 😀', bf: '1:20:30', bl: '=eq', y: "it's",
    z: 'say "hi"', aa: 'tab\there', u: '0755', s2: 1e-7, s: 1.5, p: true,
  };
  const want = [
    'a: "yes"', 'aa: "tab\\there"', 'ab: ${a:=b}', "ac: 'x #y'", 'ad: ""', "ae: ' '", "ag: '@at'", 'ay: ?q', "az: '? q'",
    'ba: :c', 'bc: "ctl\\x01"', 'be: "emoji \\U0001F600"', 'bf: "1:20:30"', 'bl: =eq', 'c: 493', 'e: null',
    'i: "2001-12-14T00:00:00Z"', 'j: ${x}', 'p: true', 's: 1.5', 's2: 1e-07', 'u: "0755"', '"y": it\'s', 'z: say "hi"', '',
  ].join('\n');
  assert.equal(emitV2(data), want);
});

test('emits block scalars, folding and nesting as goyaml.v2 does', () => {
  const value = {
    l: 'multi ${z}\n',
    l2: 'two\nlines\n\n',
    l3: '  lead\nx',
    l4: 'trail  \nx',
    bp: '\nleading newline',
    data: { af: 'long string with many words that goes on and on beyond the eighty character limit of the emitter for sure yes' },
    list: [1, ['nested', 'x'], {}, [], { k: 'v', k2: ['a'] }],
    nested: { deeper: { deepest: [1, 2] } },
  };
  const want = [
    'bp: |2-',
    '',
    '  leading newline',
    'data:',
    '  af: long string with many words that goes on and on beyond the eighty character',
    '    limit of the emitter for sure yes',
    'l: |',
    '  multi ${z}',
    'l2: |+',
    '  two',
    '  lines',
    '',
    'l3: |2-',
    '    lead',
    '  x',
    'l4: "trail  \\nx"',
    'list:',
    '- 1',
    '- - nested',
    '  - x',
    '- {}',
    '- []',
    '- k: v',
    '  k2:',
    '  - a',
    'nested:',
    '  deeper:',
    '    deepest:',
    '    - 1',
    '    - 2',
    '',
  ].join('\n');
  assert.equal(emitV2(value), want);
});
