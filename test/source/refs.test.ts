import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { condition, gitRepository, listTree, readText, reconcile, sourceEnv, type SourceEnv } from './helpers.ts';

// test: no cluster
import { closeAll } from '../cleanup.ts';

// Reference kinds and polling behaviour of the Git source, against a real
// smart-HTTP server (git http-backend).

describe('GitRepository references', () => {
  let env: SourceEnv;
  let srv: GitHttpServer;
  let repo: TestRepo;
  const commits: Record<string, string> = {};

  before(async () => {
    env = await sourceEnv();
    srv = await startGitHttpServer({ root: env.repoRoot });
    repo = await TestRepo.create(env.repoRoot, 'refs');
    commits.c1 = await repo.commitFiles({ 'app.yaml': 'version: 1\n' }, 'release 1.0.0');
    await repo.tag('v1.0.0');
    commits.c2 = await repo.commitFiles({ 'app.yaml': 'version: 1.1\n' }, 'release 1.1.0');
    await repo.tag('v1.1.0', { annotated: true });
    commits.c3 = await repo.commitFiles({ 'app.yaml': 'version: 2\n' }, 'release 2.0.0');
    await repo.tag('2.0.0');
    commits.c4 = await repo.commitFiles({ 'app.yaml': 'version: 2.1-rc\n' }, 'rc');
    await repo.tag('v2.1.0-rc.1');
    await repo.tag('not-a-version');
    await repo.push();
    await repo.pushTags();
    // A second branch and a pull-request ref.
    await repo.git(['checkout', '--quiet', '-b', 'feature', commits.c1!]);
    commits.feature = await repo.commitFiles({ 'feature.yaml': 'on\n' }, 'feature work');
    await repo.push('refs/heads/feature');
    commits.pr = await repo.commitFiles({ 'pr.yaml': 'x\n' }, 'pull request head');
    await repo.push('refs/pull/1/head');
    await repo.checkout('master');
  });

  after(async () => {
    await closeAll(srv && (() => srv.close()), repo && (() => repo.dispose()), env && (() => env.cleanup()));
  });

  test('no ref: the master branch, revision master@sha1:<hash>', async () => {
    const obj = gitRepository({ url: srv.url('refs') });
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored');
    assert.equal(res.status.artifact?.revision, `master@sha1:${commits.c4}`);
    assert.equal(condition(obj, 'Ready')?.status, 'True');
    assert.equal(condition(obj, 'Ready')?.reason, 'Succeeded');
    assert.equal(condition(obj, 'Ready')?.message, `stored artifact for revision 'master@sha1:${commits.c4}'`);
    assert.equal(condition(obj, 'ArtifactInStorage')?.status, 'True');
    assert.equal(res.status.observedGeneration, 1);
    assert.deepEqual(res.events.map((e) => [e.type, e.reason, e.message]), [['Normal', 'NewArtifact', "stored artifact for commit 'rc'"]]);
    assert.equal(await readText(res.artifactDir!, 'app.yaml'), 'version: 2.1-rc\n');
  });

  test('branch', async () => {
    const obj = gitRepository({ url: srv.url('refs'), ref: { branch: 'feature' } });
    const res = await reconcile(obj, env.deps);
    assert.equal(res.status.artifact?.revision, `feature@sha1:${commits.feature}`);
    assert.deepEqual(await listTree(res.artifactDir!), ['app.yaml', 'feature.yaml']);
  });

  test('tag (lightweight and annotated): revision <tag>@sha1:<commit>', async () => {
    const light = gitRepository({ url: srv.url('refs'), ref: { tag: 'v1.0.0' } });
    assert.equal((await reconcile(light, env.deps)).status.artifact?.revision, `v1.0.0@sha1:${commits.c1}`);
    const annotated = gitRepository({ url: srv.url('refs'), ref: { tag: 'v1.1.0' } });
    const res = await reconcile(annotated, env.deps);
    assert.equal(res.status.artifact?.revision, `v1.1.0@sha1:${commits.c2}`, 'the peeled commit, not the tag object');
    assert.equal(await readText(res.artifactDir!, 'app.yaml'), 'version: 1.1\n');
  });

  test('semver picks the highest matching tag; pre-releases only when asked', async () => {
    const cases: [string, string, string][] = [
      ['>=1.0.0', '2.0.0', commits.c3!],
      ['1.x', 'v1.1.0', commits.c2!],
      ['~1.0', 'v1.0.0', commits.c1!],
      ['>=1.0.0, <2.0.0', 'v1.1.0', commits.c2!],
      ['>=2.1.0-rc.0', 'v2.1.0-rc.1', commits.c4!],
      ['*', '2.0.0', commits.c3!],
    ];
    for (const [range, tag, commit] of cases) {
      const obj = gitRepository({ url: srv.url('refs'), ref: { semver: range, tag: 'v1.0.0', branch: 'feature' } });
      const res = await reconcile(obj, env.deps);
      assert.equal(res.status.artifact?.revision, `${tag}@sha1:${commit}`, `semver ${range}`);
    }
    const none = gitRepository({ url: srv.url('refs'), ref: { semver: '>=5.0.0' } });
    await reconcile(none, env.deps);
    assert.equal(condition(none, 'FetchFailed')?.status, 'True');
    assert.match(condition(none, 'FetchFailed')!.message, /no match found for semver: >=5\.0\.0/);
  });

  test('name: refs/pull/1/head and refs/heads/<branch>, revision with the full name', async () => {
    const pr = gitRepository({ url: srv.url('refs'), ref: { name: 'refs/pull/1/head', semver: '*', branch: 'master' } });
    const res = await reconcile(pr, env.deps);
    assert.equal(res.status.artifact?.revision, `refs/pull/1/head@sha1:${commits.pr}`);
    assert.deepEqual(await listTree(res.artifactDir!), ['app.yaml', 'feature.yaml', 'pr.yaml']);
    const heads = gitRepository({ url: srv.url('refs'), ref: { name: 'refs/heads/feature' } });
    assert.equal((await reconcile(heads, env.deps)).status.artifact?.revision, `refs/heads/feature@sha1:${commits.feature}`);
    const tagName = gitRepository({ url: srv.url('refs'), ref: { name: 'refs/tags/v1.1.0' } });
    assert.equal((await reconcile(tagName, env.deps)).status.artifact?.revision, `refs/tags/v1.1.0@sha1:${commits.c2}`);
  });

  test('commit: alone (sha1:<hash>), with its branch (<branch>@sha1:<hash>), not in the branch (fails)', async () => {
    const alone = gitRepository({ url: srv.url('refs'), ref: { commit: commits.c2!, name: 'refs/heads/feature', tag: 'v1.0.0' } });
    const res = await reconcile(alone, env.deps);
    assert.equal(res.status.artifact?.revision, `sha1:${commits.c2}`);
    assert.equal(await readText(res.artifactDir!, 'app.yaml'), 'version: 1.1\n');

    const withBranch = gitRepository({ url: srv.url('refs'), ref: { branch: 'master', commit: commits.c1! } });
    const res2 = await reconcile(withBranch, env.deps);
    assert.equal(res2.status.artifact?.revision, `master@sha1:${commits.c1}`);
    assert.equal(await readText(res2.artifactDir!, 'app.yaml'), 'version: 1\n');

    const wrongBranch = gitRepository({ url: srv.url('refs'), ref: { branch: 'master', commit: commits.feature! } });
    const res3 = await reconcile(wrongBranch, env.deps);
    assert.equal(res3.outcome, 'failed');
    assert.equal(condition(wrongBranch, 'FetchFailed')?.reason, 'GitOperationFailed');
    assert.match(condition(wrongBranch, 'FetchFailed')!.message, /not found in 'refs\/heads\/master'/);
  });

  test('a missing branch fails with FetchFailed saying which ref', async () => {
    const obj = gitRepository({ url: srv.url('refs'), ref: { branch: 'nope' } });
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'failed');
    const ff = condition(obj, 'FetchFailed');
    assert.equal(ff?.status, 'True');
    assert.equal(ff?.reason, 'GitOperationFailed');
    assert.equal(
      ff?.message,
      `failed to checkout and determine revision: unable to clone '${srv.url('refs')}': couldn't find remote ref "refs/heads/nope"`,
    );
    assert.equal(condition(obj, 'Ready')?.status, 'False');
    assert.equal(condition(obj, 'Ready')?.reason, 'GitOperationFailed');
    assert.equal(condition(obj, 'Reconciling')?.reason, 'ProgressingWithRetry');
    assert.equal(res.status.artifact, undefined);
    assert.equal(res.status.observedGeneration, undefined, 'a failure does not observe the generation');
    assert.deepEqual(res.events.map((e) => [e.type, e.reason]), [['Warning', 'GitOperationFailed']]);
  });
});

