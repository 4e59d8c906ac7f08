import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installManifests } from './manifests.ts';

const base = { namespace: 'sluice-system', image: 'img', replicas: 1, multiTenant: false, version: '1' };
const args = (objs: ReturnType<typeof installManifests>) => ((objs.find((o) => o.kind === 'Deployment')!.spec as any).template.spec.containers[0].args as string[]);
const names = (objs: ReturnType<typeof installManifests>) => objs.map((o) => `${o.kind}/${o.metadata.name}`);

test('the dashboard: off by default, its port and Service only when on, its RBAC only with actions', () => {
  const off = installManifests(base);
  assert.ok(!args(off).some((a) => a.startsWith('--dashboard')));
  assert.ok(!names(off).some((n) => n.includes('dashboard')));

  const ro = installManifests({ ...base, dashboard: 'read-only' });
  assert.ok(args(ro).includes('--dashboard-addr=0.0.0.0:9797'));
  assert.ok(!args(ro).includes('--dashboard-actions'));
  assert.deepEqual(names(ro).filter((n) => n.includes('dashboard')), ['ClusterRole/sluice-dashboard-sluice-system', 'ClusterRoleBinding/sluice-dashboard-sluice-system', 'Service/sluice-dashboard']);
  assert.deepEqual((ro.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'sluice-dashboard-sluice-system') as any).rules, [{ apiGroups: [''], resources: ['events'], verbs: ['list'] }]);

  const act = installManifests({ ...base, dashboard: 'actions' });
  assert.ok(args(act).includes('--dashboard-actions'));
  const role = act.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'sluice-dashboard-sluice-system') as any;
  assert.deepEqual(role.rules, [
    { apiGroups: [''], resources: ['events'], verbs: ['list'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
    { apiGroups: [''], resources: ['users', 'groups'], verbs: ['impersonate'] },
  ]);
  assert.ok(names(act).includes('ClusterRoleBinding/sluice-dashboard-sluice-system'));
});
