import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap } from '../gitops.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { appliedCommit } from '../../src/ui/commit.ts';

// The operator against the real control plane and a real git server: the
// GitRepository controller records the pushed commit's author and subject,
// and the fetch's duration, in status.artifact.metadata; the API server keeps
// them (the CRD's metadata is a free string map); and the dashboard's
// matching of a Kustomization's applied revision finds that commit.

let g: GitOps;
type Artifact = { revision: string; metadata?: Record<string, string> };

before(async () => {
  g = await GitOps.start('commit-details');
});
after(async () => {
  await g?.close();
});

async function artifact(): Promise<Artifact | undefined> {
  return (await g.client.request<KubeObject & { status?: { artifact?: Artifact } }>({ path: g.gitPath() })).status?.artifact;
}

test("the applied revision's commit: author and subject from the pushed commit, and the fetch duration", async () => {
  const rev1 = await g.push({ 'apps/cm.yaml': configMap('one', { v: '1' }) }, 'Add config map one\n\nwith a body');
  await g.createGitRepository('app', { interval: '1h' });
  await g.createKustomization('apps', { path: './apps', targetNamespace: g.ns.name });
  await g.untilReady('apps', rev1);
  const a1 = (await artifact())!;
  assert.equal(a1.revision, rev1);
  assert.equal(a1.metadata?.['sluice.dev/commit-author'], 'Test Author <author@example.com>');
  assert.equal(a1.metadata?.['sluice.dev/commit-subject'], 'Add config map one');
  assert.match(a1.metadata?.['sluice.dev/commit-date'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(a1.metadata?.['sluice.dev/fetch-duration'] ?? '', /^\d+\.\d\ds$/);
  const ks = await g.ks('apps');
  assert.deepEqual(appliedCommit(ks.status?.lastAppliedRevision, a1), {
    revision: rev1,
    author: 'Test Author <author@example.com>',
    date: a1.metadata!['sluice.dev/commit-date'],
    subject: 'Add config map one',
  });

  // A new commit: the artifact's metadata follows it.
  const rev2 = await g.pushAndFetch({ 'apps/cm.yaml': configMap('one', { v: '2' }) }, 'Bump config map one');
  await g.untilReady('apps', rev2);
  const a2 = (await artifact())!;
  assert.equal(a2.revision, rev2);
  assert.equal(a2.metadata?.['sluice.dev/commit-subject'], 'Bump config map one');
  assert.match(a2.metadata?.['sluice.dev/fetch-duration'] ?? '', /^\d+\.\d\ds$/);
  // The first artifact's commit is no longer the source's: matched against it, nothing is shown.
  assert.deepEqual(appliedCommit(rev1, a2), { unavailable: "the source's artifact is another revision" });
});
