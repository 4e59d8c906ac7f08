import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GitOps, ready } from '../gitops.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { closeAll } from '../cleanup.ts';
import { eventually } from '../harness.ts';
import { sluice } from './sluice.ts';

// Flux objects written for beta API versions: a field only a beta had is
// refused by Sluice's apply (never dropped without a word), `sluice migrate -f`
// rewrites the repository, and `sluice migrate` moves what the cluster stores.

let g: GitOps;

const betaKustomization = `# from an older Flux release
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: inner # kept
spec:
  suspend: true
  interval: 10m
  prune: true
  validation: client
  sourceRef:
    kind: GitRepository
    name: app
  patchesStrategicMerge:
    - apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
      spec:
        replicas: 3
  patchesJson6902:
    - target: {kind: Deployment, name: web}
      patch:
        - op: add
          path: /metadata/labels/tier
          value: front
`;
const betaGit = `apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: GitRepository
metadata:
  name: other
spec:
  interval: 1h
  url: https://git.example.invalid/other.git
  gitImplementation: go-git
  suspend: true
`;
const configMap = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: alongside\ndata:\n  a: "1"\n';

before(async () => {
  g = await GitOps.start('migrate');
  await g.push({ 'flux/inner.yaml': betaKustomization, 'flux/other.yaml': betaGit, 'flux/cm.yaml': configMap }, 'betas');
  await g.createGitRepository();
  await eventually('the source has an artifact', async () => (await g.client.request<KubeObject>({ path: g.gitPath() })).status?.artifact);
});

after(async () => {
  await closeAll(g && (() => g.close()));
});

test("a beta-only field is refused with the field named and `sluice migrate` suggested; nothing of the set is applied", async () => {
  await g.createKustomization('flux', { path: './flux', targetNamespace: g.ns.name });
  const s = await g.untilKs('flux', 'failed', (st) => ready(st)?.status === 'False' && !!ready(st)?.message);
  const msg = ready(s)!.message;
  // The API server names one such field per object, whichever it meets first.
  assert.match(msg, /Kustomization\/[^/]+\/inner: .*\.spec\.(validation|patchesStrategicMerge|patchesJson6902): field not declared in schema/);
  assert.match(msg, /GitRepository\/[^/]+\/other: .*\.spec\.gitImplementation: field not declared in schema/);
  assert.match(msg, /sluice migrate -f PATH/);
  assert.equal(await g.client.getOrUndefined(`/api/v1/namespaces/${g.ns.name}/configmaps/alongside`), undefined, 'the whole set stopped before any apply');
});

test('sluice migrate -f rewrites the repository; the migrated objects apply with their patches', async () => {
  const dry = await sluice(['migrate', '-f', join(g.repo.work, 'flux'), '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /inner\.yaml:2: Kustomization\/inner kustomize\.toolkit\.fluxcd\.io\/v1beta2 -> kustomize\.toolkit\.fluxcd\.io\/v1/);
  assert.match(dry.stdout, /other\.yaml:1: GitRepository\/other source\.toolkit\.fluxcd\.io\/v1beta2 -> source\.toolkit\.fluxcd\.io\/v1/);
  assert.match(dry.stdout, /spec\.gitImplementation: removed/);
  assert.match(dry.stdout, /2 object\(s\) in 2 file\(s\) would be migrated \(dry run: nothing written\)/);
  assert.equal(await readFile(join(g.repo.work, 'flux/inner.yaml'), 'utf8'), betaKustomization, '--dry-run writes nothing');

  const res = await sluice(['migrate', '-f', join(g.repo.work, 'flux'), '--yes']);
  assert.equal(res.code, 0, res.stderr);
  const inner = await readFile(join(g.repo.work, 'flux/inner.yaml'), 'utf8');
  assert.match(inner, /^# from an older Flux release\napiVersion: kustomize\.toolkit\.fluxcd\.io\/v1\n/);
  assert.match(inner, /name: inner # kept/);
  assert.equal(await readFile(join(g.repo.work, 'flux/cm.yaml'), 'utf8'), configMap, 'other files untouched');
  assert.match((await sluice(['migrate', '-f', join(g.repo.work, 'flux')])).stdout, /nothing to migrate in 3 file\(s\)/);

  await g.repo.commit('sluice migrate');
  await g.repo.push();
  const rev = `main@sha1:${await g.repo.head()}`;
  await g.requestReconcile(g.gitPath());
  await g.untilReady('flux', rev);
  const live = await g.client.request<KubeObject & { spec: { patches: Array<{ patch: string; target?: unknown }>; validation?: string } }>({ path: g.ksPath('inner') });
  assert.equal(live.spec.validation, undefined);
  assert.equal(live.spec.patches.length, 2);
  assert.deepEqual(parse(live.spec.patches[0]!.patch), { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 3 } });
  assert.deepEqual(live.spec.patches[1]!.target, { kind: 'Deployment', name: 'web' });
  assert.ok(await g.client.getOrUndefined(`/api/v1/namespaces/${g.ns.name}/configmaps/alongside`));
});

test('sluice migrate (cluster): managed fields of a beta move to the storage version, storedVersions is set to it', async () => {
  const crd = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gitrepositories.source.toolkit.fluxcd.io';
  // As a cluster that ran an older Flux release has it: objects written through
  // a beta, and the beta among the stored versions.
  await g.client.request({
    method: 'PATCH',
    path: `/apis/source.toolkit.fluxcd.io/v1beta2/namespaces/${g.ns.name}/gitrepositories/written-as-beta?fieldManager=old-flux&force=true`,
    contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1beta2', kind: 'GitRepository', metadata: { name: 'written-as-beta' }, spec: { url: 'https://git.example.invalid/x.git', interval: '1h', suspend: true } },
  });
  const path = `/apis/source.toolkit.fluxcd.io/v1/namespaces/${g.ns.name}/gitrepositories/written-as-beta`;
  const before = await g.client.request<KubeObject>({ path });
  assert.equal(before.metadata.managedFields?.find((f) => f.manager === 'old-flux')?.apiVersion, 'source.toolkit.fluxcd.io/v1beta2');
  await g.client.request({ method: 'PATCH', path: `${crd}/status`, contentType: 'application/merge-patch+json', body: { status: { storedVersions: ['v1beta2', 'v1'] } } });

  const res = await sluice(['migrate']);
  assert.equal(res.code, 0, res.stderr + res.stdout);
  assert.match(res.stdout, new RegExp(`GitRepository/${g.ns.name}/written-as-beta migrated to v1`));
  assert.match(res.stdout, /gitrepositories\.source\.toolkit\.fluxcd\.io: storedVersions \["v1beta2","v1"\] -> \["v1"\]/);
  const after = await g.client.request<KubeObject>({ path });
  assert.equal(after.metadata.managedFields?.find((f) => f.manager === 'old-flux')?.apiVersion, 'source.toolkit.fluxcd.io/v1');
  const stored = await eventually('storedVersions', async () => (await g.client.request<{ status: { storedVersions: string[] } }>({ path: crd })).status.storedVersions);
  assert.deepEqual(stored, ['v1']);
});
