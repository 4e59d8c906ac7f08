import assert from 'node:assert/strict';
import { chmod, lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ReconcileResult } from '../../src/source/git/reconcile.ts';
import type { GitRepository } from '../../src/source/git/types.ts';
import { startGitHttpServer, TestRepo, type FileContent, type GitHttpServer } from '../gitserver/index.ts';
import { condition, gitRepository, reconcile, sourceEnv, type SourceEnv } from './helpers.ts';

// test: no cluster
import { closeAll } from '../cleanup.ts';

// A GitRepository whose previous artifact records how it was built gets its
// next artifact from that one and git's diff (src/source/incremental.ts).
// Each step below commits a kind of change and holds the incremental
// artifact to what a full build of the same commit gives: the same digest,
// the same file index, the same unpacked tree.

/** Every entry of a tree: path, kind, exec bit, content or link target. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    for (const name of (await readdir(abs)).sort()) {
      const p = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(p);
      if (st.isDirectory()) {
        out.push(`${r}/`);
        await walk(p, r);
      } else if (st.isSymbolicLink()) out.push(`${r} -> ${await readlink(p)}`);
      else out.push(`${r} ${st.mode & 0o100 ? 'x' : '-'} ${JSON.stringify(await readFile(p, 'utf8'))}`);
    }
  };
  await walk(dir, '');
  return out;
}

describe('incremental artifacts', () => {
  let env: SourceEnv;
  let srv: GitHttpServer;
  let repo: TestRepo;
  let chain: GitRepository;
  let fresh = 0;

  before(async () => {
    env = await sourceEnv();
    srv = await startGitHttpServer({ root: env.repoRoot });
    repo = await TestRepo.create(env.repoRoot, 'mono');
    chain = gitRepository({ url: srv.url('mono') }, 'chain');
  });

  after(async () => {
    await closeAll(
      env && (() => env.storage.settle()),
      srv && (() => srv.close()),
      repo && (() => repo.dispose()),
      env && (() => env.cleanup()),
    );
  });

  /**
   * Commits `files` (and modes), reconciles the chained object and a new
   * object (a full build of the same commit), and compares both artifacts.
   */
  async function step(files: Record<string, FileContent>, opts: { exec?: string[]; noExec?: string[]; settle?: boolean } = {}): Promise<ReconcileResult> {
    await repo.write(files);
    for (const f of opts.exec ?? []) await chmod(join(repo.work, f), 0o755);
    for (const f of opts.noExec ?? []) await chmod(join(repo.work, f), 0o644);
    await repo.commit(`step ${fresh}`);
    await repo.push();
    if (opts.settle) await env.storage.settle(); // the spare copy of the previous tree is ready
    const inc = await reconcile(chain, env.deps);
    const full = await reconcile(gitRepository({ url: srv.url('mono') }, `full-${++fresh}`), env.deps);
    assert.equal(full.build, 'full', JSON.stringify(full.status.conditions));
    assert.equal(inc.status.artifact?.revision, full.status.artifact?.revision);
    assert.equal(inc.status.artifact?.digest, full.status.artifact?.digest, `same tarball as a full build (${inc.build}: ${inc.buildNote ?? ''})`);
    assert.deepEqual(await env.storage.fileIndex(inc.status.artifact!), await env.storage.fileIndex(full.status.artifact!));
    assert.deepEqual(await snapshot(inc.artifactDir!), await snapshot(full.artifactDir!));
    assert.ok(await env.storage.verify(inc.status.artifact!));
    return inc;
  }

  test('a first build is full and records how it was built', async () => {
    const long = `deep/${'d'.repeat(90)}/${'f'.repeat(60)}.yaml`;
    const first = await step({
      'apps/a/deploy.yaml': 'kind: Deployment\n',
      'apps/a/svc.yaml': 'kind: Service\n',
      'apps/b/x.yaml': 'x: 1\n',
      'apps/b-c/y.yaml': 'y: 1\n',
      'apps/b.d/z.yaml': 'z: 1\n',
      'docs/logo.png': 'png',
      '.github/workflows/ci.yml': 'ci',
      [long]: 'long: path\n',
      'link-to-a': { symlink: 'apps/a' },
      'run.sh': '#!/bin/sh\n',
    }, { exec: ['run.sh'] });
    assert.equal(first.build, 'full');
    const recipe = await env.storage.recipe<{ commit: string }>(first.status.artifact!);
    assert.equal(recipe?.commit, first.status.artifact!.revision.split('sha1:')[1]);
  });

  test('a changed file', async () => {
    const r = await step({ 'apps/a/deploy.yaml': 'kind: Deployment\nspec: {replicas: 2}\n' });
    assert.match(r.build ?? '', /^incremental/);
  });

  test('the tree copy made in the background is used', async () => {
    const r = await step({ 'apps/b/x.yaml': 'x: 2\n' }, { settle: true });
    assert.equal(r.build, 'incremental');
  });

  test('files in new nested directories, next to names that sort around the separator', async () => {
    const r = await step({ 'apps/b/new/deeper/n.yaml': 'n: 1\n', 'apps/b-a/m.yaml': 'm: 1\n', 'apps/b0/k.yaml': 'k\n', 'apps/é/u.yaml': 'u\n', 'apps/z/v.yaml': 'v\n' });
    assert.match(r.build ?? '', /^incremental/);
  });

  test('deletions: the last file of a directory, and a whole directory', async () => {
    const r = await step({ 'apps/b-a/m.yaml': null, 'apps/b/new': null });
    assert.match(r.build ?? '', /^incremental/);
  });

  test('type changes: a file becomes a directory, a directory a file, a symlink a file', async () => {
    await repo.write({ 'apps/b.d': null, 'apps/b-c/y.yaml': null });
    const r = await step({ 'apps/b.d': 'b.d is a file now\n', 'apps/b-c/y.yaml/inner.yaml': 'inner\n', 'link-to-a': 'now a file\n' });
    assert.match(r.build ?? '', /^incremental/);
    await repo.write({ 'apps/b.d': null });
    const r2 = await step({ 'apps/b.d/again.yaml': 'a directory again\n', 'link-to-a': { symlink: 'apps/b' } });
    assert.match(r2.build ?? '', /^incremental/);
  });

  test('symlinks: added, retargeted; modes: the exec bit alone', async () => {
    const r = await step({ 'links/to-b': { symlink: '../apps/b' }, 'links/to-z': { symlink: '../apps/z/v.yaml' } }, { exec: ['apps/a/svc.yaml'] });
    assert.match(r.build ?? '', /^incremental/);
    const r2 = await step({ 'links/to-b': { symlink: '../apps/a' } }, { noExec: ['run.sh'] });
    assert.match(r2.build ?? '', /^incremental/);
  });

  test('long paths (PAX headers) changed and added', async () => {
    const r = await step({
      [`deep/${'d'.repeat(90)}/${'f'.repeat(60)}.yaml`]: 'long: changed\n',
      [`deep/${'e'.repeat(120)}/g.yaml`]: 'g\n',
      [`deep/${'h'.repeat(110)}.yaml`]: 'a name longer than a ustar header holds\n',
      'links/far': { symlink: `../deep/${'e'.repeat(120)}/g.yaml` },
    });
    assert.match(r.build ?? '', /^incremental/);
  });

  test('a change to ignored files only gives the same content at the new revision', async () => {
    const before = chain.status!.artifact!;
    const r = await step({ 'docs/other.png': 'png', '.github/workflows/more.yml': 'ci', 'apps/a/pic.jpg': 'jpg' });
    assert.match(r.build ?? '', /^incremental/);
    assert.equal(r.status.artifact!.digest, before.digest);
    assert.notEqual(r.status.artifact!.revision, before.revision);
  });

  test('a .sourceignore change builds in full, and later commits build on the new rules', async () => {
    const r = await step({ '.sourceignore': 'apps/z/\n*.sh\n' });
    assert.equal(r.build, 'full');
    assert.match(r.buildNote ?? '', /\.sourceignore changed/);
    const r2 = await step({ 'apps/z/w.yaml': 'ignored now\n', 'tools/x.sh': 'ignored\n', 'apps/a/deploy.yaml': 'kind: Deployment\n# 3\n' });
    assert.match(r2.build ?? '', /^incremental/);
    const listed = await snapshot(r2.artifactDir!);
    assert.deepEqual(listed.filter((l) => l.startsWith('apps/z') || l.split(' ')[0]!.endsWith('.sh')), []);
  });

  test('a history rewrite (force push) still diffs against the previous commit', async () => {
    await repo.forcePushRewrite({ 'apps/a/deploy.yaml': 'kind: Deployment\n# rewritten\n' }, 'rewrite');
    const inc = await reconcile(chain, env.deps);
    const full = await reconcile(gitRepository({ url: srv.url('mono') }, `full-${++fresh}`), env.deps);
    assert.match(inc.build ?? '', /^incremental/, inc.buildNote);
    assert.equal(inc.status.artifact!.digest, full.status.artifact!.digest);
  });

  test('a symlink out of the root is left out as a full build does; the next good commit builds incrementally again', async () => {
    await repo.commitFiles({ 'links/bad': { symlink: '../../outside' } }, 'bad link');
    await repo.push();
    const bad = await reconcile(chain, env.deps);
    assert.equal(bad.outcome, 'stored');
    assert.equal(bad.build, 'full', 'the incremental build stops at the link; the full build leaves it out');
    assert.match(bad.status.artifact!.metadata!['sluice.dev/skipped']!, /symlink 'links\/bad' points outside the source root/);
    const r = await step({ 'links/bad': null });
    assert.equal(r.outcome, 'stored');
    assert.equal(r.status.artifact!.metadata?.['sluice.dev/skipped'], undefined);
  });

  test('.gitattributes (which can change checked-out bytes) turns incremental builds off', async () => {
    const r = await step({ '.gitattributes': '*.txt text eol=crlf\n', 'notes.txt': 'a\nb\n' });
    assert.equal(r.build, 'full');
    const r2 = await step({ 'notes.txt': 'a\nb\nc\n' });
    assert.equal(r2.build, 'full');
    assert.match(r2.buildNote ?? '', /gitattributes/);
    assert.match((await snapshot(r2.artifactDir!)).find((l) => l.startsWith('notes.txt'))!, /\\r\\n/, 'eol=crlf applied');
  });
});
