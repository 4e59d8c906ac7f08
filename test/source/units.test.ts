import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkLink, safeJoin } from '../../src/source/artifact.ts';
import { Conditions, parseDuration } from '../../src/runtime/conditions.ts';
import { classifyGitFailure, redactUrl, scrubSecrets } from '../../src/source/git/errors.ts';
import { parseConstraint, parseTagVersion, pickSemverTag } from '../../src/source/semver.ts';
import { parseGitUrl } from '../../src/source/git/url.ts';
import { splitCommitSignature, splitTagSignature, trustedKeysFromSecret } from '../../src/source/git/verify.ts';
import { SourceIgnore } from '../../src/source/ignore.ts';
import { shortMessage } from '../../src/source/git/reconcile.ts';
import { condition, gitRepository, reconcile, sourceEnv } from './helpers.ts';

// test: no cluster

describe('semver (Masterminds-compatible)', () => {
  test('tag names parse leniently', () => {
    assert.equal(parseTagVersion('v1.2.3')?.version, '1.2.3');
    assert.equal(parseTagVersion('1.2')?.version, '1.2.0');
    assert.equal(parseTagVersion('v2')?.version, '2.0.0');
    assert.equal(parseTagVersion('v1.0.0-rc.1+build.5')?.version, '1.0.0-rc.1');
    assert.equal(parseTagVersion('release-1.0'), null);
    assert.equal(parseTagVersion('latest'), null);
  });

  test('constraints: commas, ~>, !=, ranges, ||', () => {
    const t = (expr: string, v: string) => parseConstraint(expr).test(parseTagVersion(v)!);
    assert.ok(t('>= 1.2, < 2.0', '1.9.9'));
    assert.ok(!t('>= 1.2, < 2.0', '2.0.0'));
    assert.ok(t('~> 1.2', '1.2.9'));
    assert.ok(!t('~> 1.2', '1.3.0'));
    assert.ok(!t('>=1.0.0, != 1.2.3', '1.2.3'));
    assert.ok(t('>=1.0.0, != 1.2.3', '1.2.4'));
    assert.ok(t('1.2 - 1.4.5', '1.4.5'));
    assert.ok(t('^1.0.0 || ^3.0.0', '3.1.0'));
    assert.ok(!t('^1.0.0 || ^3.0.0', '2.1.0'));
    assert.ok(t('>= v1.0.0', '1.0.0'));
    assert.throws(() => parseConstraint('not a range'), /improper constraint/);
    assert.throws(() => parseConstraint(''), /improper constraint/);
  });

  test('the highest matching tag wins', () => {
    const tags = ['v1.0.0', 'v1.10.0', 'v1.9.0', '2.0.0-beta.1', 'junk', 'v1.2'];
    assert.equal(pickSemverTag(tags, '1.x'), 'v1.10.0');
    assert.equal(pickSemverTag(tags, '<1.5'), 'v1.2');
    assert.equal(pickSemverTag(tags, '>=2.0.0-0'), '2.0.0-beta.1');
    assert.equal(pickSemverTag(tags, '>=3'), undefined);
  });
});

describe('source ignore (Flux semantics)', () => {
  test('defaults when nothing is configured', () => {
    const ig = SourceIgnore.fromPatterns([]);
    assert.ok(ig.ignores('.git', true));
    assert.ok(ig.ignores('.github', true));
    assert.ok(ig.ignores('.github/workflows/ci.yml', false));
    assert.ok(ig.ignores('img/logo.png', false));
    assert.ok(ig.ignores('a/b/.sops.yaml', false));
    assert.ok(ig.ignores('.gitmodules', false));
    assert.ok(!ig.ignores('deploy/app.yaml', false));
    assert.ok(!ig.ignores('LOGO.PNG', false), 'case-sensitive, as git on Linux');
  });

  test('configured patterns replace the defaults (VCS stays), last match wins, scoped by directory', () => {
    const ig = SourceIgnore.fromPatterns([
      { text: '*.md\n!KEEP.md\n' },
      { base: 'deploy', text: '*.txt\n' },
      { text: '!/deploy/keep.txt\n' },
    ]);
    assert.ok(!ig.ignores('logo.png', false));
    assert.ok(ig.ignores('.gitignore', false));
    assert.ok(ig.ignores('README.md', false));
    assert.ok(!ig.ignores('KEEP.md', false));
    assert.ok(ig.ignores('deploy/notes.txt', false));
    assert.ok(!ig.ignores('notes.txt', false), 'deploy/.sourceignore does not apply outside deploy/');
    assert.ok(!ig.ignores('deploy/keep.txt', false), 'a later source re-includes');
  });

  test('a file with only comments does not replace the defaults', () => {
    const ig = SourceIgnore.fromPatterns([{ text: '# nothing\n\n' }]);
    assert.ok(ig.ignores('x.zip', false));
  });
});

