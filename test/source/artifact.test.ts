import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { list as tarList } from 'tar';
import { startStorageServer } from '../../src/source/storage/server.ts';
import { git, startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { condition, gitRepository, listTree, readText, reconcile, sourceEnv, type SourceEnv } from './helpers.ts';

// test: no cluster
import { closeAll } from '../cleanup.ts';

// What goes into an artifact and how it is stored: ignore rules, includes,
// sparse checkout, submodules, refusals (symlinks out of the root, oversized
// files, escaping paths), the tarball format, garbage collection, and the
// HTTP server for artifacts.

async function tarEntries(file: string): Promise<{ path: string; type: string; mode: number; linkpath?: string }[]> {
  const out: { path: string; type: string; mode: number; linkpath?: string }[] = [];
  await tarList({ file, onReadEntry: (e) => void out.push({ path: e.path, type: e.type, mode: e.mode ?? 0, linkpath: e.linkpath || undefined }) });
  return out;
}

describe('artifact content', () => {
  let env: SourceEnv;
  let srv: GitHttpServer;
  const repos: TestRepo[] = [];
  const newRepo = async (name: string): Promise<TestRepo> => {
    const r = await TestRepo.create(env.repoRoot, name);
    repos.push(r);
    return r;
  };

  before(async () => {
    env = await sourceEnv();
    srv = await startGitHttpServer({ root: env.repoRoot });
  });

  after(async () => {
    await closeAll(srv && (() => srv.close()), () => Promise.all(repos.map((r) => r.dispose())), env && (() => env.cleanup()));
  });

  test('default exclusions apply when there is no .sourceignore and no spec.ignore', async () => {
    const repo = await newRepo('defaults');
    await repo.commitFiles(
      {
        'deploy/app.yaml': 'app\n',
        'deploy/logo.png': 'png',
        'docs/pic.JPG': 'upper-case extension is not excluded',
        '.github/workflows/ci.yml': 'ci',
        '.gitignore': 'tmp/\n',
        '.gitattributes': '* text=auto\n',
        '.travis.yml': 'x',
        'cloudbuild.yaml': 'x',
        'nested/.sops.yaml': 'x',
        'nested/.flux.yaml': 'x',
        'bundle.tar.gz': 'x',
        'README.md': 'readme\n',
      },
      'content',
    );
    await repo.push();
    const res = await reconcile(gitRepository({ url: srv.url('defaults') }), env.deps);
    assert.deepEqual(await listTree(res.artifactDir!), ['README.md', 'deploy/app.yaml', 'docs/pic.JPG']);
    const entries = await tarEntries(env.storage.localPath(res.status.artifact!.path));
    assert.deepEqual(
      entries.map((e) => e.path),
      ['README.md', 'deploy/', 'deploy/app.yaml', 'docs/', 'docs/pic.JPG', 'nested/'],
    );
  });

  test('.sourceignore files (scoped to their directory) and spec.ignore; negations re-include', async () => {
    const repo = await newRepo('ignores');
    await repo.commitFiles(
      {
        '.sourceignore': '# root rules\n*.md\n!KEEP.md\n',
        'KEEP.md': 'keep\n',
        'drop.md': 'drop\n',
        'deploy/app.yaml': 'app\n',
        'deploy/notes.txt': 'notes\n',
        'deploy/.sourceignore': '*.txt\n',
        'other/notes.txt': 'not under deploy: stays\n',
        'logo.png': 'with a .sourceignore, Flux drops the default list',
        '.github/x.yml': 'also back in',
        '.gitignore': 'VCS files stay excluded\n',
      },
      'ignore rules',
    );
    await repo.push();
    const obj = gitRepository({ url: srv.url('ignores') });
    const res = await reconcile(obj, env.deps);
    assert.deepEqual(await listTree(res.artifactDir!), [
      '.github/x.yml',
      '.sourceignore',
      'KEEP.md',
      'deploy/.sourceignore',
      'deploy/app.yaml',
      'logo.png',
      'other/notes.txt',
    ]);

    // spec.ignore, the example from Flux's documentation.
    obj.spec.ignore = '# exclude all\n/*\n# include deploy dir\n!/deploy\n# exclude file extensions from deploy dir\n/deploy/**/*.md\n/deploy/**/*.txt\n';
    obj.metadata.generation = 2;
    await repo.commitFiles({ 'deploy/sub/readme.md': 'x', 'deploy/sub/svc.yaml': 'svc\n' }, 'more');
    await repo.push();
    const res2 = await reconcile(obj, env.deps);
    assert.deepEqual(await listTree(res2.artifactDir!), ['deploy/.sourceignore', 'deploy/app.yaml', 'deploy/sub/svc.yaml']);
    assert.equal(res2.status.observedIgnore, obj.spec.ignore);
  });

  test('symlinks inside the root are kept; one pointing outside is left out of the artifact and said so, the rest served', async () => {
    const repo = await newRepo('links');
    await repo.commitFiles({ 'base/app.yaml': 'app\n', 'overlay/app.yaml': { symlink: '../base/app.yaml' } }, 'inside link');
    await repo.push();
    const obj = gitRepository({ url: srv.url('links') });
    const ok = await reconcile(obj, env.deps);
    assert.equal(ok.outcome, 'stored');
    assert.equal(await readlink(join(ok.artifactDir!, 'overlay/app.yaml')), '../base/app.yaml');
    const entries = await tarEntries(env.storage.localPath(ok.status.artifact!.path));
    assert.deepEqual(entries.find((e) => e.path === 'overlay/app.yaml'), { path: 'overlay/app.yaml', type: 'SymbolicLink', mode: 0o777, linkpath: '../base/app.yaml' });

    await repo.commitFiles({ 'deploy/passwd': { symlink: '../../../etc/passwd' } }, 'escaping link');
    await repo.push();
    const bad = await reconcile(obj, env.deps);
    assert.equal(bad.outcome, 'stored', 'the rest of the repository is still served');
    assert.equal(condition(obj, 'Ready')!.status, 'True');
    const left = JSON.parse(bad.status.artifact!.metadata!['sluice.dev/skipped']!) as Array<{ path: string; reason: string }>;
    assert.deepEqual(left, [{ path: 'deploy/passwd', reason: "symlink 'deploy/passwd' points outside the source root (target '../../../etc/passwd')" }]);
    assert.ok(!(await tarEntries(env.storage.localPath(bad.status.artifact!.path))).some((e) => e.path === 'deploy/passwd'), 'not in the tarball');
    await assert.rejects(readlink(join(bad.artifactDir!, 'deploy/passwd')), 'nor in the tree');
    assert.ok(bad.events.some((e) => e.type === 'Warning' && e.reason === 'ArtifactContentSkipped' && /deploy\/passwd' points outside/.test(e.message)));

    await repo.commitFiles({ 'deploy/passwd': { symlink: '/etc/passwd' } }, 'absolute link');
    await repo.push();
    const abs = await reconcile(obj, env.deps);
    assert.match(abs.status.artifact!.metadata!['sluice.dev/skipped']!, /points outside the source root \(absolute target/);

    // Excluded by spec.ignore: nothing left out any more.
    obj.spec.ignore = 'deploy/passwd\n';
    obj.metadata.generation = 2;
    const fixed = await reconcile(obj, env.deps);
    assert.equal(fixed.outcome, 'stored');
    assert.equal(fixed.status.artifact!.metadata?.['sluice.dev/skipped'], undefined);
  });

  test('an include path through a symlink of the repository is refused; a .sourceignore symlink is not read', async () => {
    const repo = await newRepo('trap');
    await repo.commitFiles({ 'x.yaml': 'x\n', 'base': { symlink: '/tmp' }, '.sourceignore': { symlink: '/dev/zero' } }, 'trap');
    await repo.push();
    env.included.set('default/trap-lib', { dir: repo.work, revision: 'main@sha1:0', digest: 'sha256:0' });
    const obj = gitRepository({
      url: srv.url('trap'),
      include: [{ repository: { name: 'trap-lib' }, fromPath: 'x.yaml', toPath: 'base/evil' }],
      ignore: 'base\n.sourceignore\n',
    });
    await reconcile(obj, env.deps);
    assert.equal(condition(obj, 'StorageOperationFailed')?.reason, 'IllegalPath');
    assert.match(condition(obj, 'StorageOperationFailed')!.message, /include path 'base\/evil' passes through the symlink 'base'/);

    const noInclude = gitRepository({ url: srv.url('trap'), ignore: 'base\n.sourceignore\n' });
    const res = await reconcile(noInclude, env.deps);
    assert.equal(res.outcome, 'stored', 'the /dev/zero .sourceignore was not read');
    assert.deepEqual(await listTree(res.artifactDir!), ['x.yaml']);
    env.included.delete('default/trap-lib');
  });

  test('a file over the size limit is refused with its size and the limit', async () => {
    const repo = await newRepo('big');
    await repo.commitFiles({ 'small.yaml': 'x\n', 'data/blob.bin': Buffer.alloc(5000, 1) }, 'big file');
    await repo.push();
    const obj = gitRepository({ url: srv.url('big') });
    const res = await reconcile(obj, { ...env.deps, limits: { maxFileSize: 4096 } });
    assert.equal(res.outcome, 'failed');
    assert.equal(
      condition(obj, 'StorageOperationFailed')?.message,
      "unable to archive artifact to storage: file 'data/blob.bin' is 5000 bytes, over the limit of 4096 bytes per file",
    );
    assert.equal(condition(obj, 'Ready')?.reason, 'ArchiveOperationFailed');
  });

  test('include: copies another source artifact (fromPath/toPath), tracks it, rebuilds when it changes', async () => {
    const lib = await newRepo('lib');
    await lib.commitFiles({ 'deploy/kubernetes/svc.yaml': 'svc: 1\n', 'other/x.yaml': 'x\n' }, 'lib v1');
    await lib.push();
    const libObj = gitRepository({ url: srv.url('lib') }, 'lib');
    const libRes = await reconcile(libObj, env.deps);
    const publish = (r: typeof libRes) =>
      env.included.set('default/lib', { dir: r.artifactDir!, revision: r.status.artifact!.revision, digest: r.status.artifact!.digest, artifact: r.status.artifact });

    const app = await newRepo('app');
    await app.commitFiles({ 'app.yaml': 'app\n' }, 'app');
    await app.push();
    const obj = gitRepository({
      url: srv.url('app'),
      include: [
        { repository: { name: 'lib' }, fromPath: 'deploy/kubernetes', toPath: 'base/lib' },
        { repository: { name: 'lib' } },
      ],
    });
    const waiting = await reconcile(obj, env.deps);
    assert.equal(waiting.outcome, 'waiting');
    assert.equal(condition(obj, 'IncludeUnavailable')?.status, 'True');
    assert.equal(condition(obj, 'IncludeUnavailable')?.reason, 'NoArtifact');
    assert.equal(condition(obj, 'IncludeUnavailable')?.message, "no artifact available for include 'lib'");
    assert.equal(condition(obj, 'Ready')?.reason, 'NoArtifact');

    publish(libRes);
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored', JSON.stringify(res.status.conditions));
    assert.equal(condition(obj, 'IncludeUnavailable'), undefined);
    assert.deepEqual(await listTree(res.artifactDir!), ['app.yaml', 'base/lib/svc.yaml', 'lib/deploy/kubernetes/svc.yaml', 'lib/other/x.yaml']);
    assert.deepEqual(res.status.observedInclude, obj.spec.include);
    assert.deepEqual(res.status.includedArtifacts?.map((a) => a.revision), [libRes.status.artifact!.revision, libRes.status.artifact!.revision]);

    // Unchanged on both sides: nothing to do.
    assert.equal((await reconcile(obj, env.deps)).outcome, 'unchanged');

    // The included source moves: the including one rebuilds, its own revision unchanged.
    await lib.commitFiles({ 'deploy/kubernetes/svc.yaml': 'svc: 2\n' }, 'lib v2');
    await lib.push();
    publish(await reconcile(libObj, env.deps));
    const res2 = await reconcile(obj, env.deps);
    assert.equal(res2.outcome, 'stored');
    assert.equal(await readText(res2.artifactDir!, 'base/lib/svc.yaml'), 'svc: 2\n');
    assert.equal(res2.status.artifact!.revision, res.status.artifact!.revision);
    assert.notEqual(res2.status.artifact!.digest, res.status.artifact!.digest);

    // An include path that leaves the root is refused.
    const escaping = gitRepository({ url: srv.url('app'), include: [{ repository: { name: 'lib' }, toPath: '../outside' }] });
    await reconcile(escaping, env.deps);
    assert.equal(condition(escaping, 'StorageOperationFailed')?.reason, 'IllegalPath');
    assert.match(condition(escaping, 'StorageOperationFailed')!.message, /include path '\.\.\/outside' escapes the source root/);
  });

  test('sparseCheckout: only the listed directories; a missing one fails', async () => {
    const repo = await newRepo('mono');
    await repo.commitFiles({ 'root.yaml': 'r\n', 'charts/a/Chart.yaml': 'a\n', 'kustomize/k.yaml': 'k\n', 'src/main.go': 'go\n' }, 'mono');
    await repo.push();
    const obj = gitRepository({ url: srv.url('mono'), sparseCheckout: ['charts', './kustomize'] });
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored', JSON.stringify(res.status.conditions));
    assert.deepEqual(await listTree(res.artifactDir!), ['charts/a/Chart.yaml', 'kustomize/k.yaml']);
    assert.deepEqual(res.status.observedSparseCheckout, ['charts', './kustomize']);

    const missing = gitRepository({ url: srv.url('mono'), sparseCheckout: ['nope'] });
    await reconcile(missing, env.deps);
    assert.equal(condition(missing, 'FetchFailed')?.reason, 'GitOperationFailed');
    assert.equal(
      condition(missing, 'FetchFailed')?.message,
      "failed to sparse checkout directories : sparse checkout dir 'nope' does not exist in repository",
    );
  });

  test('recurseSubmodules checks submodules out (relative URL, same credentials)', async () => {
    const sub = await newRepo('sub');
    await sub.commitFiles({ 'module.yaml': 'from the submodule\n' }, 'sub');
    await sub.push();
    const sup = await newRepo('super');
    await sup.write({ 'top.yaml': 'top\n' });
    await git(['-C', sup.work, '-c', 'protocol.file.allow=always', 'submodule', '--quiet', 'add', sub.bare, 'vendor/sub']);
    await sup.git(['config', '--file', '.gitmodules', 'submodule.vendor/sub.url', '../sub.git']);
    await sup.commit('with submodule');
    await sup.push();

    const without = gitRepository({ url: srv.url('super') });
    const res1 = await reconcile(without, env.deps);
    assert.deepEqual(await listTree(res1.artifactDir!), ['top.yaml']);

    const withSub = gitRepository({ url: srv.url('super'), recurseSubmodules: true });
    const res2 = await reconcile(withSub, env.deps);
    assert.equal(res2.outcome, 'stored', JSON.stringify(res2.status.conditions));
    assert.deepEqual(await listTree(res2.artifactDir!), ['top.yaml', 'vendor/sub/module.yaml']);
    assert.equal(res2.status.observedRecurseSubmodules, true);
  });

  test('tarballs are deterministic and content-addressed; modes normalised as Flux does', async () => {
    const repo = await newRepo('determinism');
    await repo.write({ 'run.sh': '#!/bin/sh\necho hi\n', 'cfg/a.yaml': 'a\n' });
    await chmod(join(repo.work, 'run.sh'), 0o775);
    await repo.commit('files');
    await repo.push();
    const a = await reconcile(gitRepository({ url: srv.url('determinism') }), env.deps);
    const b = await reconcile(gitRepository({ url: srv.url('determinism') }), env.deps);
    assert.equal(a.status.artifact!.digest, b.status.artifact!.digest, 'same content, same bytes');
    assert.equal(a.status.artifact!.path.split('/').pop(), `${a.status.artifact!.digest!.slice('sha256:'.length)}.tar.gz`);
    const file = env.storage.localPath(a.status.artifact!.path);
    const bytes = await readFile(file);
    assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, a.status.artifact!.digest);
    assert.equal(bytes.length, a.status.artifact!.size);
    const modes = Object.fromEntries((await tarEntries(file)).map((e) => [e.path, e.mode]));
    assert.deepEqual(modes, { 'cfg/': 0o750, 'cfg/a.yaml': 0o600, 'run.sh': 0o700 });
    assert.match(a.status.artifact!.path, /^gitrepository\/default\/repo-\d+\/[0-9a-f]{64}\.tar\.gz$/);
  });

  test('garbage collection keeps the last 2 artifacts per source', async () => {
    const repo = await newRepo('gc');
    const obj = gitRepository({ url: srv.url('gc') });
    const paths: string[] = [];
    for (let i = 0; i < 4; i++) {
      await repo.commitFiles({ 'n.txt': `${i}\n` }, `commit ${i}`);
      await repo.push();
      paths.push((await reconcile(obj, env.deps)).status.artifact!.path);
    }
    await reconcile(obj, env.deps); // GC runs at the start of each reconcile
    await env.storage.settle(); // collected trees are deleted, the next build's spare tree made, in the background
    const dir = env.storage.localPath(paths[0]!.split('/').slice(0, -1).join('/'));
    const names = (await readdir(dir)).sort();
    // Each kept artifact: its tarball, its unpacked tree, the tree's file index
    // and how it was built; the current one also a spare copy of its tree.
    const expected = paths.slice(-2).flatMap((p) => {
      const n = p.split('/').pop()!;
      return [n, n.replace('.tar.gz', ''), n.replace('.tar.gz', '.files.json'), n.replace('.tar.gz', '.recipe.json')];
    });
    expected.push(`.spare-${paths.at(-1)!.split('/').pop()!.replace('.tar.gz', '')}`);
    assert.deepEqual(names, expected.sort());
    assert.deepEqual(await readdir(join(env.storage.root, '.tmp')), [], 'no trash left');
  });

  test('an artifact that disappeared or was altered in storage is rebuilt', async () => {
    const repo = await newRepo('rebuild');
    await repo.commitFiles({ 'x.yaml': 'x\n' }, 'x');
    await repo.push();
    const obj = gitRepository({ url: srv.url('rebuild') });
    const first = await reconcile(obj, env.deps);
    await rm(env.storage.localPath(first.status.artifact!.path));
    const again = await reconcile(obj, env.deps);
    assert.equal(again.outcome, 'stored');
    assert.equal(again.status.artifact!.digest, first.status.artifact!.digest);

    await writeFile(env.storage.localPath(again.status.artifact!.path), 'corrupted');
    const third = await reconcile(obj, env.deps);
    assert.equal(third.outcome, 'stored');
    // Same content again: as in Flux, no NewArtifact event for an identical digest.
    assert.deepEqual(third.events.map((e) => e.reason), ['ArtifactVerificationFailed']);
    assert.ok(await env.storage.verify(third.status.artifact!));
  });

  test('the storage server serves artifacts by their URL, and nothing else', async () => {
    const repo = await newRepo('served');
    await repo.commitFiles({ 'x.yaml': 'x\n' }, 'x');
    await repo.push();
    const server = await startStorageServer(env.storage, { setBaseUrl: false });
    env.storage.baseUrl = server.url;
    try {
      const res = await reconcile(gitRepository({ url: srv.url('served') }), env.deps);
      assert.ok(res.status.artifact!.url.startsWith(`${server.url}/gitrepository/default/`));
      const r = await fetch(res.status.artifact!.url);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/gzip');
      const body = Buffer.from(await r.arrayBuffer());
      assert.equal(`sha256:${createHash('sha256').update(body).digest('hex')}`, res.status.artifact!.digest);
      assert.equal((await fetch(`${server.url}/gitrepository/default/nope.tar.gz`)).status, 404);
      assert.equal((await fetch(`${server.url}/.tmp/x`)).status, 404);
      assert.equal((await fetch(`${server.url}/%2e%2e/%2e%2e/etc/passwd`)).status, 404);
      assert.equal((await fetch(`${server.url}/gitrepository`)).status, 404, 'directories are not listed');
      assert.equal((await fetch(res.status.artifact!.url, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
      env.storage.baseUrl = 'http://127.0.0.1:9';
    }
  });

  test('a repository with 10,000 files', async (t) => {
    const repo = await newRepo('many');
    const files: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) files[`dir${i % 100}/file${i}.yaml`] = `index: ${i}\n`;
    await repo.commitFiles(files, '10k files');
    await repo.push();
    const obj = gitRepository({ url: srv.url('many') });
    const t0 = performance.now();
    const res = await reconcile(obj, env.deps);
    const first = performance.now() - t0;
    assert.equal(res.outcome, 'stored');
    assert.equal((await listTree(res.artifactDir!)).length, 10_000);
    const t1 = performance.now();
    assert.equal((await reconcile(obj, env.deps)).outcome, 'unchanged');
    const unchanged = performance.now() - t1;
    await repo.commitFiles({ 'dir0/file0.yaml': 'index: changed\n' }, 'one change');
    await repo.push();
    const t2 = performance.now();
    assert.equal((await reconcile(obj, env.deps)).outcome, 'stored');
    const oneChange = performance.now() - t2;
    t.diagnostic(
      `10,000 files: first reconcile ${first.toFixed(0)} ms, unchanged poll ${unchanged.toFixed(0)} ms, one-file change ${oneChange.toFixed(0)} ms, tarball ${res.status.artifact!.size} bytes`,
    );
    assert.ok(first < 60_000, `first reconcile took ${first} ms`);
  });
});
