import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { adminClient, testNamespace, type TestNamespace } from '../harness.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import { KubeApiError } from '../../src/kube/errors.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';

// The notification CRDs as the API server applies them: Flux's examples are
// accepted with Flux's defaults, and Flux's CEL rules refuse what Flux refuses
// (server-side dry run: nothing is stored).

let ns: TestNamespace;
let client: KubeClient;

before(async () => {
  client = await adminClient();
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  ns = await testNamespace('notify-validation');
});
after(async () => {
  await ns?.cleanup();
  client?.close();
});

const dryRun = (version: string, plural: string, kind: string, spec: Record<string, unknown>) =>
  client.request<KubeObject & { spec: Record<string, unknown> }>({
    method: 'POST',
    path: `/apis/notification.toolkit.fluxcd.io/${version}/namespaces/${ns.name}/${plural}`,
    query: { dryRun: 'All' },
    body: { apiVersion: `notification.toolkit.fluxcd.io/${version}`, kind, metadata: { name: 'x' }, spec },
  });
const refused = async (p: Promise<unknown>, message: RegExp) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof KubeApiError, 'refused');
  assert.match(err.message, message);
};

test('Flux\'s examples are accepted, with Flux\'s defaults', async () => {
  const alert = await dryRun('v1beta3', 'alerts', 'Alert', { providerRef: { name: 'slack' }, eventSources: [{ kind: 'Kustomization', name: '*' }] });
  assert.equal(alert.spec.eventSeverity, 'info');
  const receiver = await dryRun('v1', 'receivers', 'Receiver', { type: 'github', events: ['ping', 'push'], secretRef: { name: 'token' }, resources: [{ kind: 'GitRepository', name: 'flux-system' }] });
  assert.equal(receiver.spec.interval, '10m');
  await dryRun('v1beta3', 'providers', 'Provider', { type: 'github', address: 'https://github.com/acme/fleet', secretRef: { name: 'gh' }, commitStatusExpr: "event.metadata.summary" });
});

test('Flux\'s rules refuse what Flux refuses', async () => {
  await refused(dryRun('v1', 'receivers', 'Receiver', { type: 'github', resources: [{ kind: 'GitRepository', name: 'x' }] }), /secretRef is required when type is not generic-oidc/);
  await refused(dryRun('v1', 'receivers', 'Receiver', { type: 'generic-oidc', resources: [{ kind: 'GitRepository', name: 'x' }] }), /generic-oidc receivers must define at least one oidcProvider/);
  await refused(dryRun('v1beta3', 'providers', 'Provider', { type: 'slack', commitStatusExpr: 'x' }), /spec.commitStatusExpr is only supported/);
  await refused(dryRun('v1beta3', 'providers', 'Provider', { type: 'carrier-pigeon' }), /Unsupported value: "carrier-pigeon"/);
  await refused(dryRun('v1beta3', 'alerts', 'Alert', { providerRef: { name: 'p' }, eventSources: [{ kind: 'Deployment', name: 'x' }] }), /Unsupported value: "Deployment"/);
  await refused(dryRun('v1beta3', 'providers', 'Provider', { type: 'generic', proxy: 'socks5://x' }), /should match/);
});
