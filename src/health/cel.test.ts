// Table tests for health by CEL expressions: Flux's order (observed
// generation, inProgress, failed, current, else InProgress), Unknown on an
// expression that fails, which objects an entry applies to, and the errors
// of a spec whose expressions cannot be used.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CelExpressionError } from '../util/cel.ts';
import { CustomHealth, type CustomHealthCheck } from './cel.ts';
import type { HealthStatus, KubeObject } from './types.ts';

const widget = (status: Record<string, unknown> | undefined, generation = 1, apiVersion = 'example.com/v1'): KubeObject => ({
  apiVersion,
  kind: 'Widget',
  metadata: { name: 'w', namespace: 'ns', generation },
  spec: { size: 2 },
  ...(status ? { status } : {}),
});

const checks: CustomHealthCheck[] = [
  {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    inProgress: "status.phase == 'Provisioning'",
    failed: "status.phase == 'Error' || status.?reason.orValue('') == 'Broken'",
    current: "status.phase in ['Ready', 'Error'] && status.size == spec.size",
  },
  { apiVersion: 'v1', kind: 'ConfigMap', current: "data.state == 'done'" },
  { apiVersion: 'apps/v1', kind: 'Deployment', current: 'status.ok' },
];

describe('CustomHealth.evaluate follows Flux order', () => {
  const health = CustomHealth.compile(checks);
  const cases: Array<{ name: string; obj: KubeObject; status: HealthStatus | undefined; message?: RegExp }> = [
    { name: 'current expression true', obj: widget({ phase: 'Ready', size: 2 }), status: 'Current', message: /Widget is current: the current expression .* is true/ },
    { name: 'no expression true: InProgress', obj: widget({ phase: 'Ready', size: 1 }), status: 'InProgress', message: /no healthCheckExprs expression is true/ },
    { name: 'failed is checked before current', obj: widget({ phase: 'Error', size: 2 }), status: 'Failed', message: /Widget has failed: the failed expression/ },
    { name: 'failed by an optional field', obj: widget({ phase: 'Ready', size: 2, reason: 'Broken' }), status: 'Failed' },
    { name: 'inProgress is checked first', obj: widget({ phase: 'Provisioning', size: 2 }), status: 'InProgress', message: /the inProgress expression/ },
    {
      name: 'an unobserved generation is InProgress whatever the expressions say',
      obj: widget({ phase: 'Ready', size: 2, observedGeneration: 1 }, 2),
      status: 'InProgress',
      message: /generation 2 has not been observed/,
    },
    { name: 'the observed generation matches: the expressions decide', obj: widget({ phase: 'Ready', size: 2, observedGeneration: 2 }, 2), status: 'Current' },
    { name: 'no status yet: the expression fails, Unknown', obj: widget(undefined), status: 'Unknown', message: /failed to evaluate the CEL expression 'status\.phase == 'Provisioning''/ },
    { name: 'any version of the group', obj: widget({ phase: 'Ready', size: 2 }, 1, 'example.com/v2beta1'), status: 'Current' },
    { name: 'a core kind by its data', obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { state: 'done' } }, status: 'Current' },
    { name: 'another group: not ours', obj: widget({ phase: 'Ready', size: 2 }, 1, 'other.io/v1'), status: undefined },
    { name: 'a kind without an entry: not ours', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }, status: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = health.evaluate(c.obj);
      assert.equal(r?.status, c.status, JSON.stringify(r));
      if (c.message) assert.match(r!.message, c.message);
    });
  }
});

describe('CustomHealth.rule', () => {
  const rule = CustomHealth.compile(checks).rule();
  test('an entry replaces the built-in rules of its kind', () => {
    // By kstatus this Deployment is InProgress (no replicas available); its expression says Current.
    const d = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, ok: true } };
    assert.equal(rule(d).status, 'Current');
  });
  test('kinds without an entry keep the built-in rules', () => {
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] } };
    assert.equal(rule(job).status, 'Failed');
    const sts = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 's', generation: 1 }, spec: { replicas: 1 }, status: { observedGeneration: 1, replicas: 1 } };
    assert.equal(rule(sts).status, 'InProgress');
  });
  test('a verdict is kept per object: the same object is not evaluated again, a new one is', () => {
    const a = widget({ phase: 'Ready', size: 2 });
    const first = rule(a);
    assert.equal(rule(a), first, 'the same result object for the same (unchanged) object');
    const b = widget({ phase: 'Error', size: 2 });
    assert.equal(rule(b).status, 'Failed');
  });
  test('without entries the rule is the built-in one', () => {
    assert.equal(CustomHealth.compile(undefined).size, 0);
  });
});

describe('CustomHealth.compile refuses unusable expressions', () => {
  const bad: Array<{ name: string; checks: CustomHealthCheck[]; message: RegExp }> = [
    {
      name: 'a syntax error names the entry and the expression',
      checks: [{ apiVersion: 'v1', kind: 'ConfigMap', current: 'true' }, { apiVersion: 'example.com/v1', kind: 'Widget', current: 'true', failed: 'status.phase ==' }],
      message: /^failed to create custom status evaluator for healthCheckExprs\[1\]: failed to parse the expression Failed: failed to parse the CEL expression 'status\.phase ==': /,
    },
    {
      name: 'an empty current',
      checks: [{ apiVersion: 'example.com/v1', kind: 'Widget', current: '' }],
      message: /healthCheckExprs\[0\]: expression Current not specified/,
    },
    {
      name: 'two entries for one group and kind, in different versions',
      checks: [{ apiVersion: 'example.com/v1', kind: 'Widget', current: 'true' }, { apiVersion: 'example.com/v2', kind: 'Widget', current: 'false' }],
      message: /^duplicate custom health check for GroupKind Widget\.example\.com at healthCheckExprs\[1\]$/,
    },
  ];
  for (const c of bad) {
    test(c.name, () => assert.throws(() => CustomHealth.compile(c.checks), (err: Error) => err instanceof CelExpressionError && c.message.test(err.message)));
  }
});