describe('paths and links', () => {
  test('symlinks must stay inside the root', () => {
    assert.doesNotThrow(() => checkLink('a/b', '../c'));
    assert.doesNotThrow(() => checkLink('a/b', 'c/d'));
    assert.throws(() => checkLink('a/b', '../../c'), /points outside the source root/);
    assert.throws(() => checkLink('a', '/etc/passwd'), /absolute target/);
    assert.throws(() => checkLink('x', '..'), /points outside/);
  });

  test('safeJoin refuses escapes', () => {
    assert.equal(safeJoin('/r', 'a/b', 'p'), '/r/a/b');
    assert.equal(safeJoin('/r', '', 'p'), '/r');
    assert.equal(safeJoin('/r', './a/', 'p'), '/r/a');
    assert.throws(() => safeJoin('/r', '../a', 'include path'), /include path '\.\.\/a' escapes the source root/);
    assert.throws(() => safeJoin('/r', 'a/../../b', 'p'), /escapes/);
    assert.throws(() => safeJoin('/r', '/etc', 'p'), /escapes/);
  });
});

describe('URLs, errors and secrets', () => {
  test('parseGitUrl', () => {
    const u = parseGitUrl('https://user:s3cr3t@example.com:8443/org/repo.git');
    assert.equal(u.transport, 'https');
    assert.equal(u.password, 's3cr3t');
    assert.equal(u.url, 'https://user@example.com:8443/org/repo.git', 'password moved out of the URL');
    assert.equal(u.origin, 'https://example.com:8443/');
    const s = parseGitUrl('ssh://git@example.com:2222/org/repo.git');
    assert.equal(s.sshHostPattern, '[example.com]:2222');
    assert.equal(parseGitUrl('ssh://git@example.com/x').sshHostPattern, 'example.com');
    assert.throws(() => parseGitUrl('git@github.com:org/repo.git'), /scp-like syntax is not supported/);
    assert.throws(() => parseGitUrl('file:///tmp/x'), /unsupported scheme 'file'/);
    assert.throws(() => parseGitUrl('not a url'), /failed to parse url/);
  });

  test('git failures are classified with the line that tells', () => {
    const c = (stderr: string, credentials?: string) => classifyGitFailure(stderr, { url: 'https://h/r.git', host: 'h', credentials });
    assert.equal(c("fatal: could not read Username for 'https://h': terminal prompts disabled").kind, 'auth');
    assert.match(c('fatal: Authentication failed', 'bearer token from the Secret').message, /rejected the bearer token from the Secret/);
    assert.equal(c('git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.').kind, 'auth');
    assert.equal(c('@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.').kind, 'hostkey-changed');
    assert.equal(c('No ED25519 host key is known for [h]:22 and you have requested strict checking.\nHost key verification failed.').kind, 'hostkey-unknown');
    assert.equal(c('ssh: connect to host h port 22: Connection refused\nfatal: Could not read from remote repository.').message, "server unreachable for 'https://h/r.git': ssh: connect to host h port 22: Connection refused");
    assert.equal(c("fatal: unable to access 'https://h/r.git/': SSL certificate problem: unable to get local issuer certificate").kind, 'tls');
    assert.equal(c("fatal: repository 'https://h/r.git/' not found").kind, 'repo-not-found');
    assert.equal(c('fatal: something odd').kind, 'other');
  });

  test('scrubbing', () => {
    assert.equal(scrubSecrets('token abcd1234 here, abcd1234', ['abcd1234', 'ab']), 'token *** here, ***');
    assert.equal(redactUrl('see https://user:pw@host/x'), 'see https://user:***@host/x');
  });
});

