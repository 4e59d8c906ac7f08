// Table tests for dependsOn: the Ready check at the current generation, a
// readyExpr over self and dep in its place (or before it, with the
// AdditiveCELDependencyCheck gate), and the dependents a change reaches.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/object.ts';
import { dependentsOf, invalidReadyExpr, unmetDependency, type DependencyReference, type UnmetDependency } from './dependencies.ts';

const ks = (name: string, o: { generation?: number; observed?: number; ready?: string; revision?: string; dependsOn?: DependencyReference[] } = {}): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name, namespace: 'apps', generation: o.generation ?? 1, annotations: { 'example.com/wants': 'v2' } },
  spec: { dependsOn: o.dependsOn },
  status: {
    observedGeneration: o.observed ?? 1,
    lastAppliedRevision: o.revision,
    conditions: o.ready ? [{ type: 'Ready', status: o.ready, reason: 'x', message: '' }] : [],
  },
});

const store = (objs: KubeObject[]) => ({
  get: (ns: string | undefined, name: string) => objs.find((o) => o.metadata.namespace === ns && o.metadata.name === name),
  list: () => objs,
});

const self = ks('app');
const db = (o: Parameters<typeof ks>[1]) => store([ks('db', o)]);
const wantsV2 = "dep.status.lastAppliedRevision == self.metadata.annotations['example.com/wants']";

describe('unmetDependency', () => {
  const cases: Array<{ name: string; deps: DependencyReference[]; objects: ReturnType<typeof store>; additive?: boolean; want: Partial<UnmetDependency> | undefined }> = [
    { name: 'Ready at its generation: met', deps: [{ name: 'db' }], objects: db({ ready: 'True' }), want: undefined },
    { name: 'Ready for an older generation: not met', deps: [{ name: 'db' }], objects: db({ ready: 'True', generation: 2, observed: 1 }), want: { problem: 'notReady' } },
    { name: 'missing: not met', deps: [{ name: 'db' }], objects: store([]), want: { problem: 'notReady', name: 'db', namespace: 'apps' } },
    { name: 'readyExpr true replaces a Ready=False', deps: [{ name: 'db', readyExpr: wantsV2 }], objects: db({ ready: 'False', revision: 'v2' }), want: undefined },
    {
      name: 'readyExpr false holds back a Ready dependency',
      deps: [{ name: 'db', readyExpr: wantsV2 }],
      objects: db({ ready: 'True', revision: 'v1' }),
      want: { problem: 'notReady', detail: 'is not ready according to readyExpr eval' },
    },
    {
      name: 'additive gate: readyExpr true and Ready=False is not met',
      deps: [{ name: 'db', readyExpr: wantsV2 }],
      objects: db({ ready: 'False', revision: 'v2' }),
      additive: true,
      want: { problem: 'notReady', detail: undefined },
    },
    { name: 'additive gate: both hold', deps: [{ name: 'db', readyExpr: wantsV2 }], objects: db({ ready: 'True', revision: 'v2' }), additive: true, want: undefined },
    {
      name: 'readyExpr failing on the data waits, saying why',
      deps: [{ name: 'db', readyExpr: "dep.status.nosuch == 'x'" }],
      objects: db({ ready: 'True' }),
      want: { problem: 'notReady' },
    },
    {
      name: 'readyExpr that does not compile is a spec problem',
      deps: [{ name: 'db', readyExpr: 'dep.status.ready' }],
      objects: db({ ready: 'True' }),
      want: { problem: 'invalidExpr', detail: 'failed to evaluate dependency db: CEL expression output type mismatch: expected bool, got dyn' },
    },
    { name: 'numbers are doubles, as in a Struct: generation arithmetic with an int fails', deps: [{ name: 'db', readyExpr: 'dep.metadata.generation + 1 == 2' }], objects: db({ ready: 'True' }), want: { problem: 'notReady' } },
    { name: 'numbers compare across int and double', deps: [{ name: 'db', readyExpr: 'dep.metadata.generation == 1' }], objects: db({ ready: 'False' }), want: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = unmetDependency(self, c.deps, c.objects, { additiveCelDependencyCheck: c.additive });
      if (c.want === undefined) return assert.equal(got, undefined);
      assert.ok(got, 'expected an unmet dependency');
      for (const [k, v] of Object.entries(c.want)) {
        if (k === 'detail' && c.name.includes('failing')) assert.match(got.detail ?? '', /^failed to evaluate the CEL expression /);
        else assert.equal(got[k as keyof UnmetDependency], v, k);
      }
    });
  }
  test('cross-namespace refused before anything else', () => {
    assert.equal(unmetDependency(self, [{ name: 'db', namespace: 'other' }], store([]), { noCrossNamespaceRefs: true })?.problem, 'crossNamespace');
  });
});

describe('invalidReadyExpr and dependentsOf', () => {
  test('the first readyExpr that does not compile, named by its dependency', () => {
    const err = invalidReadyExpr([{ name: 'a', readyExpr: 'true' }, { name: 'b', readyExpr: 'dep.x ==' }]);
    assert.match(err?.message ?? '', /^failed to evaluate dependency b: failed to parse the CEL expression 'dep\.x ==': /);
    assert.equal(invalidReadyExpr([{ name: 'a' }, { name: 'b', readyExpr: "dep.metadata.name == 'b'" }]), undefined);
  });
  test('dependents, all or by readyExpr only', () => {
    const objects = store([ks('db'), ks('plain', { dependsOn: [{ name: 'db' }] }), ks('byexpr', { dependsOn: [{ name: 'db', readyExpr: 'true' }] })]);
    assert.deepEqual(dependentsOf(objects, 'apps', 'db'), ['apps/plain', 'apps/byexpr']);
    assert.deepEqual(dependentsOf(objects, 'apps', 'db', { readyExprOnly: true }), ['apps/byexpr']);
  });
});
