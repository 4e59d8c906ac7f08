import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap } from '../gitops.ts';
import { REQUESTED_AT } from '../../src/api/annotations.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { sluice } from './sluice.ts';
import { closeAll } from '../cleanup.ts';
import { eventually } from '../harness.ts';

// `sluice reconcile` and `sluice resume` against the real operator (in this
// process), so lastHandledReconcileAt is set by the controller.

let g: GitOps;
let first: string;

before(async () => {
  g = await GitOps.start('cli-reconcile');
  first = await g.push({ 'app/cm.yaml': configMap('cli', { v: '1' }) }, 'init');
  await g.createGitRepository('app', { interval: '1h' });
  await g.createKustomization('app', { path: './app', targetNamespace: g.ns.name, interval: '1h' });
  await g.untilReady('app', first);
});
after(async () => {
  // The Kustomizations carry the operator's finalizer: delete them while it
  // still runs, so the namespace does not stay Terminating after close().
  await closeAll(g && (() => deleteAndWait(['app', 'broken'])), g && (() => g.close()));
});

async function deleteAndWait(names: string[]): Promise<void> {
  for (const n of names) await g.client.request({ method: 'DELETE', path: g.ksPath(n) }).catch(() => {});
  await eventually('the Kustomizations gone', async () => ((await Promise.all(names.map((n) => g.get(g.ksPath(n))))).every((o) => !o) ? true : undefined), 30_000);
}

test('reconcile ks --with-source fetches the new commit first, then applies it', async () => {
  const next = await g.push({ 'app/cm.yaml': configMap('cli', { v: '2' }) }, 'second');
  // The source's interval is an hour: only --with-source brings the commit in.
  const r = await sluice(['reconcile', 'ks', 'app', '-n', g.ns.name, '--with-source', '--timeout', '60s']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`✔ fetched revision ${next.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.stdout, new RegExp(`✔ applied revision ${next}$`, 'm'));
  assert.match(r.stderr, /annotating GitRepository app/);
  assert.match(r.stderr, /annotating Kustomization app/);
  const ks = await g.ks('app');
  assert.equal(ks.status?.lastAppliedRevision, next);
  assert.equal((ks.status as { lastHandledReconcileAt?: string }).lastHandledReconcileAt, ks.metadata.annotations?.[REQUESTED_AT]);
  const cm = await g.get<KubeObject & { data: Record<string, string> }>(g.path('configmaps', 'cli'));
  assert.equal(cm?.data.v, '2');

  const src = await sluice(['reconcile', 'source', 'git', 'app', '-n', g.ns.name]);
  assert.equal(src.code, 0, src.stderr);
  assert.match(src.stdout, /✔ fetched revision main@sha1:/);
});

test('reconcile exits 1 with the failure message, and 1 on a missing object', async () => {
  await g.createKustomization('broken', { path: './nowhere', interval: '1h' });
  await g.untilKs('broken', 'failed', (s) => s.conditions?.some((c) => c.type === 'Ready' && c.status === 'False') ?? false);
  const r = await sluice(['reconcile', 'ks', 'broken', '-n', g.ns.name, '--timeout', '60s']);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /✗ .*nowhere/);

  const missing = await sluice(['reconcile', 'hr', 'nope', '-n', g.ns.name]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /HelmRelease "nope" not found/);

  const badFlag = await sluice(['reconcile', 'ks', 'app', '-n', g.ns.name, '--force']);
  assert.equal(badFlag.code, 2);
});

test('suspend, then resume waits for the reconcile it asks for', async () => {
  const s = await sluice(['suspend', 'ks', 'app', '-n', g.ns.name]);
  assert.equal(s.code, 0, s.stderr);
  const next = await g.pushAndFetch({ 'app/cm.yaml': configMap('cli', { v: '3' }) }, 'third');
  const r = await sluice(['resume', 'ks', 'app', '-n', g.ns.name, '--timeout', '60s']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`✔ applied revision ${next}$`, 'm'));
  const ks = await g.ks('app');
  assert.equal(ks.spec?.suspend, false);
  assert.equal(ks.status?.lastAppliedRevision, next);
});
