import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOps, configMap } from '../gitops.ts';
import { eventually } from '../harness.ts';
import { MirrorCache, Storage, reconcileGitRepository, type GitRepository } from '../../src/source/git/index.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import type { Logger } from '../../src/util/log.ts';

// The operator against the real control plane and a real git server: after
// the first artifact, each commit's artifact is built from the previous one
// (git's diff, no checkout), and what the cluster gets is what the commit
// says. The artifact served over HTTP is byte for byte what a full build of
// the same commit gives, with Flux's revision and digest.

let g: GitOps;
const builds: Array<{ revision?: string; build?: string; buildNote?: string }> = [];

/** A logger that keeps the GitRepository controller's 'reconciled' records. */
function recordingLogger(): Logger {
  const l: Logger = {
    info: () => {},
    error: () => {},
    debug: (msg, f) => {
      if (msg === 'reconciled' && f?.kind === 'GitRepository' && f.outcome === 'stored') builds.push(f as (typeof builds)[number]);
    },
    with: () => l,
  };
  return l;
}

before(async () => {
  g = await GitOps.start('incremental-artifact', { log: recordingLogger() });
  const files: Record<string, string> = { 'README.md': 'apps\n' };
  for (let i = 0; i < 4; i++) files[`apps/a${i}/cm.yaml`] = configMap(`a${i}`, { v: '1' });
  files['apps/a3/extra.yaml'] = configMap('a3-extra', { v: '1' });
  await g.push(files, 'apps');
  await g.createGitRepository('app', { interval: '1h' });
  for (let i = 0; i < 4; i++) await g.createKustomization(`a${i}`, { path: `./apps/a${i}`, targetNamespace: g.ns.name, interval: '1h' });
});
after(async () => {
  await g?.close();
});

async function cmValue(name: string): Promise<string | undefined> {
  return (await g.get<KubeObject & { data: Record<string, string> }>(g.path('configmaps', name)))?.data.v;
}

/** A full build of the same commit, in a storage of its own. */
async function fullBuildDigest(url: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-full-build-'));
  try {
    const obj: GitRepository = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'full', namespace: 'default', generation: 1 },
      spec: { url, interval: '1h', ref: { branch: 'main' } },
    };
    const storage = new Storage({ root: join(dir, 'storage') });
    const res = await reconcileGitRepository(obj, {
      mirrors: new MirrorCache(join(dir, 'mirrors')),
      storage,
      getSecret: async () => undefined,
      getIncludedArtifact: async () => undefined,
    });
    assert.equal(res.build, 'full');
    await storage.settle();
    return res.status.artifact!.digest!;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('commits after the first are built from the previous artifact, and the cluster follows them', async () => {
  const first = `main@sha1:${await g.repo.head()}`;
  for (let i = 0; i < 4; i++) await g.untilReady(`a${i}`, first);
  assert.equal(builds.at(-1)?.build, 'full');

  // A changed file, a removed file, a new directory.
  const second = await g.pushAndFetch({ 'apps/a1/cm.yaml': configMap('a1', { v: '2' }), 'apps/a3/extra.yaml': null, 'apps/a4/cm.yaml': configMap('a4', { v: '1' }) }, 'second');
  await g.createKustomization('a4', { path: './apps/a4', targetNamespace: g.ns.name, interval: '1h' });
  for (let i = 0; i < 5; i++) await g.untilReady(`a${i}`, second);
  assert.equal(await cmValue('a1'), '2');
  assert.equal(await cmValue('a4'), '1');
  await eventually('a3-extra pruned', async () => ((await cmValue('a3-extra')) === undefined ? true : undefined), 30_000);
  const built = builds.find((b) => b.revision === second);
  assert.match(built?.build ?? '', /^incremental/, JSON.stringify(built));

  // And once more on top of an incremental artifact.
  const third = await g.pushAndFetch({ 'apps/a0/cm.yaml': configMap('a0', { v: '3' }) }, 'third');
  for (let i = 0; i < 5; i++) await g.untilReady(`a${i}`, third);
  assert.equal(await cmValue('a0'), '3');
  assert.match(builds.find((b) => b.revision === third)?.build ?? '', /^incremental/);

  // Flux's artifact contract: revision <branch>@sha1:<commit>, digest the sha256 of the tarball served at url.
  const repo = await g.client.request<GitRepository & KubeObject>({ path: g.gitPath() });
  const artifact = repo.status!.artifact!;
  assert.equal(artifact.revision, third);
  const body = Buffer.from(await (await fetch(artifact.url)).arrayBuffer());
  assert.equal(`sha256:${createHash('sha256').update(body).digest('hex')}`, artifact.digest);
  assert.equal(body.length, artifact.size);
  assert.equal(artifact.digest, await fullBuildDigest(g.server.url('app')), 'the same bytes as a full build of the commit');
});