describe('signatures', () => {
  const commit = Buffer.from(
    'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\ngpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n\nmessage\n',
  );

  test('the gpgsig header is removed from the payload', () => {
    const s = splitCommitSignature(commit)!;
    assert.equal(s.payload.toString(), 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nmessage\n');
    assert.equal(s.signature, '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n');
    assert.equal(splitCommitSignature(Buffer.from('tree x\n\nmsg\n')), undefined);
  });

  test('a tag signature trails the message', () => {
    const tag = Buffer.from('object abc\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\nrelease\n-----BEGIN PGP SIGNATURE-----\nxyz\n-----END PGP SIGNATURE-----\n');
    const s = splitTagSignature(tag)!;
    assert.equal(s.payload.toString(), 'object abc\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\nrelease\n');
    assert.match(s.signature, /^-----BEGIN PGP SIGNATURE-----/);
  });

  test('trusted keys from a Secret: armored OpenPGP, SSH keys and allowed_signers lines', () => {
    const keys = trustedKeysFromSecret({
      'a.asc': Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n...\n-----END PGP PUBLIC KEY BLOCK-----\n'),
      'b.pub': Buffer.from('ssh-ed25519 AAAAC3Nza me@x\n# comment\n'),
      allowed_signers: Buffer.from('dev@example.com namespaces="git" ecdsa-sha2-nistp256 AAAAE2Vj\n'),
    });
    assert.equal(keys.pgp.length, 1);
    assert.deepEqual(keys.ssh, ['ecdsa-sha2-nistp256 AAAAE2Vj', 'ssh-ed25519 AAAAC3Nza'], 'in key order');
  });
});

describe('small helpers', () => {
  test('Go durations', () => {
    assert.equal(parseDuration('60s'), 60_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5m'), 90_000);
    assert.throws(() => parseDuration('5 minutes'));
  });

  test('conditions keep lastTransitionTime while the status holds; Ready sorts first', () => {
    const a = new Conditions(undefined, 1, 't1');
    a.set('Reconciling', 'True', 'Progressing', 'x');
    a.set('Ready', 'False', 'Failed', 'y');
    const b = new Conditions(a.toArray(), 2, 't2');
    b.set('Ready', 'False', 'Other', 'z');
    b.set('ArtifactInStorage', 'True', 'Succeeded', 'ok');
    const out = b.toArray();
    assert.deepEqual(out.map((c) => c.type), ['Ready', 'ArtifactInStorage', 'Reconciling']);
    assert.equal(out[0]!.lastTransitionTime, 't1');
    assert.equal(out[0]!.observedGeneration, 2);
    assert.equal(out[1]!.lastTransitionTime, 't2');
  });

  test("Flux's short commit message", () => {
    assert.equal(shortMessage('fix'), 'fix');
    assert.equal(shortMessage('x'.repeat(60)), `${'x'.repeat(50)}...`);
  });
});

describe('reconcile without a server', () => {
  test('an invalid URL stalls: Stalled=True, no Reconciling, generation observed', async () => {
    const env = await sourceEnv();
    try {
      const obj = gitRepository({ url: 'git@github.com:org/repo.git' });
      obj.metadata.generation = 3;
      const res = await reconcile(obj, env.deps);
      assert.equal(res.outcome, 'stalled');
      assert.equal(condition(obj, 'Stalled')?.reason, 'URLInvalid');
      assert.equal(condition(obj, 'FetchFailed')?.reason, 'URLInvalid');
      assert.equal(condition(obj, 'Ready')?.status, 'False');
      assert.equal(condition(obj, 'Reconciling'), undefined);
      assert.equal(res.status.observedGeneration, 3);
      assert.equal(res.requeueAfterMs, undefined);
      assert.deepEqual(res.events.map((e) => [e.type, e.reason]), [['Warning', 'URLInvalid']]);
    } finally {
      await env.cleanup();
    }
  });

  test('suspend: nothing happens', async () => {
    const env = await sourceEnv();
    try {
      const obj = gitRepository({ url: 'https://127.0.0.1:1/x.git', suspend: true });
      const res = await reconcile(obj, env.deps);
      assert.equal(res.outcome, 'suspended');
      assert.deepEqual(res.events, []);
      assert.deepEqual(res.status, {});
    } finally {
      await env.cleanup();
    }
  });

  test('the reconcile request annotation is recorded as lastHandledReconcileAt', async () => {
    const env = await sourceEnv();
    try {
      const obj = gitRepository({ url: 'http://127.0.0.1:1/x.git' });
      obj.metadata.annotations = { 'reconcile.fluxcd.io/requestedAt': '2024-01-01T00:00:00Z' };
      const res = await reconcile(obj, env.deps);
      assert.equal(res.status.lastHandledReconcileAt, '2024-01-01T00:00:00Z');
      assert.equal(condition(obj, 'Reconciling')?.reason, 'ProgressingWithRetry');
      assert.equal(condition(obj, 'Reconciling')?.message, 'building artifact');
    } finally {
      await env.cleanup();
    }
  });
});

// Compile-time: the API kinds (src/api) and the reconcile types stay
// interchangeable, so a controller passes objects through without casts.
import type { GitRepositorySpec as ApiSpec, GitRepositoryStatus as ApiStatus } from '../../src/api/gitrepository.ts';
import type { GitRepositorySpec, GitRepositoryStatus } from '../../src/source/git/types.ts';
export const specFromApi = (s: ApiSpec): GitRepositorySpec => s;
export const statusFromApi = (s: ApiStatus): GitRepositoryStatus => s;
export const statusToApi = (s: GitRepositoryStatus): ApiStatus => s;
