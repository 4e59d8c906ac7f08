import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, ready, type KsStatus } from '../gitops.ts';
import { installTestKind, type TestKind } from '../customresource.ts';
import { closeAll } from '../cleanup.ts';

// CEL expressions of Flux 2.9 on the real control plane: spec.healthCheckExprs
// judging a custom resource of the test's own kind (status.state, no
// conditions: kstatus alone would call it Current at once), an expression
// that does not compile, and dependsOn[].readyExpr.

let g: GitOps;
let gadget: TestKind;

before(async () => {
  g = await GitOps.start('ks-cel');
  gadget = await installTestKind(g.client, 'Gadget');
  await g.push({ 'README.md': 'cel tests' }, 'init');
  await g.createGitRepository();
});
after(async () => {
  await closeAll(gadget && (() => gadget.uninstall(g.client)), g && (() => g.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cond = (s: KsStatus, type: string) => s.conditions?.find((c) => c.type === type);

const exprs = () => [
  {
    apiVersion: gadget.apiVersion,
    kind: gadget.kind,
    inProgress: "status.?state.orValue('') == 'Provisioning'",
    failed: "status.state == 'Broken'",
    current: "status.state == 'Online' && status.observedGeneration == metadata.generation",
  },
];

describe('healthCheckExprs', () => {
  test('a Kustomization is Ready only when the custom resource says so by its status', async () => {
    const rev = await g.pushAndFetch({ 'gadget/g.yaml': gadget.manifest('g1') });
    await g.createKustomization('gadgets', { path: './gadget', targetNamespace: g.ns.name, wait: true, timeout: '2m', healthCheckExprs: exprs() });
    // Applied, and waiting: without status the expressions cannot be evaluated (Unknown), then Provisioning.
    const waiting = await g.untilKs('gadgets', 'waiting on the gadget', (s) => s.lastAttemptedRevision === rev && cond(s, 'Ready')?.status === 'Unknown');
    assert.equal(cond(waiting, 'Ready')?.reason, 'Progressing');
    assert.ok(await g.get(gadget.path(g.ns.name, 'g1')), 'the gadget was applied');
    await gadget.setStatus(g.client, g.ns.name, 'g1', { state: 'Provisioning' });
    await sleep(3_000);
    const still = (await g.ks('gadgets')).status!;
    assert.notEqual(cond(still, 'Ready')?.status, 'True', 'not Ready while the gadget is provisioning');
    assert.equal(still.lastAppliedRevision, undefined);

    await gadget.setStatus(g.client, g.ns.name, 'g1', { state: 'Online' });
    const s = await g.untilReady('gadgets', rev);
    assert.equal(cond(s, 'Healthy')?.status, 'True');
    assert.equal(cond(s, 'Ready')?.message, `Applied revision: ${rev}`);
  });

  test('the failed expression fails the health check at once, long before the timeout', async () => {
    const rev = await g.pushAndFetch({ 'broken/g.yaml': gadget.manifest('g2') });
    const t0 = Date.now();
    await g.createKustomization('broken', { path: './broken', targetNamespace: g.ns.name, healthChecks: [{ apiVersion: gadget.apiVersion, kind: gadget.kind, name: 'g2' }], timeout: '5m', healthCheckExprs: exprs() });
    await g.untilKs('broken', 'waiting', (s) => s.lastAttemptedRevision === rev);
    await gadget.setStatus(g.client, g.ns.name, 'g2', { state: 'Broken' });
    const s = await g.untilKs('broken', 'health check failed', (st) => cond(st, 'Ready')?.reason === 'HealthCheckFailed');
    assert.ok(Date.now() - t0 < 60_000, 'failed fast, not at the 5m timeout');
    assert.equal(cond(s, 'Healthy')?.status, 'False');
    assert.match(cond(s, 'Ready')!.message, new RegExp(`failed: \\[Gadget/${g.ns.name}/g2 status: 'Failed': Gadget has failed: the failed expression 'status.state == 'Broken'' is true\\]`));

    // The resource recovers: the next attempt passes.
    await gadget.setStatus(g.client, g.ns.name, 'g2', { state: 'Online' });
    await g.requestReconcile(g.ksPath('broken'));
    await g.untilReady('broken', rev);
  });

  test('an expression that does not compile stalls the Kustomization before anything is applied', async () => {
    const rev = await g.pushAndFetch({ 'invalid/g.yaml': gadget.manifest('g3'), 'invalid/cm.yaml': configMap('beside-g3', { a: '1' }) });
    const bad = [{ apiVersion: gadget.apiVersion, kind: gadget.kind, current: "status.state == 'Online'", failed: 'status.state ==' }];
    await g.createKustomization('invalid', { path: './invalid', targetNamespace: g.ns.name, wait: true, healthCheckExprs: bad });
    const s = await g.untilKs('invalid', 'stalled', (st) => cond(st, 'Stalled')?.status === 'True');
    assert.equal(ready(s)?.status, 'False');
    assert.equal(ready(s)?.reason, 'InvalidCELExpression');
    assert.equal(cond(s, 'Stalled')?.reason, 'InvalidCELExpression');
    assert.match(
      ready(s)!.message,
      /^Reconciliation failed terminally due to configuration error: failed to create custom status evaluator for healthCheckExprs\[0\]: failed to parse the expression Failed: failed to parse the CEL expression 'status\.state ==': /,
    );
    assert.equal(cond(s, 'Reconciling'), undefined);
    assert.equal(s.lastAttemptedRevision, undefined, 'stopped before the source was even looked at');
    assert.equal(await g.get(g.path('configmaps', 'beside-g3')), undefined, 'nothing applied');
    const events = await g.client.request<{ items: Array<{ reason: string; type: string; involvedObject: { name: string } }> }>({ path: `/api/v1/namespaces/${g.ns.name}/events` });
    assert.ok(events.items.some((e) => e.involvedObject.name === 'invalid' && e.reason === 'InvalidCELExpression' && e.type === 'Warning'));

    // Fixing the expression is a new generation: it reconciles.
    await g.patchKs('invalid', { spec: { healthCheckExprs: exprs() } });
    await g.untilKs('invalid', 'applied', (st) => st.lastAttemptedRevision === rev && cond(st, 'Stalled') === undefined);
    await gadget.setStatus(g.client, g.ns.name, 'g3', { state: 'Online' });
    await g.untilReady('invalid', rev);
    assert.ok(await g.get(g.path('configmaps', 'beside-g3')));
  });
});

describe('dependsOn readyExpr', () => {
  test('a readyExpr replaces the Ready check: it can hold back a Ready dependency and release on a change of its own', async () => {
    const rev = await g.pushAndFetch({ 'base/cm.yaml': configMap('base-settings', { a: '1' }), 'consumer/cm.yaml': configMap('consumer-settings', { b: '2' }) });
    await g.createKustomization('base', { path: './base', targetNamespace: g.ns.name });
    await g.untilReady('base', rev);
    await g.create(
      'kustomize.toolkit.fluxcd.io/v1',
      'Kustomization',
      'kustomizations',
      'consumer',
      {
        interval: '1h',
        prune: true,
        sourceRef: { kind: 'GitRepository', name: 'app' },
        path: './consumer',
        targetNamespace: g.ns.name,
        dependsOn: [{ name: 'base', readyExpr: "dep.metadata.?labels.orValue({}).?stage.orValue('') == self.metadata.annotations['example.com/wants-stage']" }],
      },
      { annotations: { 'example.com/wants-stage': 'promoted' } },
    );
    const waiting = await g.untilKs('consumer', 'waiting on the readyExpr', (s) => ready(s)?.reason === 'DependencyNotReady');
    assert.match(ready(waiting)!.message, new RegExp(`dependency '${g.ns.name}/base' is not ready according to readyExpr eval`));
    await sleep(2_000);
    assert.equal(await g.get(g.path('configmaps', 'consumer-settings')), undefined, 'held back though base is Ready');

    // Labelling base (no change to its Ready condition) is what releases the consumer.
    await g.client.request({ method: 'PATCH', path: g.ksPath('base'), contentType: 'application/merge-patch+json', body: { metadata: { labels: { stage: 'promoted' } } } });
    await g.untilReady('consumer', rev);
    assert.ok(await g.get(g.path('configmaps', 'consumer-settings')));
  });

  test('a readyExpr that holds lets a dependent through while the dependency is not Ready', async () => {
    const rev = await g.pushAndFetch({ 'after-broken/cm.yaml': configMap('after-broken', { c: '3' }) });
    await g.createKustomization('never-ready', { path: './does-not-exist', targetNamespace: g.ns.name });
    await g.untilKs('never-ready', 'failed', (s) => ready(s)?.status === 'False');
    await g.createKustomization('tolerant', {
      path: './after-broken',
      targetNamespace: g.ns.name,
      dependsOn: [{ name: 'never-ready', readyExpr: "dep.status.conditions.exists(c, c.type == 'Ready')" }],
    });
    await g.untilReady('tolerant', rev);
    assert.equal(ready((await g.ks('never-ready')).status!)?.status, 'False');
  });

  test('a readyExpr that does not type-check as bool stalls the dependent', async () => {
    await g.createKustomization('typed', { path: './base', targetNamespace: g.ns.name, dependsOn: [{ name: 'base', readyExpr: 'dep.status.lastAppliedRevision' }] });
    const s = await g.untilKs('typed', 'stalled', (st) => cond(st, 'Stalled')?.status === 'True');
    assert.equal(ready(s)?.reason, 'InvalidCELExpression');
    assert.equal(
      ready(s)!.message,
      'Reconciliation failed terminally due to configuration error: failed to evaluate dependency base: CEL expression output type mismatch: expected bool, got dyn',
    );
  });
});
