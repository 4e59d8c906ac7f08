import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { adminClient, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { run } from '../../src/util/exec.ts';
import { projectRoot } from '../../src/util/paths.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { gitPath, ksPath } from './objects.ts';

// `sluice install`: the exported manifests, applying them (twice), and what
// kubectl makes of the CRDs. The install goes to sluice-system with
// --replicas 0, exactly as the demo installs it, so the shared cluster ends
// up as it was.

const sluice = (args: string[], check = true) => run(process.execPath, [join(projectRoot, 'bin/sluice.js'), ...args], { cwd: projectRoot, check });
const kubectl = async (args: string[], input?: string) => run('kubectl', [`--kubeconfig=${await testKubeconfig()}`, ...args], { input });

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}
type Obj = KubeObject & { rules?: Rule[]; roleRef?: { kind: string; name: string }; subjects?: Array<{ kind: string; name: string; namespace?: string }>; spec?: Record<string, unknown> };

async function exported(extra: string[] = []): Promise<Obj[]> {
  const res = await sluice(['install', '--export', ...extra]);
  const docs = parseAllDocuments(res.stdout);
  for (const d of docs) assert.deepEqual(d.errors, [], 'valid YAML');
  return docs.map((d) => d.toJS() as Obj).filter(Boolean);
}

const find = (objs: Obj[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name);

let ns: TestNamespace | undefined;
let client: KubeClient | undefined;
after(async () => {
  if (ns) {
    for (const p of [gitPath(ns.name, 'app'), ksPath(ns.name, 'app')]) {
      await ns.client
        .request({ method: 'PATCH', path: p, contentType: 'application/merge-patch+json', body: { metadata: { finalizers: null } } })
        .catch(() => {});
    }
    await ns.cleanup();
  }
  client?.close();
});

test('install --export prints CRDs with schemas and printer columns, the namespace, RBAC and the Deployment', async () => {
  const objs = await exported();
  const kinds = new Set(objs.map((o) => o.kind));
  for (const k of ['CustomResourceDefinition', 'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Service', 'Deployment']) {
    assert.ok(kinds.has(k), `exports a ${k}`);
  }
  const columns = (crd: Obj, version: string) =>
    ((crd.spec!.versions as Array<{ name: string; additionalPrinterColumns: Array<{ name: string; jsonPath: string }> }>).find((v) => v.name === version)!
      .additionalPrinterColumns ?? []).map((c) => c.name);
  const schema = (crd: Obj, version: string) =>
    (crd.spec!.versions as Array<{ name: string; schema: { openAPIV3Schema: { properties: Record<string, { properties?: Record<string, unknown> }> } } }>).find(
      (v) => v.name === version,
    )!.schema.openAPIV3Schema;
  const git = find(objs, 'CustomResourceDefinition', 'gitrepositories.source.toolkit.fluxcd.io')!;
  const ks = find(objs, 'CustomResourceDefinition', 'kustomizations.kustomize.toolkit.fluxcd.io')!;
  assert.ok(git && ks);
  // Flux's columns, then at priority 1 (kubectl -o wide) the ones `sluice get` reads.
  assert.deepEqual(columns(git, 'v1'), ['URL', 'Age', 'Ready', 'Status', 'Revision', 'Suspended']);
  assert.deepEqual(columns(ks, 'v1'), ['Age', 'Ready', 'Status', 'Revision', 'Suspended', 'Pinned To']);
  assert.ok(schema(git, 'v1').properties.spec!.properties!.ref, 'GitRepository spec.ref in the schema');
  assert.ok(schema(git, 'v1').properties.status!.properties!.artifact);
  assert.ok(schema(ks, 'v1').properties.spec!.properties!.sourceRef);
  assert.ok(schema(ks, 'v1').properties.status!.properties!.inventory);

  const deploy = find(objs, 'Deployment', 'sluice-controller')!;
  const pod = (deploy.spec!.template as { spec: { serviceAccountName: string; containers: Array<{ args: string[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } }> } }).spec;
  assert.equal(deploy.metadata.namespace, 'sluice-system');
  assert.equal(pod.serviceAccountName, 'sluice-controller');
  assert.ok(
    ((pod as { terminationGracePeriodSeconds?: number }).terminationGracePeriodSeconds ?? 30) > 30,
    'the pod gets more than the 30 s the controller may spend draining reconciles before it releases the lease',
  );
  assert.ok(pod.containers[0]!.args.includes('--leader-elect'));
  assert.ok(pod.containers[0]!.args.includes('--leader-election-namespace=sluice-system'));
  assert.equal(pod.containers[0]!.readinessProbe.httpGet.path, '/readyz');
  assert.equal(pod.containers[0]!.livenessProbe.httpGet.path, '/healthz');
  assert.ok(find(objs, 'Namespace', 'sluice-system'));

  // The API server accepts every object as it is. A server-side dry run does
  // not create the namespace, so namespaced objects need it to exist already.
  await kubectl(['create', 'namespace', 'sluice-system']).catch(() => undefined);
  const text = (await sluice(['install', '--export'])).stdout;
  const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], text);
  assert.equal(dry.stdout.trim().split('\n').length, objs.length, dry.stdout);
});

