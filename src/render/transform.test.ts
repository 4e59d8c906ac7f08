import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Manifest } from './manifests.ts';
import { parseManifests } from './manifests.ts';
import { applyCommonMetadata, applyNativeTransforms, cleanLikeKustomize, isClusterScopedForKustomize, nativeBlocker } from './transform.ts';

const parse = (text: string): Manifest[] => parseManifests(text, 'f.yaml');
const names = (ms: Manifest[]) => ms.map((m) => `${m.object.kind}/${m.object.metadata.namespace ?? ''}/${m.object.metadata.name}`);

const mixed = parse(`apiVersion: v1
kind: Namespace
metadata: {name: old}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: elsewhere}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: ServiceAccount, name: default}
- {kind: User, name: jane}
`);

test('targetNamespace: namespaced kinds (custom resources too) moved; cluster-scoped kept; Namespace renamed; "default" subjects', () => {
  assert.equal(nativeBlocker(mixed.map((m) => m.object), { targetNamespace: 'team' }), undefined);
  const out = applyNativeTransforms(mixed, { targetNamespace: 'team' });
  assert.deepEqual(names(out), [
    'Namespace//team',
    'ConfigMap/team/cm',
    'ClusterRole//reader',
    'CustomResourceDefinition//widgets.example.com',
    'Widget/team/w',
    'RoleBinding/team/rb',
  ]);
  assert.deepEqual(out[5]!.object.subjects, [{ kind: 'ServiceAccount', name: 'default', namespace: 'team' }, { kind: 'User', name: 'jane' }]);
  assert.equal(mixed[1]!.object.metadata.namespace, 'elsewhere', 'the input is not modified');
});

test('namePrefix/nameSuffix: all names except CRDs, Namespaces and APIServices', () => {
  const out = applyNativeTransforms(mixed.slice(0, 5), { namePrefix: 'p-', nameSuffix: '-s' });
  assert.deepEqual(names(out), ['Namespace//old', 'ConfigMap/elsewhere/p-cm-s', 'ClusterRole//p-reader-s', 'CustomResourceDefinition//widgets.example.com', 'Widget//p-w-s']);
});

test('cluster-scoped kinds are those of kustomize, by exact apiVersion', () => {
  assert.equal(isClusterScopedForKustomize('rbac.authorization.k8s.io/v1', 'ClusterRole'), true);
  assert.equal(isClusterScopedForKustomize('v1', 'PersistentVolume'), true);
  assert.equal(isClusterScopedForKustomize('v1', 'Secret'), false);
  assert.equal(isClusterScopedForKustomize('example.com/v1', 'ClusterWidget'), false);
  assert.equal(isClusterScopedForKustomize('networking.k8s.io/v1', 'ServiceCIDR'), false); // newer than kustomize's schema
});

test('the native path steps aside where kustomize would rewrite references', () => {
  const objs = (text: string) => parse(text).map((m) => m.object);
  const app = objs(`apiVersion: v1
kind: ServiceAccount
metadata: {name: app}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {serviceAccountName: app, containers: [{name: web, image: nginx}]}
`);
  assert.match(nativeBlocker(app, { namePrefix: 'p-' })!, /Deployment\/web has the value "app" at spec\.template\.spec\.serviceAccountName/);
  assert.equal(nativeBlocker(app, { targetNamespace: 'x' }), undefined);
  const labelsOnly = objs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: svc, labels: {app: web}}\nspec: {selector: {app: web}}\n');
  assert.equal(nativeBlocker(labelsOnly, { nameSuffix: '-x' }), undefined);
  const rbac = objs('apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects: [{kind: ServiceAccount, name: app, namespace: a}]\n');
  assert.match(nativeBlocker(rbac, { targetNamespace: 'x' })!, /binds ServiceAccount app/);
  const webhook = objs('apiVersion: v1\nkind: Service\nmetadata: {name: hook}\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingWebhookConfiguration\nmetadata: {name: v}\nwebhooks: []\n');
  assert.ok(nativeBlocker(webhook, { targetNamespace: 'x' }));
  const api = objs('apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.example.com}\nspec: {group: example.com, version: v1}\n');
  assert.ok(nativeBlocker(api, { targetNamespace: 'x' }));
});

test('duplicates fail, before and after moving to the target namespace', () => {
  const dup = parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\n');
  assert.throws(() => applyNativeTransforms(dup, {}), /ConfigMap\/default\/a is defined twice: in f\.yaml:1 and in f\.yaml:5/);
  const clash = parse('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: y}\n');
  assert.doesNotThrow(() => applyNativeTransforms(clash, {}));
  assert.throws(() => applyNativeTransforms(clash, { targetNamespace: 't' }), /ConfigMap\/t\/a is defined twice after setting namespace t/);
});

test('kustomize output cleanup: internal annotations and empty annotation maps go, labels stay', () => {
  const o = parse(`apiVersion: v1
kind: ConfigMap
metadata:
  name: a
  labels: {}
  annotations:
    config.kubernetes.io/index: "1"
    internal.config.kubernetes.io/path: x
    config.kubernetes.io/origin: "path: y"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
  annotations:
    keep: me
    kustomize.config.k8s.io/id: z
`).map((m) => m.object);
  o.forEach(cleanLikeKustomize);
  assert.deepEqual(o[0]!.metadata, { name: 'a', labels: {} });
  assert.deepEqual(o[1]!.metadata.annotations, { keep: 'me', 'kustomize.config.k8s.io/id': 'z' });
});

test('commonMetadata merges into metadata only, overriding same keys', () => {
  const objs = parse(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: old}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
`);
  const out = applyCommonMetadata(objs, { labels: { tier: 'new', team: 'a' }, annotations: { owner: 'me' } });
  assert.deepEqual(out[0]!.object.metadata.labels, { app: 'web', tier: 'new', team: 'a' });
  assert.deepEqual(out[0]!.object.metadata.annotations, { owner: 'me' });
  assert.deepEqual((out[0]!.object.spec as { selector: unknown }).selector, { matchLabels: { app: 'web' } });
  assert.deepEqual(out[1]!.object.metadata, { name: 'c', labels: { tier: 'new', team: 'a' }, annotations: { owner: 'me' } });
  assert.equal(applyCommonMetadata(objs, undefined), objs);
});
