// Table tests for the CEL core: what Flux's environment accepts (optional
// types, macros, the extensions), how integers are typed, and the errors of
// parsing, compiling and evaluating.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { celIntegers, CelEvaluationError, CelExpressionError, compileExpression, parseExpression } from './cel.ts';

const widget = celIntegers({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'w1', namespace: 'ns', generation: 2, labels: { app: 'web' } },
  spec: { replicas: 3 },
  data: { token: 'aGk=' },
  status: {
    observedGeneration: 2,
    replicas: 3,
    ratio: 0.5,
    phase: 'Running',
    message: ' All Good ',
    notBefore: '2026-01-01T00:00:00Z',
    notAfter: '2026-04-01T00:00:00Z',
    tags: ['a', 'b'],
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Ok' },
      { type: 'Synced', status: 'False', reason: 'Pending' },
    ],
  },
});

describe('parseExpression on an object: what Flux health expressions use', () => {
  const cases: Array<[string, boolean]> = [
    [`status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')`, true],
    [`status.conditions.filter(e, e.type == 'Synced').all(e, e.status == 'True')`, false],
    [`status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')`, true],
    [`status.conditions.exists_one(c, c.status == 'True')`, true],
    [`status.conditions.map(c, c.type) == ['Ready', 'Synced']`, true],
    [`has(status.observedGeneration) && status.observedGeneration != metadata.generation`, false],
    [`has(status.missing)`, false],
    [`size(status.conditions) == 2 && status.conditions[1].reason == 'Pending'`, true],
    [`status.readyReplicas == 3 || status.replicas >= spec.replicas`, true],
    // Whole numbers are CEL ints, as in Go's unstructured objects: integer division, int arithmetic.
    [`status.replicas / 2 == 1 && status.replicas + 1 == 4`, true],
    [`string(status.replicas) == '3' && type(status.replicas) == int`, true],
    [`status.ratio < 1 && status.replicas > 2.5 && status.replicas == 3.0`, true],
    [`status.phase in ['Running', 'Succeeded'] && status.phase.matches('^Run')`, true],
    [`metadata.labels['app'] == 'web' && 'app' in metadata.labels`, true],
    [`timestamp(status.notAfter) - timestamp(status.notBefore) > duration('720h')`, true],
    // Optional types, which Flux turns on.
    [`status.?missing.orValue('none') == 'none'`, true],
    [`status.?conditions.orValue([]).exists(c, c.type == 'Ready')`, true],
    [`metadata.?annotations.orValue({}).size() == 0`, true],
    // ext.Strings: the library's own and those celext.ts adds.
    [`status.message.trim().lowerAscii() == 'all good' && status.message.upperAscii().contains('GOOD')`, true],
    [`status.message.split(' ').size() == 4 && status.tags.join('-') == 'a-b'`, true],
    [`status.phase.charAt(1) == 'u' && status.phase.reverse() == 'gninnuR'`, true],
    [`'a.b.c'.replace('.', '/') == 'a/b/c' && 'a.b.c'.replace('.', '/', 1) == 'a/b.c'`, true],
    [`strings.quote('x') == '"x"'`, true],
    // format(), with cel-go's verbs.
    [`'%s is %s with %d replicas'.format([status.phase, metadata.labels.app, status.replicas]) == 'Running is web with 3 replicas'`, true],
    [`'%.2f|%f|%e'.format([0.5, 1.5, 1234.5]) == '0.50|1.500000|1.234500e+03' && '%.1f'.format([status.ratio]) == '0.5'`, true],
    [`'%x %X %o %b'.format([255, 255, 8, 5]) == 'ff FF 10 101' && '%b'.format([true]) == '1'`, true],
    [`'%s'.format([status.tags]) == '[a, b]' && '100%%'.format([]) == '100%' && '%x'.format(['hi']) == '6869'`, true],
    // ext.Sets and ext.Encoders.
    [`sets.contains(status.tags, ['a']) && !sets.contains(status.tags, ['c'])`, true],
    [`sets.equivalent(status.tags, ['b', 'a']) && sets.intersects(status.tags, ['b', 'z'])`, true],
    [`sets.contains([1, 2], [2.0])`, true],
    [`base64.decode(data.token) == b'hi' && base64.encode(b'hi') == 'aGk='`, true],
    // matches() with RE2's syntax, as a method and as a function.
    [`status.phase.matches('(?i)^RUN') && matches(status.phase, '^[[:upper:]][[:lower:]]+$')`, true],
    [`status.phase.matches(r'\\ARunning\\z') && metadata.name.matches(r'^(?P<n>w)\\d$')`, true],
    // A string literal that reads like a call is left as it is.
    [`'x.matches(y)'.contains('matches(') && "matches('a')".size() == 12`, true],
  ];
  for (const [expr, want] of cases) {
    test(expr, () => assert.equal(parseExpression(expr).evaluate(widget), want));
  }
});

