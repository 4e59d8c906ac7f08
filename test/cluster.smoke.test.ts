import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, eventually, testNamespace, tokenClient, type TestNamespace } from './harness.ts';
import { KubeApiError } from '../src/kube/errors.ts';
import type { KubeClient } from '../src/kube/client.ts';

// Proves the local control plane is a real Kubernetes: persistence, CRDs,
// controllers, scheduling onto KWOK nodes, RBAC and impersonation.

let ns: TestNamespace;
let admin: KubeClient;

before(async () => {
  admin = await adminClient();
  ns = await testNamespace('smoke');
});

after(async () => {
  await ns?.cleanup();
  admin?.close();
});

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  status?: Record<string, unknown> & { conditions?: Array<{ type: string; status: string }> };
}

test('KWOK nodes are registered and Ready', async () => {
  const nodes = await admin.request<{ items: Obj[] }>({ path: '/api/v1/nodes' });
  const ready = nodes.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  assert.ok(ready.length >= 2, `expected 2 Ready nodes, got ${ready.map((n) => n.metadata.name).join(', ')}`);
});

test('a CustomResourceDefinition is served and its objects are stored', async () => {
  const group = `${ns.name}.smoke.sluice.test`;
  const crdName = `widgets.${group}`;
  await admin.request({
    method: 'POST',
    path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    body: {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: crdName },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } } },
              },
            },
          },
        ],
      },
    },
  });
  try {
    await eventually('CRD Established', async () => {
      const crd = await admin.request<Obj>({ path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}` });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
    const path = `/apis/${group}/v1/namespaces/${ns.name}/widgets`;
    await eventually('widget created', () =>
      admin.request({ method: 'POST', path, body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } } }),
    );
    const got = await admin.request<Obj & { spec: { size: number } }>({ path: `${path}/w1` });
    assert.equal(got.spec.size, 3);
    // The schema is enforced by the API server.
    await assert.rejects(
      admin.request({ method: 'POST', path, body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'bad' }, spec: { size: 0 } } }),
      (err: unknown) => err instanceof KubeApiError && err.status === 422 && /spec.size/.test(err.message),
    );
  } finally {
    await admin.request({ method: 'DELETE', path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}` });
  }
});

test('a Deployment with 2 replicas becomes Available on KWOK nodes', async () => {
  await admin.request({
    method: 'POST',
    path: `/apis/apps/v1/namespaces/${ns.name}/deployments`,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
        },
      },
    },
  });
  const dep = await eventually(
    'deployment available',
    async () => {
      const d = await admin.request<Obj>({ path: `/apis/apps/v1/namespaces/${ns.name}/deployments/web` });
      return d.status?.availableReplicas === 2 ? d : undefined;
    },
    60_000,
  );
  assert.ok(dep.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True'));
  const pods = await admin.request<{ items: Array<Obj & { spec: { nodeName?: string } }> }>({
    path: `/api/v1/namespaces/${ns.name}/pods`,
    query: { labelSelector: 'app=web' },
  });
  assert.equal(pods.items.length, 2);
  for (const p of pods.items) assert.match(p.spec.nodeName ?? '', /^kwok-node-/);
});

test('RBAC denies an unprivileged service account, by token and by impersonation', async () => {
  const sa = 'nobody';
  await admin.request({
    method: 'POST',
    path: `/api/v1/namespaces/${ns.name}/serviceaccounts`,
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa } },
  });
  const tr = await eventually('token issued', () =>
    admin.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${ns.name}/serviceaccounts/${sa}/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    }),
  );
  const asToken = await tokenClient(admin, tr.status.token);
  const asImpersonated = admin.impersonate({ user: `system:serviceaccount:${ns.name}:${sa}` });
  const secrets = `/api/v1/namespaces/${ns.name}/secrets`;
  const configmaps = `/api/v1/namespaces/${ns.name}/configmaps`;
  const forbidden = (err: unknown) =>
    err instanceof KubeApiError && err.status === 403 && err.message.includes(`system:serviceaccount:${ns.name}:${sa}`);
  try {
    await assert.rejects(asToken.request({ path: secrets }), forbidden);
    await assert.rejects(asImpersonated.request({ path: secrets }), forbidden);

    // A Role that grants configmaps (and only configmaps) is honoured for both:
    // the denial above is RBAC, not a broken credential.
    await admin.request({
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/roles`,
      body: { metadata: { name: 'cm-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }] },
    });
    await admin.request({
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings`,
      body: {
        metadata: { name: 'cm-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns.name }],
      },
    });
    await eventually('role binding honoured', () => asToken.request({ path: configmaps }));
    await asImpersonated.request({ path: configmaps });
    await assert.rejects(asImpersonated.request({ path: secrets }), forbidden);
  } finally {
    asToken.close();
  }
});

test('an unauthenticated request is refused', async () => {
  const anon = await tokenClient(admin, 'not-a-real-token');
  try {
    await assert.rejects(anon.request({ path: '/api/v1/namespaces' }), (err: unknown) => err instanceof KubeApiError && err.status === 401);
  } finally {
    anon.close();
  }
});
