import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { GitOps, configMap, ready } from '../gitops.ts';
import { closeAll } from '../cleanup.ts';

// One hostile file in a monorepo: a symlink out of the repository in one
// application's folder. The source leaves it out and serves the rest (a
// Warning event says what); the Kustomization on that folder fails naming
// the file and why, the one on the other folder applies as usual.

let g: GitOps;

before(async () => {
  g = await GitOps.start('monorepo-link');
});

after(async () => {
  await closeAll(g && (() => g.close()));
});

test('a symlink out of the repository fails only the Kustomization whose path holds it, naming it', async () => {
  const rev = await g.push({
    'apps-a/cm.yaml': configMap('app-a', { team: 'a' }),
    'apps-b/cm.yaml': configMap('app-b', { team: 'b' }),
    'apps-b/secrets.yaml': { symlink: '/etc/passwd' },
  });
  await g.createGitRepository();
  await g.createKustomization('a', { path: './apps-a', targetNamespace: g.ns.name });
  await g.createKustomization('b', { path: './apps-b', targetNamespace: g.ns.name });
  await g.untilReady('a', rev, 60_000);
  const b = await g.untilKs('b', 'failed', (s) => ready(s)?.reason === 'BuildFailed', 60_000);
  assert.equal(
    ready(b)!.message,
    "'apps-b/secrets.yaml' was left out of the source artifact, so ./apps-b cannot be built as committed: symlink 'apps-b/secrets.yaml' points outside the source root (absolute target '/etc/passwd')",
  );
  assert.equal((await g.client.getOrUndefined<{ data: Record<string, string> }>(g.path('configmaps', 'app-a')))?.data.team, 'a');
  assert.equal(await g.client.getOrUndefined(g.path('configmaps', 'app-b')), undefined, 'nothing of the failed path applied');
  const events = await g.client.request<{ items: Array<{ reason: string; type: string; message: string; involvedObject: { kind: string } }> }>({ path: `/api/v1/namespaces/${g.ns.name}/events` });
  assert.ok(events.items.some((e) => e.involvedObject.kind === 'GitRepository' && e.type === 'Warning' && e.reason === 'ArtifactContentSkipped' && e.message.includes("'apps-b/secrets.yaml'")));

  // Removing the link in Git repairs the failed one.
  const fixed = await g.pushAndFetch({ 'apps-b/secrets.yaml': null });
  await g.untilReady('b', fixed, 60_000);
  assert.equal((await g.client.getOrUndefined<{ data: Record<string, string> }>(g.path('configmaps', 'app-b')))?.data.team, 'b');
});