test('install --replicas 2 --image REF@digest: a restricted pod by digest, a PodDisruptionBudget, and the API server accepts it all (dry run)', async () => {
  const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
  const image = `127.0.0.1:5000/sluice@${digest}`;
  const objs = await exported(['--replicas=2', `--image=${image}`]);
  const deploy = find(objs, 'Deployment', 'sluice-controller')!;
  type Container = {
    image: string;
    args: string[];
    resources: { requests: Record<string, string>; limits: Record<string, string> };
    securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; capabilities: { drop: string[] } };
    volumeMounts: Array<{ name: string; mountPath: string }>;
  };
  const pod = (deploy.spec!.template as {
    spec: { securityContext: { runAsNonRoot: boolean; runAsUser: number; seccompProfile: { type: string } }; containers: Container[]; volumes: Array<{ name: string; emptyDir?: object }> };
  }).spec;
  const c = pod.containers[0]!;
  assert.equal(deploy.spec!.replicas, 2);
  assert.equal(c.image, image);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, 65532, 'the image user');
  assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.ok(c.resources.requests.memory && c.resources.requests.cpu && c.resources.limits.memory);
  assert.ok(c.args.includes('--leader-elect'));
  assert.ok(c.args.includes('--artifact-base-url=http://sluice-artifacts.sluice-system.svc.cluster.local.'), 'artifact URLs through the Service');
  for (const [name, path] of [['data', '/data'], ['tmp', '/tmp']]) {
    assert.ok(c.volumeMounts.some((m) => m.name === name && m.mountPath === path));
    assert.ok(pod.volumes.some((v) => v.name === name && v.emptyDir), `${name} is an emptyDir`);
  }
  const service = find(objs, 'Service', 'sluice-artifacts')!;
  assert.deepEqual((service.spec as { selector: Record<string, string> }).selector, (deploy.spec!.selector as { matchLabels: Record<string, string> }).matchLabels);
  const pdb = find(objs, 'PodDisruptionBudget', 'sluice-controller')!;
  assert.ok(pdb, 'a PodDisruptionBudget with two replicas');
  assert.equal((pdb.spec as { minAvailable: number }).minAvailable, 1);
  assert.equal(find(await exported([`--image=${image}`]), 'PodDisruptionBudget', 'sluice-controller'), undefined, 'none with one replica');

  await kubectl(['create', 'namespace', 'sluice-system']).catch(() => undefined);
  const text = (await sluice(['install', '--export', '--replicas=2', `--image=${image}`])).stdout;
  const dry = await kubectl(['apply', '--dry-run=server', '-f', '-'], text);
  assert.equal(dry.stdout.trim().split('\n').length, objs.length, dry.stdout);
  assert.match(dry.stdout, /poddisruptionbudget\.policy\/sluice-controller (created|configured|unchanged) \(server dry run\)/);
});

