import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { eventually } from '../harness.ts';
import { closeAll } from '../cleanup.ts';
import { installTestKind, type TestKind } from '../customresource.ts';
import { listReleases } from './helmcli/status.ts';
import { clusterTarget, cond, createObject, hrPath, readyAt, startHelmFixture, testHelm, untilHR, writeChart, type HelmFixture } from './helpers.ts';

// CEL expressions on HelmReleases, on the real control plane: a chart that
// renders a custom resource of the test's own kind (health in status.state,
// no conditions), spec.healthCheckExprs deciding when the install's wait is
// over or has failed, an expression that does not compile, and a
// dependsOn[].readyExpr.

let f: HelmFixture;
let widget: TestKind;

before(async () => {
  f = await startHelmFixture('hr-cel');
  widget = await installTestKind(f.client, 'Widget');
  // A chart with one Widget named after the release, published beside the web chart.
  await f.repo.publish(
    await writeChart(join(f.work, 'gizmo'), {
      'Chart.yaml': 'apiVersion: v2\nname: gizmo\nversion: 0.1.0\n',
      'templates/widget.yaml': `apiVersion: ${widget.apiVersion}\nkind: ${widget.kind}\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  size: 1\n`,
    }),
  );
  // The HelmRepository fetched its index before gizmo was published: fetch it again.
  await f.client.request({
    method: 'PATCH',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${f.ns.name}/helmrepositories/charts`,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
});

after(async () => {
  await closeAll(f && (() => f.close()), widget && (() => widget.uninstall(f.client)));
});

const hrs = () => `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${f.ns.name}/helmreleases`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const exprs = () => [
  {
    apiVersion: widget.apiVersion,
    kind: widget.kind,
    failed: "status.?state.orValue('') == 'Broken'",
    current: "status.?state.orValue('') == 'Online'",
  },
];
const gizmo = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'helm.toolkit.fluxcd.io/v2',
  kind: 'HelmRelease',
  metadata: { name },
  spec: {
    interval: '1h',
    chart: { spec: { chart: 'gizmo', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
    install: { timeout: '3m' },
    healthCheckExprs: exprs(),
    ...spec,
  },
});

async function widgetAppears(name: string): Promise<void> {
  await eventually(`Widget ${name} created by helm`, async () => ((await f.client.getOrUndefined(widget.path(f.ns.name, name))) ? true : undefined), 90_000);
}

test('the install waits until the custom resource is Online by its expressions', async () => {
  await createObject(f.client, hrs(), gizmo('online'));
  await widgetAppears('online');
  // No status at all: kstatus would call it Current; the expressions keep the release waiting.
  await sleep(3_000);
  const waiting = await untilHR(f.client, f.ns.name, 'online', 'installing', (s) => s.lastAttemptedReleaseAction === 'install');
  assert.notEqual(cond(waiting, 'Ready')?.status, 'True');
  assert.equal(waiting.history, undefined, 'no successful release recorded while waiting');

  await widget.setStatus(f.client, f.ns.name, 'online', { state: 'Online' });
  const s = await untilHR(f.client, f.ns.name, 'online', 'installed', readyAt(1));
  assert.equal(cond(s, 'Released')?.reason, 'InstallSucceeded');
});

test('the failed expression fails the install at once, and Helm records the release as failed', async () => {
  const t0 = Date.now();
  await createObject(f.client, hrs(), gizmo('broken'));
  await widgetAppears('broken');
  await widget.setStatus(f.client, f.ns.name, 'broken', { state: 'Broken' });
  const s = await untilHR(f.client, f.ns.name, 'broken', 'install failed', (x) => cond(x, 'Released')?.reason === 'InstallFailed');
  assert.ok(Date.now() - t0 < 90_000, 'failed on the expression, not at the 3m timeout');
  assert.match(cond(s, 'Released')!.message, new RegExp(`Widget/${f.ns.name}/broken status: 'Failed': Widget has failed: the failed expression`));
  const rel = (await listReleases(await testHelm(), await clusterTarget(), f.ns.name)).find((r) => r.name === 'broken');
  assert.equal(rel?.status, 'failed');
});

test('an expression that does not compile stalls the HelmRelease before any Helm action', async () => {
  await createObject(f.client, hrs(), gizmo('invalid', { healthCheckExprs: [{ apiVersion: widget.apiVersion, kind: widget.kind, current: 'status.state = "Online"' }] }));
  const s = await untilHR(f.client, f.ns.name, 'invalid', 'stalled', (x) => cond(x, 'Stalled')?.status === 'True');
  assert.equal(cond(s, 'Ready')?.reason, 'InvalidCELExpression');
  assert.match(
    cond(s, 'Ready')!.message,
    /^Reconciliation failed terminally due to configuration error: failed to create custom status evaluator for healthCheckExprs\[0\]: failed to parse the expression Current: failed to parse the CEL expression 'status\.state = "Online"': /,
  );
  assert.equal(s.lastAttemptedReleaseAction, undefined, 'no Helm action was attempted');
  assert.ok(!(await listReleases(await testHelm(), await clusterTarget(), f.ns.name)).some((r) => r.name === 'invalid'));
});

test('a readyExpr on a HelmRelease dependency replaces its Ready check', async () => {
  // The dependency never becomes Ready (its widget never reports), but the expression only asks that it was attempted.
  await createObject(f.client, hrs(), gizmo('slow'));
  await widgetAppears('slow');
  await createObject(f.client, hrs(), {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'after-slow' },
    spec: {
      interval: '1h',
      chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } },
      dependsOn: [{ name: 'slow', readyExpr: "dep.status.?lastAttemptedReleaseAction.orValue('') == 'install'" }],
    },
  });
  await untilHR(f.client, f.ns.name, 'after-slow', 'installed though its dependency is not Ready', readyAt(1));
  const slow = await untilHR(f.client, f.ns.name, 'slow', 'still waiting', () => true);
  assert.notEqual(cond(slow, 'Ready')?.status, 'True');
  // Let it finish, so the namespace's clean-up does not wait on its install.
  await widget.setStatus(f.client, f.ns.name, 'slow', { state: 'Online' });
  await untilHR(f.client, f.ns.name, 'slow', 'installed', readyAt(1));
});
