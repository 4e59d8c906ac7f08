import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, deployment, ready, type KsStatus } from '../gitops.ts';
import { eventually } from '../harness.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { parseRecord, recordPath } from '../../src/controllers/kustomization/recordstore.ts';

// Issue 17: a Kustomization with `sluice.dev/rollback: auto` whose new
// revision fails its health checks runs its last healthy revision again,
// built from the Git mirror; without the annotation it behaves as Flux.

let g: GitOps;

before(async () => {
  g = await GitOps.start('rollback');
  await g.push({ 'README.md': 'rollback' }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
});
after(async () => {
  // While the operator still runs: its finalizers would otherwise keep the namespace (a failed test skips its own clean-up).
  for (const name of ['child', 'auto', 'plain', 'race', 'imm']) if (g) await deleteKs(name).catch(() => {});
  await g?.close();
});

/** A Deployment that never becomes Available: no node matches, and its progress deadline is short. */
const broken = (name: string) =>
  deployment(name, { image: `example.invalid/${name}:2`, extraSpec: '  progressDeadlineSeconds: 2\n', podSpec: "      nodeSelector: {sluice.test/none: 'true'}\n" });

type Deploy = KubeObject & { spec: { template: { spec: { nodeSelector?: Record<string, string>; containers: Array<{ image: string }> } } } };

async function createKs(name: string, path: string, auto: boolean, extra: Record<string, unknown> = {}): Promise<void> {
  await g.create(
    'kustomize.toolkit.fluxcd.io/v1',
    'Kustomization',
    'kustomizations',
    name,
    { interval: '2s', prune: true, sourceRef: { kind: 'GitRepository', name: 'app' }, path, targetNamespace: g.ns.name, wait: true, timeout: '30s', ...extra },
    auto ? { annotations: { 'sluice.dev/rollback': 'auto' } } : {},
  );
}

async function deleteKs(name: string): Promise<void> {
  await g.client.request({ method: 'DELETE', path: g.ksPath(name) }).catch(() => {});
  await eventually(`Kustomization ${name} gone`, async () => ((await g.client.getOrUndefined(g.ksPath(name))) ? undefined : true), 30_000);
}

async function events(name: string): Promise<Array<{ type: string; reason: string; message: string }>> {
  const list = await g.client.request<{ items: Array<{ type: string; reason: string; message: string; involvedObject: { name: string; kind: string } }> }>({
    path: `/api/v1/namespaces/${g.ns.name}/events`,
  });
  return list.items.filter((e) => e.involvedObject.kind === 'Kustomization' && e.involvedObject.name === name);
}

const record = async (name: string) => parseRecord(await g.get(recordPath(g.ns.name, name)));

test('auto: a revision whose Deployment never becomes Available is rolled back from the mirror; not retried; the next good commit deploys', async () => {
  const good = await g.pushAndFetch({ 'auto/web.yaml': deployment('web'), 'auto/keep.yaml': configMap('keep', { a: '1' }), 'child/cm.yaml': configMap('child', { c: '1' }) });
  await createKs('auto', './auto', true);
  await g.createKustomization('child', { path: './child', targetNamespace: g.ns.name, dependsOn: [{ name: 'auto' }], interval: '1h', prune: true });
  await g.untilReady('auto', good, 60_000);
  await g.untilReady('child', good, 30_000);

  // The bad commit changes the Deployment, adds a ConfigMap and removes one.
  const bad = await g.pushAndFetch({ 'auto/web.yaml': broken('web'), 'auto/keep.yaml': null, 'auto/only-bad.yaml': configMap('only-bad', { b: '2' }) });
  const s = await g.untilKs('auto', 'rolled back', (st) => ready(st)?.reason === 'RolledBack', 90_000);
  assert.equal(ready(s)!.status, 'False');
  assert.equal(s.lastAppliedRevision, good, 'lastAppliedRevision is the healthy one');
  assert.equal(s.lastAttemptedRevision, bad, 'lastAttemptedRevision is the failed one');
  const msg = ready(s)!.message;
  assert.ok(msg.includes(bad) && msg.includes(good), msg);
  assert.match(msg, new RegExp(`Deployment/${g.ns.name}/web`), 'names the unhealthy object');
  assert.equal(s.conditions!.find((c) => c.type === 'RolledBack')?.status, 'True');

  // The cluster is the healthy revision again.
  const dep = (await g.get<Deploy>(g.path('deployments', 'web')))!;
  assert.equal(dep.spec.template.spec.nodeSelector, undefined, 'the old template is back');
  assert.equal(dep.spec.template.spec.containers[0]!.image, 'example.invalid/web:1');
  assert.equal(await g.get(g.path('configmaps', 'only-bad')), undefined, 'what only the bad revision added is pruned');
  assert.ok(await g.get(g.path('configmaps', 'keep')), 'what the bad revision pruned is back');
  const ev = await events('auto');
  assert.ok(ev.some((e) => e.type === 'Warning' && e.reason === 'RolledBack' && e.message.includes(bad)), JSON.stringify(ev));
  const r = await record('auto');
  assert.equal(r.rollback?.phase, 'done');
  assert.equal(r.entries[0]!.trigger, 'rollback');
  assert.equal(r.entries[1]!.revision, bad);
  assert.ok(r.entries[1]!.failed && r.entries[1]!.reason, 'the failed revision is recorded with its reason');

  // A dependent waits, as for a dependency that is not Ready.
  await g.requestReconcile(g.ksPath('child'));
  await g.untilKs('child', 'waiting on its dependency', (st) => ready(st)?.reason === 'DependencyNotReady');

  // No flapping: several intervals later the failed revision was not tried again.
  const rv = (await g.ks('auto')).metadata.resourceVersion;
  await new Promise((res) => setTimeout(res, 7_000));
  const after = await g.ks('auto');
  assert.equal(after.metadata.resourceVersion, rv, 'no status write while held');
  assert.equal((await g.get<Deploy>(g.path('deployments', 'web')))!.spec.template.spec.nodeSelector, undefined);
  assert.equal((await record('auto')).entries.length, r.entries.length, 'nothing applied again');

  // The next good commit deploys normally.
  const fixed = await g.pushAndFetch({ 'auto/web.yaml': deployment('web', { image: 'example.invalid/web:3' }) });
  const s3 = await g.untilReady('auto', fixed, 60_000);
  assert.equal(s3.conditions!.find((c) => c.type === 'RolledBack'), undefined);
  assert.equal((await g.get<Deploy>(g.path('deployments', 'web')))!.spec.template.spec.containers[0]!.image, 'example.invalid/web:3');
  assert.equal((await record('auto')).rollback, undefined);
  await deleteKs('child');
  await deleteKs('auto');
});

test('without the annotation a failing revision is not rolled back (Flux behaviour)', async () => {
  const good = await g.pushAndFetch({ 'plain/web.yaml': deployment('plain') });
  await createKs('plain', './plain', false);
  await g.untilReady('plain', good, 60_000);
  const bad = await g.pushAndFetch({ 'plain/web.yaml': broken('plain'), 'plain/extra.yaml': configMap('plain-extra', { x: '1' }) });
  const s = await g.untilKs('plain', 'health check failed', (st) => st.lastAttemptedRevision === bad && ready(st)?.reason === 'HealthCheckFailed', 60_000);
  assert.equal(s.lastAppliedRevision, good);
  assert.equal(s.conditions!.find((c) => c.type === 'RolledBack'), undefined);
  assert.deepEqual((await g.get<Deploy>(g.path('deployments', 'plain')))!.spec.template.spec.nodeSelector, { 'sluice.test/none': 'true' });
  assert.ok(await g.get(g.path('configmaps', 'plain-extra')), 'the failed revision stays applied');
  await deleteKs('plain');
});

test('a new commit racing the rollback wins: its revision is applied and the bad objects are gone', async () => {
  const good = await g.pushAndFetch({ 'race/web.yaml': deployment('race') });
  await createKs('race', './race', true);
  await g.untilReady('race', good, 60_000);
  const bad = await g.pushAndFetch({ 'race/web.yaml': broken('race'), 'race/bad.yaml': configMap('race-bad', { x: '1' }) });
  await g.untilKs('race', 'attempting the bad revision', (st) => st.lastAttemptedRevision === bad, 30_000);
  const next = await g.pushAndFetch({ 'race/web.yaml': deployment('race', { image: 'example.invalid/race:3' }), 'race/bad.yaml': null });
  const s = await g.untilReady('race', next, 90_000);
  assert.equal(s.lastAttemptedRevision, next);
  assert.equal(await g.get(g.path('configmaps', 'race-bad')), undefined);
  assert.equal((await g.get<Deploy>(g.path('deployments', 'race')))!.spec.template.spec.containers[0]!.image, 'example.invalid/race:3');
  await deleteKs('race');
});

test('a rollback that fails (an immutable field) stops and says so; it never loops', async () => {
  const good = await g.pushAndFetch({ 'imm/cm.yaml': configMap('frozen', { a: '1' }), 'imm/web.yaml': deployment('imm') });
  await createKs('imm', './imm', true);
  await g.untilReady('imm', good, 60_000);
  // The bad revision makes the ConfigMap immutable, which no apply can undo.
  const bad = await g.pushAndFetch({ 'imm/cm.yaml': configMap('frozen', { a: '1' }, 'immutable: true\n'), 'imm/web.yaml': broken('imm') });
  const s = await g.untilKs('imm', 'rollback failed', (st) => ready(st)?.reason === 'RollbackFailed', 90_000);
  assert.equal(s.lastAttemptedRevision, bad);
  assert.match(ready(s)!.message, /Rollback of .* failed: .*frozen/s);
  assert.equal(s.conditions!.find((c) => c.type === 'Stalled')?.status, 'True');
  const r = await record('imm');
  assert.equal(r.rollback?.phase, 'failed');
  const before = await g.ks('imm');
  const count = (await events('imm')).length;
  await new Promise((res) => setTimeout(res, 6_000));
  const later = await g.ks('imm');
  // Never a loop: the same verdict, not re-made (its transition time stands), nothing applied or reported again.
  const why = `${JSON.stringify(before.status)}\n${JSON.stringify(later.status)}\n${JSON.stringify(await events('imm'))}`;
  assert.deepEqual(ready(later.status!), ready(before.status!), why);
  assert.equal(later.status!.lastAttemptedRevision, bad, why);
  assert.equal((await events('imm')).length, count, 'no new events');
  assert.deepEqual((await record('imm')).entries, r.entries);
  await deleteKs('imm');
});

export type { KsStatus };