test('the controller ClusterRole is least-privilege; cluster-admin is bound only without --multi-tenant', async () => {
  for (const multiTenant of [false, true]) {
    const objs = await exported(multiTenant ? ['--multi-tenant'] : []);
    const role = find(objs, 'ClusterRole', 'sluice-controller-sluice-system')!;
    for (const r of role.rules!) {
      assert.ok(!r.verbs.includes('*'), `no wildcard verbs: ${JSON.stringify(r)}`);
      if (r.apiGroups?.includes('') || r.apiGroups?.includes('*')) {
        assert.ok(!r.resources?.includes('*'), `no wildcard resources in the core group: ${JSON.stringify(r)}`);
        assert.ok(!r.apiGroups.includes('*'), `no wildcard API groups: ${JSON.stringify(r)}`);
      }
      if (r.resources?.includes('secrets')) assert.deepEqual([...r.verbs].sort(), ['get', 'list', 'watch'], 'Secrets are read-only');
      if (r.verbs.includes('impersonate')) assert.deepEqual(r.resources, ['serviceaccounts'], 'impersonates service accounts only, never users or groups');
    }
    const admin = objs.filter((o) => o.kind === 'ClusterRoleBinding' && o.roleRef?.name === 'cluster-admin');
    if (multiTenant) {
      assert.equal(admin.length, 0, 'no cluster-admin with --multi-tenant');
      const args = (find(objs, 'Deployment', 'sluice-controller')!.spec!.template as { spec: { containers: Array<{ args: string[] }> } }).spec.containers[0]!.args;
      assert.ok(args.includes('--no-cross-namespace-refs') && args.includes('--default-service-account=default'));
    } else {
      assert.equal(admin.length, 1);
      assert.deepEqual(admin[0]!.subjects, [{ kind: 'ServiceAccount', name: 'sluice-controller', namespace: 'sluice-system' }]);
    }
  }
});