describe('polling', () => {
  let env: SourceEnv;
  let srv: GitHttpServer;
  let repo: TestRepo;

  before(async () => {
    env = await sourceEnv();
    srv = await startGitHttpServer({ root: env.repoRoot });
    repo = await TestRepo.create(env.repoRoot, 'poll', { defaultBranch: 'main' });
    await repo.commitFiles({ 'a.txt': 'one\n' }, 'one');
    await repo.push();
  });

  after(async () => {
    await closeAll(srv && (() => srv.close()), repo && (() => repo.dispose()), env && (() => env.cleanup()));
  });

  test('an unchanged poll asks for the ref only: no fetch, no checkout, no new artifact', async () => {
    const obj = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    const first = await reconcile(obj, env.deps);
    assert.equal(first.outcome, 'stored');
    const statsBefore = { ...env.mirrors.stats };
    srv.resetStats();
    const second = await reconcile(obj, env.deps);
    assert.equal(second.outcome, 'unchanged');
    assert.equal(second.fetched, false);
    assert.deepEqual(second.events, []);
    assert.equal(env.mirrors.stats.fetches, statsBefore.fetches, 'no git fetch ran');
    assert.equal(env.mirrors.stats.lsRemote, statsBefore.lsRemote + 1, 'exactly one ls-remote');
    const t = srv.totals();
    assert.equal(t.fetches, 0, 'the server saw no fetch command');
    assert.equal(t.lsRefs, 1);
    assert.deepEqual(second.status.artifact, first.status.artifact);
    assert.equal(condition(obj, 'Ready')?.status, 'True');
  });

  test('a new commit is fetched incrementally into the same mirror', async () => {
    const obj = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    await reconcile(obj, env.deps);
    const sha = await repo.commitFiles({ 'b.txt': 'two\n' }, 'two');
    await repo.push();
    srv.resetStats();
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored');
    assert.equal(res.fetched, true);
    assert.equal(res.status.artifact?.revision, `main@sha1:${sha}`);
    assert.equal(srv.totals().fetches, 1);
    assert.deepEqual(await listTree(res.artifactDir!), ['a.txt', 'b.txt']);
  });

  test('a force-pushed branch is followed', async () => {
    const obj = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    await reconcile(obj, env.deps);
    const before = obj.status!.artifact!.revision;
    const rewritten = await repo.forcePushRewrite({ 'c.txt': 'rewritten\n' }, 'rewritten history');
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored');
    assert.notEqual(res.status.artifact?.revision, before);
    assert.equal(res.status.artifact?.revision, `main@sha1:${rewritten}`);
    assert.ok((await listTree(res.artifactDir!)).includes('c.txt'));
    assert.equal(res.events[0]?.message, "stored artifact for commit 'rewritten history'");
  });

  test('moving back to a commit the mirror already holds needs no fetch', async () => {
    const obj = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    await reconcile(obj, env.deps);
    const current = await repo.head();
    await repo.commitFiles({ 'd.txt': 'd\n' }, 'd');
    await repo.push();
    await reconcile(obj, env.deps);
    await repo.git(['reset', '--quiet', '--hard', current]);
    await repo.push(undefined, { force: true });
    srv.resetStats();
    const res = await reconcile(obj, env.deps);
    assert.equal(res.status.artifact?.revision, `main@sha1:${current}`);
    assert.equal(res.fetched, false);
    assert.equal(srv.totals().fetches, 0);
  });

  test('a requested reconcile of a branch fetches at once: one ls-refs, no ls-remote', async () => {
    const obj = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    await reconcile(obj, env.deps);
    const sha = await repo.commitFiles({ 'r.txt': 'requested\n' }, 'requested');
    await repo.push();
    const statsBefore = { ...env.mirrors.stats };
    srv.resetStats();
    obj.metadata.annotations = { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() };
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored');
    assert.equal(res.fetched, true);
    assert.equal(res.status.artifact?.revision, `main@sha1:${sha}`);
    assert.equal(res.status.lastHandledReconcileAt, obj.metadata.annotations['reconcile.fluxcd.io/requestedAt']);
    assert.equal(env.mirrors.stats.lsRemote, statsBefore.lsRemote, 'no ls-remote');
    assert.equal(srv.totals().lsRefs, 1, 'the fetch asks for the refs once');
    assert.equal(srv.totals().fetches, 1);
    assert.ok((await listTree(res.artifactDir!)).includes('r.txt'));

    // The same request again (already handled) is a plain poll; a new one with nothing new fetches nothing new.
    srv.resetStats();
    assert.equal((await reconcile(obj, env.deps)).outcome, 'unchanged');
    assert.equal(srv.totals().fetches, 0);
    obj.metadata.annotations = { 'reconcile.fluxcd.io/requestedAt': new Date(Date.now() + 1000).toISOString() };
    const again = await reconcile(obj, env.deps);
    assert.equal(again.outcome, 'unchanged');
    assert.deepEqual(again.events, []);

    // A branch that is gone fails as a poll would say it.
    const gone = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    await reconcile(gone, env.deps);
    gone.spec.ref = { branch: 'no-such-branch' };
    gone.metadata.annotations = { 'reconcile.fluxcd.io/requestedAt': 'now' };
    const failed = await reconcile(gone, env.deps);
    assert.equal(failed.outcome, 'failed');
    assert.match(condition(gone, 'FetchFailed')!.message, /couldn't find remote ref "refs\/heads\/no-such-branch"/);
  });

  test('the mirror is one bare repository per URL, shared by objects', async () => {
    const a = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    const b = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    await reconcile(a, env.deps);
    srv.resetStats();
    const res = await reconcile(b, env.deps);
    assert.equal(res.fetched, false, 'second object reuses the objects already mirrored');
    assert.equal(srv.totals().fetches, 0);
  });

  test('spec.timeout bounds each git call; a fetch killed mid-way leaves a usable mirror', async () => {
    const slow = await startGitHttpServer({ root: env.repoRoot, delayMs: 1500 });
    try {
      const obj = gitRepository({ url: slow.url('poll'), ref: { branch: 'main' }, timeout: '500ms' });
      const res = await reconcile(obj, env.deps);
      assert.equal(res.outcome, 'failed');
      assert.match(condition(obj, 'FetchFailed')!.message, /git ls-remote timed out after 500ms for 'http:\/\/127\.0\.0\.1:\d+\/poll\.git'/);
    } finally {
      await slow.close();
    }
    // A lock file left by a killed git does not wedge the mirror.
    const { parseGitUrl } = await import('../../src/source/git/url.ts');
    const { writeFile } = await import('node:fs/promises');
    const mirror = env.mirrors.pathFor(parseGitUrl(srv.url('poll')));
    await writeFile(`${mirror}/shallow.lock`, '');
    await repo.commitFiles({ 'after-lock.txt': 'x\n' }, 'after a stale lock');
    await repo.push();
    const obj2 = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    const res2 = await reconcile(obj2, env.deps);
    assert.equal(res2.outcome, 'stored', JSON.stringify(res2.status.conditions));
  });

  test('a spec change (new generation) rebuilds even when the revision is the same', async () => {
    const obj = gitRepository({ url: srv.url('poll'), ref: { branch: 'main' } });
    await reconcile(obj, env.deps);
    obj.spec.ignore = '*.txt\n!a.txt\n';
    obj.metadata.generation = 2;
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored');
    assert.equal(res.status.observedIgnore, '*.txt\n!a.txt\n');
    assert.equal(res.status.observedGeneration, 2);
    assert.deepEqual(await listTree(res.artifactDir!), ['a.txt']);
  });
});
