import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { GitOps, configMap, ready } from '../gitops.ts';
import { TestRepo } from '../gitserver/index.ts';
import { closeAll } from '../cleanup.ts';

// Remote kustomize bases, as Flux has them: fetched by kustomize by default,
// refused with the controller's --no-remote-bases. The remote base is a
// second repository on the same loopback git server. A remote base can move
// while the artifact stays the same, so such a build is made anew on each
// reconcile, never taken from the build cache.

let g: GitOps;
let off: GitOps;
let base: TestRepo;

const kustomization = (url: string) => `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${url}//deploy?ref=main
`;

before(async () => {
  g = await GitOps.start('remote-bases');
  off = await GitOps.start('no-remote-bases', { noRemoteBases: true });
  base = await TestRepo.create(dirname(g.repo.bare), 'base', { defaultBranch: 'main' });
  await base.commitFiles({ 'deploy/kustomization.yaml': 'resources:\n  - cm.yaml\n', 'deploy/cm.yaml': configMap('from-base', { version: '1' }) }, 'base v1');
  await base.push();
});

after(async () => {
  await closeAll(g && (() => g.close()), off && (() => off.close()), base && (() => base.dispose()));
});

test('a remote base is fetched by default, and fetched anew when it moves', async () => {
  const rev = await g.push({ 'app/kustomization.yaml': kustomization(g.server.url('base')) });
  await g.createGitRepository();
  // A short interval and no reconcile request: a request would be a new build-cache key by itself.
  await g.createKustomization('app', { path: './app', targetNamespace: g.ns.name, interval: '2s' });
  await g.untilReady('app', rev, 60_000);
  const cm = () => g.client.getOrUndefined<{ data: Record<string, string> }>(g.path('configmaps', 'from-base'));
  assert.equal((await cm())?.data.version, '1');

  // Only the base moves: the artifact (and so the build cache key) stays the same.
  await base.commitFiles({ 'deploy/cm.yaml': configMap('from-base', { version: '2' }) }, 'base v2');
  await base.push();
  const start = Date.now();
  for (;;) {
    if ((await cm())?.data.version === '2') break;
    assert.ok(Date.now() - start < 60_000, 'the base change reached the cluster');
    await new Promise((r) => setTimeout(r, 300));
  }
});

test('with --no-remote-bases the build fails, naming the base and the flag', async () => {
  await off.push({ 'app/kustomization.yaml': kustomization(g.server.url('base')) });
  await off.createGitRepository();
  await off.createKustomization('app', { path: './app', targetNamespace: off.ns.name });
  const s = await off.untilKs('app', 'build failed', (x) => ready(x)?.reason === 'BuildFailed', 60_000);
  assert.match(ready(s)!.message, /app\/kustomization\.yaml: resources "http:\/\/127\.0\.0\.1:\d+\/base\.git\/\/deploy\?ref=main" is a remote base, and remote bases are off \(--no-remote-bases\)/);
  assert.equal(await off.client.getOrUndefined(off.path('configmaps', 'from-base')), undefined);
});
