import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { gitRepository, reconcile, sourceEnv, type SourceEnv } from './helpers.ts';

// test: no cluster
import { closeAll } from '../cleanup.ts';

// The GitRepository reconcile records the fetched commit's author, date and
// subject in its artifact's metadata (src/source/git/commit.ts), whether the
// artifact is built from a checkout or incrementally, against a real
// smart-HTTP server (git http-backend) on loopback.

describe('commit metadata of a GitRepository artifact', () => {
  let env: SourceEnv;
  let srv: GitHttpServer;
  let repo: TestRepo;

  before(async () => {
    env = await sourceEnv();
    srv = await startGitHttpServer({ root: env.repoRoot });
    repo = await TestRepo.create(env.repoRoot, 'meta');
  });

  after(async () => {
    await closeAll(
      env && (() => env.storage.settle()),
      srv && (() => srv.close()),
      repo && (() => repo.dispose()),
      env && (() => env.cleanup()),
    );
  });

  /** Commits as `author` at `date` with `message`, pushes, returns the commit id. */
  async function push(files: Record<string, string>, author: string, date: string, message: string): Promise<string> {
    await repo.write(files);
    await repo.git(['add', '--all']);
    await repo.git(['commit', '--quiet', `--author=${author}`, '-m', message], { GIT_AUTHOR_DATE: date });
    await repo.push();
    return repo.head();
  }

  const obj = () => gitRepository({ url: srv.url('meta') }, 'chain');
  let chain: ReturnType<typeof obj>;

  test('a full build records the pushed commit\'s author, author date and subject', async () => {
    const c1 = await push({ 'app.yaml': 'v: 1\n' }, 'Grace Hopper <grace@example.org>', '2026-03-04T05:06:07+02:00', 'Add the app\n\nA body that is not the subject.');
    chain = obj();
    const res = await reconcile(chain, env.deps);
    assert.equal(res.outcome, 'stored');
    assert.equal(res.build, 'full');
    assert.equal(res.status.artifact?.revision, `master@sha1:${c1}`);
    const md = res.status.artifact?.metadata ?? {};
    assert.equal(md['sluice.dev/commit-author'], 'Grace Hopper <grace@example.org>');
    assert.equal(md['sluice.dev/commit-date'], '2026-03-04T03:06:07Z');
    assert.equal(md['sluice.dev/commit-subject'], 'Add the app');
  });

  test('an incremental build records the new commit, with a long subject capped', async () => {
    await env.storage.settle();
    const subject = `Tune ${'x'.repeat(300)}`;
    const c2 = await push({ 'app.yaml': 'v: 2\n' }, 'Alan Turing <alan@example.org>', '2026-03-05T00:00:00Z', `${subject}\n\nbody`);
    const res = await reconcile(chain, env.deps);
    assert.equal(res.outcome, 'stored');
    assert.match(res.build ?? '', /^incremental/, res.buildNote);
    assert.equal(res.status.artifact?.revision, `master@sha1:${c2}`);
    const md = res.status.artifact?.metadata ?? {};
    assert.equal(md['sluice.dev/commit-author'], 'Alan Turing <alan@example.org>');
    assert.equal(md['sluice.dev/commit-date'], '2026-03-05T00:00:00Z');
    assert.equal([...md['sluice.dev/commit-subject']!].length, 200);
    assert.ok(subject.startsWith(md['sluice.dev/commit-subject']!.slice(0, -1)));
  });

  test('a poll that finds the same revision fetches nothing and keeps the metadata as it was', async () => {
    const before = structuredClone(chain.status?.artifact?.metadata);
    const res = await reconcile(chain, env.deps);
    assert.equal(res.outcome, 'unchanged');
    assert.equal(res.fetched, false);
    assert.deepEqual(res.status.artifact?.metadata, before);
  });
});