describe('parseExpression errors', () => {
  test("format() with a verb that does not fit its argument, or the wrong number of arguments, fails as cel-go's", () => {
    for (const [expr, msg] of [
      [`'%d'.format(['x']) == ''`, /decimal clause can only be used on integers, was given string \(argument 0\)/],
      [`'%s %s'.format(['x']) == ''`, /index 1 out of range/],
      [`'%s'.format(['x', 'y']) == ''`, /too many arguments supplied to string\.format/],
      [`'%q'.format(['x']) == ''`, /unrecognized formatting clause "%q"/],
    ] as const) {
      assert.throws(() => parseExpression(expr).evaluate(widget), (err: Error) => err instanceof CelEvaluationError && msg.test(err.message));
    }
  });

  test('a syntax error is a CelExpressionError naming the expression', () => {
    assert.throws(() => parseExpression('status.phase =='), (err: Error) => {
      assert.ok(err instanceof CelExpressionError);
      assert.match(err.message, /^failed to parse the CEL expression 'status\.phase ==': /);
      assert.ok(!err.message.includes('\n'), 'one line, for a condition');
      return true;
    });
  });
  test('has() of a top-level name does not parse (it is a variable, not a field)', () => {
    assert.throws(() => parseExpression('has(status)'), CelExpressionError);
  });
  test('an invalid expression fails again from the cache', () => {
    assert.throws(() => parseExpression('a ='), CelExpressionError);
    assert.throws(() => parseExpression('a ='), CelExpressionError);
  });
  const evalCases: Array<[string, RegExp]> = [
    [`status.missing == 'x'`, /^failed to evaluate the CEL expression 'status\.missing == 'x'': .*missing/],
    [`nosuchfield.x == 1`, /^failed to evaluate the CEL expression 'nosuchfield\.x == 1': /],
    [`status.phase`, /^failed to evaluate CEL expression as boolean: 'status\.phase'$/],
    [`status.replicas + 0.5 > 1`, /^failed to evaluate the CEL expression /],
    // RE2 has no backreferences or lookaround: refused as cel-go refuses them.
    [`status.phase.matches(r'(R)\\1')`, /^failed to evaluate the CEL expression .*invalid regular expression "\(R\)\\\\1": invalid escape sequence/],
    [`matches(status.phase, '(?=R)')`, /^failed to evaluate the CEL expression .*invalid regular expression .*lookaround/],
  ];
  for (const [expr, msg] of evalCases) {
    test(`evaluation error: ${expr}`, () => {
      assert.throws(() => parseExpression(expr).evaluate(widget), (err: Error) => err instanceof CelEvaluationError && msg.test(err.message));
    });
  }
  test('a program knows the names it reads', () => {
    assert.deepEqual([...parseExpression("status.conditions.exists(c, c.type == 'Ready') && metadata.name != ''").names].sort(), ['c', 'metadata', 'status']);
  });
  test('programs are cached by their text', () => {
    assert.equal(parseExpression('status.phase == "Running"'), parseExpression('status.phase == "Running"'));
  });
});

describe('compileExpression (readyExpr: declared self and dep, bool result)', () => {
  const self = { metadata: { name: 'app', namespace: 'ns', annotations: { want: 'v2' } } };
  const dep = { metadata: { name: 'db', generation: 3 }, status: { observedGeneration: 3, version: 'v2', conditions: [{ type: 'Ready', status: 'False' }] } };
  const ok: Array<[string, boolean]> = [
    [`dep.status.version == self.metadata.annotations.want`, true],
    [`dep.status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')`, false],
    [`dep.metadata.generation == dep.status.observedGeneration`, true],
    [`dep.status.?missing.orValue('x') == 'x'`, true],
  ];
  for (const [expr, want] of ok) test(expr, () => assert.equal(compileExpression(expr, ['self', 'dep']).evaluate({ self, dep }), want));

  const bad: Array<[string, RegExp]> = [
    [`dep.status.version ==`, /^failed to parse the CEL expression 'dep\.status\.version ==': /],
    [`other.status.ready == true`, /^failed to parse the CEL expression .*other/],
    [`dep.status.ready`, /^CEL expression output type mismatch: expected bool, got dyn$/],
    [`dep.metadata.name + 'x'`, /^CEL expression output type mismatch: expected bool, got /],
  ];
  for (const [expr, msg] of bad) {
    test(`refused: ${expr}`, () => {
      assert.throws(() => compileExpression(expr, ['self', 'dep']), (err: Error) => err instanceof CelExpressionError && msg.test(err.message));
    });
  }
});

describe('celIntegers', () => {
  test('whole numbers become bigint, fractions stay, and the input is not changed', () => {
    const input = { a: 1, b: 1.5, c: [2, 'x', { d: 3 }], e: { f: 'g' }, h: null };
    const out = celIntegers(input);
    assert.deepEqual(out, { a: 1n, b: 1.5, c: [2n, 'x', { d: 3n }], e: { f: 'g' }, h: null });
    assert.deepEqual(input, { a: 1, b: 1.5, c: [2, 'x', { d: 3 }], e: { f: 'g' }, h: null });
  });
  test('parts without numbers are shared, not copied', () => {
    const input = { spec: { text: 'x', list: ['a'] }, status: { n: 1 } };
    const out = celIntegers(input);
    assert.equal(out.spec, input.spec);
    assert.notEqual(out.status, input.status);
  });
});