test('sluice install applies everything, and a second run changes nothing', async () => {
  const objs = await exported();
  const first = await sluice(['install', `--kubeconfig=${await testKubeconfig()}`, '--replicas=0']);
  assert.match(first.stderr, /installed Sluice .* in sluice-system/);
  const second = await sluice(['install', `--kubeconfig=${await testKubeconfig()}`, '--replicas=0']);
  const lines = second.stdout.trim().split('\n');
  assert.equal(lines.length, objs.length, second.stdout);
  for (const l of lines) assert.match(l, / unchanged$/, `second run: ${l}`);
  client = await adminClient();
  const role = await client.request<Obj>({ path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/sluice-controller-sluice-system' });
  assert.deepEqual(role.rules, find(objs, 'ClusterRole', 'sluice-controller-sluice-system')!.rules);
});

test('kubectl shows the columns Flux shows and explains the fields', async () => {
  ns = await testNamespace('install-kubectl');
  // Suspended, so that no controller anywhere in the shared cluster touches them.
  await ns.client.request({
    method: 'POST',
    path: gitPath(ns.name),
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'app' }, spec: { url: 'https://example.invalid/app.git', interval: '1h', suspend: true } },
  });
  await ns.client.request({
    method: 'POST',
    path: ksPath(ns.name),
    body: {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'app' },
      spec: { interval: '1h', prune: true, suspend: true, sourceRef: { kind: 'GitRepository', name: 'app' } },
    },
  });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await ns.client.request({
    method: 'PATCH',
    path: `${gitPath(ns.name, 'app')}/status`,
    contentType: 'application/merge-patch+json',
    body: { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: 'stored artifact for revision main@sha1:abc', lastTransitionTime: now }] } },
  });

  const out = (await kubectl(['get', 'gitrepositories,kustomizations', '-A'])).stdout;
  const headers = out.split('\n').filter((l) => l.startsWith('NAMESPACE'));
  const cols = (h: string) => h.trim().split(/\s{2,}/);
  assert.deepEqual(cols(headers[0]!), ['NAMESPACE', 'NAME', 'URL', 'AGE', 'READY', 'STATUS'], out);
  assert.deepEqual(cols(headers[1]!), ['NAMESPACE', 'NAME', 'AGE', 'READY', 'STATUS'], out);
  const row = out.split('\n').find((l) => l.startsWith(ns!.name) && l.includes('gitrepository'))!;
  assert.deepEqual(cols(row).slice(2).filter((c) => !/^\d+s$/.test(c)), ['https://example.invalid/app.git', 'True', 'stored artifact for revision main@sha1:abc']);
  assert.ok(out.split('\n').some((l) => l.startsWith(ns!.name) && l.includes('kustomization.kustomize.toolkit.fluxcd.io/app')), out);
  // The short names work too.
  assert.match((await kubectl(['get', 'gitrepo,ks', '-n', ns.name, '-o', 'name'])).stdout, /gitrepository.*\/app\n.*kustomization.*\/app/);

  const ref = (await kubectl(['explain', 'gitrepository.spec.ref'])).stdout;
  assert.match(ref, /KIND:\s+GitRepository/);
  assert.match(ref, /The Git reference to check out and follow/);
  for (const f of ['branch', 'tag', 'semver', 'name', 'commit']) assert.match(ref, new RegExp(`^\\s+${f}\\s+<string>`, 'm'), `explains spec.ref.${f}`);
  const src = (await kubectl(['explain', 'kustomization.spec.sourceRef'])).stdout;
  assert.match(src, /KIND:\s+Kustomization/);
  assert.match(src, /^\s+kind\s+<string> -required-/m);
  assert.match(src, /enum: GitRepository/);
  assert.match(src, /^\s+name\s+<string> -required-/m);
  assert.match(src, /^\s+namespace\s+<string>/m);
});

test('install --multi-tenant takes away the cluster-admin binding an earlier install made; the account can impersonate service accounts only', async () => {
  const kc = `--kubeconfig=${await testKubeconfig()}`;
  const sa = 'system:serviceaccount:sluice-system:sluice-controller';
  const can = async (...args: string[]) => (await run('kubectl', [kc, 'auth', 'can-i', ...args, `--as=${sa}`], { check: false })).stdout.trim();
  client ??= await adminClient();
  assert.notEqual(await client.getOrUndefined('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sluice-reconciler-sluice-system'), undefined, 'single-tenant install first');
  try {
    const res = await sluice(['install', kc, '--replicas=0', '--multi-tenant']);
    assert.match(res.stdout, /ClusterRoleBinding\/sluice-reconciler-sluice-system deleted/);
    assert.equal(await client.getOrUndefined('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sluice-reconciler-sluice-system'), undefined);
    assert.equal(await can('create', 'deployments', '-A'), 'no');
    assert.equal(await can('delete', 'secrets', '-A'), 'no');
    assert.equal(await can('impersonate', 'groups'), 'no', 'could otherwise impersonate system:masters');
    assert.equal(await can('impersonate', 'users'), 'no');
    assert.equal(await can('impersonate', 'serviceaccounts', '-A'), 'yes');
    assert.equal(await can('watch', 'gitrepositories.source.toolkit.fluxcd.io', '-A'), 'yes');
    assert.equal(await can('patch', 'kustomizations.kustomize.toolkit.fluxcd.io/status', '-A'), 'yes');
    assert.equal(await can('create', 'leases.coordination.k8s.io', '-n', 'sluice-system'), 'yes');
  } finally {
    // Back to the single-tenant install the demo made.
    await sluice(['install', kc, '--replicas=0']);
  }
  assert.notEqual(await client.getOrUndefined('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/sluice-reconciler-sluice-system'), undefined);
  assert.equal(await can('create', 'deployments', '-A'), 'yes');
});
