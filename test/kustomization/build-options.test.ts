import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, ready } from '../gitops.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// Flux 2.9's build fields end to end: strict post-build substitution by
// default, postBuild.substituteStrategy, buildMetadata and
// ignoreMissingComponents, each through the controller into the cluster.

let g: GitOps;
let rev: string;

before(async () => {
  g = await GitOps.start('ks-build');
  rev = await g.push(
    {
      'strict/cm.yaml': configMap('strict', { known: '${known}', unknown: '${not_defined}' }),
      'always/cm.yaml': configMap('always', { env: '${env:=dev}' }),
      'meta/cm.yaml': configMap('meta', { a: 'b' }),
      'comp/base/kustomization.yaml': 'resources: [cm.yaml]\n',
      'comp/base/cm.yaml': configMap('with-components', { from: 'base' }),
      'comp/extra/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: with-components}\n    data: {extra: "yes"}\n',
    },
    'init',
  );
  await g.createGitRepository();
});
after(async () => {
  await g?.close();
});

type Data = KubeObject & { data?: Record<string, string> };

test('an unset variable without a default fails the build by default, naming the variable', async () => {
  await g.createKustomization('strict', { path: './strict', targetNamespace: g.ns.name, postBuild: { substitute: { known: 'k' } } });
  const s = await g.untilKs('strict', 'failed', (st) => ready(st)?.status === 'False' && st.lastAttemptedRevision === rev);
  assert.equal(ready(s)!.reason, 'BuildFailed');
  assert.match(ready(s)!.message, /variable not set \(strict mode\): "not_defined"/);
  assert.equal(await g.get(g.path('configmaps', 'strict')), undefined, 'nothing applied');
  // Defining it lets the build through.
  await g.patchKs('strict', { spec: { postBuild: { substitute: { known: 'k', not_defined: 'now-defined' } } } });
  await g.untilReady('strict', rev);
  assert.deepEqual((await g.get<Data>(g.path('configmaps', 'strict')))?.data, { known: 'k', unknown: 'now-defined' });
});

test('substituteStrategy: WithVariables leaves ${...} alone without variables, Always substitutes defaults', async () => {
  await g.createKustomization('always', { path: './always', targetNamespace: g.ns.name, postBuild: {} });
  await g.untilReady('always', rev);
  assert.equal((await g.get<Data>(g.path('configmaps', 'always')))?.data?.env, '${env:=dev}');
  await g.patchKs('always', { spec: { postBuild: { substituteStrategy: 'Always' } } });
  await g.untilKs('always', 'substituted', (st) => ready(st)?.status === 'True' && st.observedGeneration === 2);
  assert.equal((await g.get<Data>(g.path('configmaps', 'always')))?.data?.env, 'dev');
});

test('buildMetadata: the applied objects carry kustomize\'s origin annotation', async () => {
  await g.createKustomization('meta', { path: './meta', targetNamespace: g.ns.name, buildMetadata: ['originAnnotations'] });
  await g.untilReady('meta', rev);
  const cm = await g.get<Data>(g.path('configmaps', 'meta'));
  assert.match(cm?.metadata.annotations?.['config.kubernetes.io/origin'] ?? '', /path: cm\.yaml/);
});

test('ignoreMissingComponents: a missing component is left out instead of failing', async () => {
  await g.createKustomization('comp-strict', { path: './comp/base', targetNamespace: g.ns.name, prune: false, components: ['../extra', '../absent'] });
  const failed = await g.untilKs('comp-strict', 'failed', (st) => ready(st)?.status === 'False');
  assert.match(ready(failed)!.message, /components "\.\.\/absent" does not exist/);

  await g.createKustomization('comp', { path: './comp/base', targetNamespace: g.ns.name, components: ['../extra', '../absent'], ignoreMissingComponents: true });
  await g.untilReady('comp', rev);
  assert.deepEqual((await g.get<Data>(g.path('configmaps', 'with-components')))?.data, { from: 'base', extra: 'yes' });
});
