import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../kube/object.ts';
import { compareRows, packRows, rowOf, stateOf, unpackRows } from './rows.ts';

const ks = (status: Record<string, unknown>, spec: Record<string, unknown> = {}, generation = 1): KubeObject => ({
  apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
  kind: 'Kustomization',
  metadata: { name: 'apps', namespace: 'flux', generation },
  spec: { sourceRef: { kind: 'GitRepository', name: 'repo' }, ...spec },
  status,
});
const ready = (status: string, reason: string, message = '') => ({ type: 'Ready', status, reason, message, lastTransitionTime: '2026-01-01T00:00:00Z' });

test('state: ready, failed, progressing, suspended, unknown', () => {
  const cases: Array<[KubeObject, string]> = [
    [ks({ observedGeneration: 1, conditions: [ready('True', 'ReconciliationSucceeded')] }), 'ready'],
    [ks({ observedGeneration: 1, conditions: [ready('False', 'HealthCheckFailed', 'timeout')] }), 'failed'],
    [ks({ observedGeneration: 1, conditions: [ready('Unknown', 'Progressing')] }), 'progressing'],
    [ks({ observedGeneration: 1, conditions: [ready('False', 'DependencyNotReady')] }), 'progressing'],
    [ks({ observedGeneration: 1, conditions: [ready('True', 'ReconciliationSucceeded')] }, {}, 2), 'progressing'],
    [ks({ conditions: [ready('True', 'x')] }, { suspend: true }), 'suspended'],
    [ks({}), 'unknown'],
    [ks({ conditions: [ready('False', 'BuildFailed'), { type: 'Stalled', status: 'True', reason: 'InvalidPath', message: 'no such path' }] }), 'failed'],
  ];
  for (const [o, want] of cases) assert.equal(stateOf(o).state, want, JSON.stringify(o.status));
  assert.equal(stateOf(cases[7]![0]).reason, 'InvalidPath');
});

test('a row carries revision, applied time, dependsOn and source, and no spec values', () => {
  const o = ks(
    { lastAppliedRevision: 'main@sha1:abc', history: [{ lastReconciled: '2026-02-02T00:00:00Z' }], conditions: [ready('True', 'ok')] },
    { dependsOn: [{ name: 'infra' }, { name: 'crds', namespace: 'other' }], postBuild: { substitute: { password: 'hunter2' } } },
  );
  const r = rowOf(o);
  assert.equal(r.id, 'Kustomization/flux/apps');
  assert.equal(r.revision, 'main@sha1:abc');
  assert.equal(r.at, '2026-02-02T00:00:00Z');
  assert.deepEqual(r.deps, ['flux/infra', 'other/crds']);
  assert.equal(r.source, 'GitRepository/flux/repo');
  assert.ok(!JSON.stringify(r).includes('hunter2'));
});

test('a source row carries its artifact and verification', () => {
  const r = rowOf({
    apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'repo', namespace: 'flux' },
    status: { artifact: { revision: 'main@sha1:1', digest: 'sha256:ff', size: 1234, lastUpdateTime: '2026-01-01T00:00:00Z' }, conditions: [{ type: 'SourceVerified', status: 'False', reason: 'x', message: 'bad signature' }] },
  });
  assert.deepEqual(r.artifact, { size: 1234, digest: 'sha256:ff', fetched: '2026-01-01T00:00:00Z', verified: 'False', verifyMessage: 'bad signature' });
});

test('failing rows sort first', () => {
  const a = rowOf(ks({ conditions: [ready('True', 'ok')] }));
  const b = { ...rowOf(ks({ conditions: [ready('False', 'BuildFailed')] })), name: 'zzz' };
  assert.deepEqual([a, b].sort(compareRows).map((r) => r.state), ['failed', 'ready']);
});

test('packed rows come back as they were, and are smaller', () => {
  const rows = Array.from({ length: 200 }, (_, i) => rowOf(ks({ lastAppliedRevision: 'main@sha1:abc', conditions: [ready(i % 7 ? 'True' : 'False', 'r', 'Applied revision: main@sha1:abc')] }, { dependsOn: [{ name: 'infra' }] })))
    .map((r, i) => ({ ...r, name: `app-${i}`, id: `Kustomization/flux/app-${i}` }));
  rows.push(rowOf({ apiVersion: '', kind: 'GitRepository', metadata: { name: 'g', namespace: 'flux' }, status: { artifact: { size: 1, digest: 'sha256:1' } } }));
  const packed = packRows(rows);
  assert.deepEqual(unpackRows(JSON.parse(JSON.stringify(packed))), JSON.parse(JSON.stringify(rows)));
  assert.ok(JSON.stringify(packed).length * 3 < JSON.stringify(rows).length, 'at least three times smaller');
});
