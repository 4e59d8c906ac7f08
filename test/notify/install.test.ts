import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installManifests } from '../../src/install/manifests.ts';
// test: no cluster

// `sluice install` carries the notification kinds, the RBAC they need and a
// Service for the webhook receiver's port.

const objs = installManifests({ namespace: 'sluice-system', image: 'sluice@sha256:x', replicas: 1, multiTenant: false, version: 'test' });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const find = (kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name) as any;

test('the three CRDs with Flux\'s names, versions and categories', () => {
  for (const [name, version] of [['providers', 'v1beta3'], ['alerts', 'v1beta3'], ['receivers', 'v1']] as const) {
    const crd = find('CustomResourceDefinition', `${name}.notification.toolkit.fluxcd.io`);
    assert.ok(crd, name);
    assert.deepEqual(crd.spec.versions.map((v: { name: string }) => v.name), [version]);
    assert.deepEqual(crd.spec.names.categories, ['all', 'fluxcd', 'fluxcd-notifications']);
    assert.deepEqual(crd.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name), ['Age', 'Ready', 'Status']);
  }
});

test('RBAC: notification objects read, their status written', () => {
  const rules = objs.find((o) => o.kind === 'ClusterRole' && o.metadata.name!.startsWith('sluice-controller'))!.rules as Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
  const ng = rules.filter((r) => r.apiGroups.includes('notification.toolkit.fluxcd.io'));
  assert.deepEqual(ng.find((r) => r.resources.includes('receivers'))!.verbs, ['get', 'list', 'watch', 'patch']);
  assert.ok(ng.find((r) => r.resources.includes('alerts/status'))!.verbs.includes('patch'));
});

test('the receiver Service reaches the port the controller serves webhooks on', () => {
  const svc = find('Service', 'sluice-webhook-receiver');
  const deploy = find('Deployment', 'sluice-controller');
  const c = deploy.spec.template.spec.containers[0];
  const port = c.ports.find((p: { name: string }) => p.name === svc.spec.ports[0].targetPort);
  assert.equal(port.containerPort, 9292);
  assert.ok(c.args.includes('--receiverAddr=0.0.0.0:9292'));
  assert.deepEqual(svc.spec.selector, deploy.spec.selector.matchLabels);
});
