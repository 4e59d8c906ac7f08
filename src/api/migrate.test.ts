import assert from 'node:assert/strict';
import test from 'node:test';
import { parse } from 'yaml';
import { applyMigration, migrationOf } from './migrate.ts';

const migrated = (obj: Record<string, unknown>) => {
  const m = migrationOf(obj);
  assert.ok(m, 'a migration');
  return { obj: applyMigration(obj, m) as Record<string, any>, notes: m.notes };
};

test('current or foreign objects need nothing', () => {
  assert.equal(migrationOf({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', spec: {} }), undefined);
  assert.equal(migrationOf({ apiVersion: 'apps/v1', kind: 'Deployment' }), undefined);
  assert.equal(migrationOf({ apiVersion: 'example.com/v1beta1', kind: 'Kustomization' }), undefined);
  assert.equal(migrationOf('not an object'), undefined);
  assert.equal(migrationOf(null), undefined);
});

test('the apiVersion moves to the version Flux 2.9 serves, for every Flux kind', () => {
  const cases: Array<[string, string, string]> = [
    ['source.toolkit.fluxcd.io/v1beta2', 'GitRepository', 'source.toolkit.fluxcd.io/v1'],
    ['source.toolkit.fluxcd.io/v1beta1', 'HelmRepository', 'source.toolkit.fluxcd.io/v1'],
    ['source.toolkit.fluxcd.io/v1beta2', 'OCIRepository', 'source.toolkit.fluxcd.io/v1'],
    ['kustomize.toolkit.fluxcd.io/v1beta1', 'Kustomization', 'kustomize.toolkit.fluxcd.io/v1'],
    ['helm.toolkit.fluxcd.io/v2beta1', 'HelmRelease', 'helm.toolkit.fluxcd.io/v2'],
    ['helm.toolkit.fluxcd.io/v2beta2', 'HelmRelease', 'helm.toolkit.fluxcd.io/v2'],
    ['notification.toolkit.fluxcd.io/v1beta2', 'Alert', 'notification.toolkit.fluxcd.io/v1beta3'],
    ['image.toolkit.fluxcd.io/v1beta2', 'ImagePolicy', 'image.toolkit.fluxcd.io/v1'],
  ];
  for (const [from, kind, to] of cases) assert.equal(migrationOf({ apiVersion: from, kind })?.apiVersion, to, `${kind} ${from}`);
});

test('Kustomization v1beta2: strategic-merge and JSON 6902 patches become v1 patches; validation goes with a note', () => {
  const { obj, notes } = migrated({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1beta2',
    kind: 'Kustomization',
    metadata: { name: 'app' },
    spec: {
      interval: '5m',
      validation: 'client',
      patches: [{ patch: 'kept', target: { kind: 'Service' } }],
      patchesStrategicMerge: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } }],
      patchesJson6902: [{ target: { kind: 'Deployment', name: 'web' }, patch: [{ op: 'add', path: '/metadata/labels/x', value: 'y' }] }],
    },
  });
  assert.equal(obj.apiVersion, 'kustomize.toolkit.fluxcd.io/v1');
  assert.deepEqual(Object.keys(obj.spec).sort(), ['interval', 'patches']);
  assert.equal(obj.spec.patches.length, 3);
  assert.deepEqual(obj.spec.patches[0], { patch: 'kept', target: { kind: 'Service' } });
  assert.deepEqual(parse(obj.spec.patches[1].patch), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 2 } });
  assert.equal(obj.spec.patches[1].target, undefined);
  assert.deepEqual(parse(obj.spec.patches[2].patch), [{ op: 'add', path: '/metadata/labels/x', value: 'y' }]);
  assert.deepEqual(obj.spec.patches[2].target, { kind: 'Deployment', name: 'web' });
  assert.equal(notes.length, 3);
  assert.match(notes.join('\n'), /spec\.validation: removed: every apply is validated with a server-side dry run/);
});

test('GitRepository and HelmChart: beta-only fields removed or moved, with notes', () => {
  const git = migrated({ apiVersion: 'source.toolkit.fluxcd.io/v1beta2', kind: 'GitRepository', spec: { url: 'u', gitImplementation: 'libgit2', accessFrom: { namespaceSelectors: [] } } });
  assert.deepEqual(git.obj.spec, { url: 'u' });
  assert.deepEqual(git.notes.map((n) => n.split(':')[0]), ['spec.gitImplementation', 'spec.accessFrom']);
  const chart = migrated({ apiVersion: 'source.toolkit.fluxcd.io/v1beta2', kind: 'HelmChart', spec: { chart: 'c', valuesFile: 'a.yaml', valuesFiles: ['b.yaml', 'a.yaml'] } });
  assert.deepEqual(chart.obj.spec, { chart: 'c', valuesFiles: ['a.yaml', 'b.yaml'] });
});

test('HelmRelease v2beta1: chart valuesFile and post-renderer beta patches', () => {
  const { obj, notes } = migrated({
    apiVersion: 'helm.toolkit.fluxcd.io/v2beta1',
    kind: 'HelmRelease',
    spec: {
      chart: { spec: { chart: 'peer', valuesFile: 'values-prod.yaml' } },
      postRenderers: [{ kustomize: { patchesStrategicMerge: [{ kind: 'Deployment', apiVersion: 'apps/v1', metadata: { name: 'x' } }] } }, { kustomize: { images: [] } }],
    },
  });
  assert.deepEqual(obj.spec.chart.spec, { chart: 'peer', valuesFiles: ['values-prod.yaml'] });
  assert.equal(obj.spec.postRenderers[0].kustomize.patches.length, 1);
  assert.equal(obj.spec.postRenderers[0].kustomize.patchesStrategicMerge, undefined);
  assert.deepEqual(obj.spec.postRenderers[1], { kustomize: { images: [] } });
  assert.match(notes.join('\n'), /spec\.postRenderers\[0\]\.kustomize\.patchesStrategicMerge: 1 patch\(es\) moved to spec\.postRenderers\[0\]\.kustomize\.patches/);
});
