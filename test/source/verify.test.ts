import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createGpgSigner,
  createSshSigner,
  git,
  startGitHttpServer,
  TestRepo,
  type GitHttpServer,
  type GpgSigner,
  type SshSigner,
} from '../gitserver/index.ts';
import { condition, gitRepository, reconcile, sourceEnv, type SourceEnv } from './helpers.ts';

// test: no cluster
import { closeAll, settle } from '../cleanup.ts';

// spec.verify: OpenPGP and SSH signatures on commits (HEAD) and tags (Tag,
// TagAndHEAD), against public keys from a Secret.

describe('signature verification', () => {
  let env: SourceEnv;
  let srv: GitHttpServer;
  let repo: TestRepo;
  let gpg: GpgSigner;
  let otherGpg: GpgSigner;
  let sshKey: SshSigner;
  let otherSsh: SshSigner;
  const c: Record<string, string> = {};

  before(async () => {
    env = await sourceEnv();
    srv = await startGitHttpServer({ root: env.repoRoot });
    // Each key in its variable as soon as it exists, so after() disposes of it (and its gpg-agent) even if another fails.
    await settle([
      createGpgSigner('Trusted Dev', 'dev@example.com').then((k) => (gpg = k)),
      createGpgSigner('Someone Else', 'else@example.com').then((k) => (otherGpg = k)),
      createSshSigner().then((k) => (sshKey = k)),
      createSshSigner().then((k) => (otherSsh = k)),
    ]);
    repo = await TestRepo.create(env.repoRoot, 'signed', { defaultBranch: 'main' });
    c.gpg = await repo.commitFiles({ 'a.yaml': 'gpg\n' }, 'signed with gpg', { sign: gpg.signer });
    await repo.tag('v1.0.0', { sign: gpg.signer, message: 'release v1.0.0' });
    await repo.tag('v1.0.0-light');
    await repo.tag('v1.0.0-unsigned', { annotated: true });
    await repo.push('refs/heads/gpg');
    c.ssh = await repo.commitFiles({ 'a.yaml': 'ssh\n' }, 'signed with ssh', { sign: sshKey.signer });
    await repo.tag('v2.0.0', { sign: sshKey.signer, message: 'release v2.0.0' });
    await repo.push('refs/heads/ssh');
    c.plain = await repo.commitFiles({ 'a.yaml': 'plain\n' }, 'not signed');
    await repo.tag('v3.0.0', { sign: gpg.signer });
    await repo.push('refs/heads/plain');
    c.other = await repo.commitFiles({ 'a.yaml': 'other\n' }, 'signed by an unknown key', { sign: otherGpg.signer });
    await repo.push('refs/heads/other');
    await repo.pushTags();
    // A tampered commit: the gpg-signed commit with its message changed.
    const raw = (await repo.git(['cat-file', 'commit', c.gpg!])).stdout;
    const forged = raw.replace('signed with gpg', 'signed with gpg (and quietly changed)');
    c.tampered = (await git(['-C', repo.work, 'hash-object', '-t', 'commit', '-w', '--stdin'], { input: forged })).stdout.trim();
    await repo.push('refs/heads/tampered', { src: c.tampered });

    env.setSecret('keys', { 'author.asc': gpg.publicKey, 'author.pub': sshKey.publicKey });
    env.setSecret('other-keys', { 'else.asc': otherGpg.publicKey, 'else.pub': otherSsh.publicKey });
  });

  after(async () => {
    await closeAll(
      srv && (() => srv.close()),
      repo && (() => repo.dispose()),
      ...[gpg, otherGpg, sshKey, otherSsh].map((k) => k && (() => k.dispose())),
      env && (() => env.cleanup()),
    );
  });

  const verified = (branch: string, secret = 'keys', mode?: 'HEAD' | 'head') =>
    gitRepository({ url: srv.url('signed'), ref: { branch }, verify: { mode, secretRef: { name: secret } } });

  test('OpenPGP-signed commit with the key in the Secret: SourceVerified=True', async () => {
    const obj = verified('gpg', 'keys', 'HEAD');
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored', JSON.stringify(res.status.conditions));
    const sv = condition(obj, 'SourceVerified')!;
    assert.equal(sv.status, 'True');
    assert.equal(sv.reason, 'Succeeded');
    assert.equal(sv.message, `verified signature of\n\t- commit '${c.gpg}' with key '${gpg.keyId}'`);
    assert.equal(res.status.sourceVerificationMode, 'HEAD');
    // The next poll does not verify again (nothing changed) and stays verified.
    const again = await reconcile(obj, env.deps);
    assert.equal(again.outcome, 'unchanged');
    assert.equal(condition(obj, 'SourceVerified')?.status, 'True');
  });

  test('unsigned commit with verify on: SourceVerified=False, no artifact', async () => {
    const obj = verified('plain', 'keys', 'head');
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'failed');
    const sv = condition(obj, 'SourceVerified')!;
    assert.equal(sv.status, 'False');
    assert.equal(sv.reason, 'InvalidCommitSignature');
    assert.equal(sv.message, `signature verification of commit '${c.plain}' failed: the commit is not signed`);
    assert.equal(condition(obj, 'Ready')?.status, 'False');
    assert.equal(condition(obj, 'Ready')?.reason, 'InvalidCommitSignature');
    assert.equal(res.status.artifact, undefined);
    assert.deepEqual(res.events.map((e) => [e.type, e.reason]), [['Warning', 'InvalidCommitSignature']]);
  });

  test('commit signed by a key not in the Secret fails', async () => {
    const obj = verified('other');
    await reconcile(obj, env.deps);
    assert.equal(condition(obj, 'SourceVerified')?.status, 'False');
    assert.match(condition(obj, 'SourceVerified')!.message, /not in the Secret/);
  });

  test('a tampered commit (signature no longer matches) fails', async () => {
    const obj = verified('tampered');
    await reconcile(obj, env.deps);
    assert.equal(condition(obj, 'SourceVerified')?.status, 'False');
    assert.match(condition(obj, 'SourceVerified')!.message, new RegExp(`commit '${c.tampered}' failed: bad signature`));
  });

  test('SSH-signed commit verified with the SSH public key in the Secret; other SSH keys fail', async () => {
    const obj = verified('ssh');
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'stored', JSON.stringify(res.status.conditions));
    assert.match(condition(obj, 'SourceVerified')!.message, new RegExp(`commit '${c.ssh}' with key 'SHA256:[A-Za-z0-9+/]+'`));

    const wrong = verified('ssh', 'other-keys');
    await reconcile(wrong, env.deps);
    assert.equal(condition(wrong, 'SourceVerified')?.status, 'False');
    assert.equal(condition(wrong, 'SourceVerified')?.reason, 'InvalidCommitSignature');
  });

  test('a failing verification keeps the last good artifact', async () => {
    const obj = verified('gpg');
    const first = await reconcile(obj, env.deps);
    assert.equal(first.outcome, 'stored');
    obj.spec.ref = { branch: 'plain' };
    obj.metadata.generation = 2;
    const res = await reconcile(obj, env.deps);
    assert.equal(res.outcome, 'failed');
    assert.deepEqual(res.status.artifact, first.status.artifact);
    assert.equal(res.artifactDir, first.artifactDir);
    assert.equal(condition(obj, 'ArtifactInStorage')?.status, 'True');
  });

  test('Tag mode: a signed tag verifies (OpenPGP and SSH); lightweight and unsigned tags fail', async () => {
    const pgpTag = gitRepository({ url: srv.url('signed'), ref: { tag: 'v1.0.0' }, verify: { mode: 'Tag', secretRef: { name: 'keys' } } });
    const res = await reconcile(pgpTag, env.deps);
    assert.equal(res.outcome, 'stored', JSON.stringify(res.status.conditions));
    assert.equal(condition(pgpTag, 'SourceVerified')?.message, `verified signature of\n\t- tag 'v1.0.0' with key '${gpg.keyId}'`);
    assert.equal(res.status.sourceVerificationMode, 'Tag');

    const sshTag = gitRepository({ url: srv.url('signed'), ref: { semver: '2.x' }, verify: { mode: 'Tag', secretRef: { name: 'keys' } } });
    assert.equal((await reconcile(sshTag, env.deps)).outcome, 'stored');
    assert.match(condition(sshTag, 'SourceVerified')!.message, /tag 'v2\.0\.0' with key 'SHA256:/);

    const light = gitRepository({ url: srv.url('signed'), ref: { tag: 'v1.0.0-light' }, verify: { mode: 'Tag', secretRef: { name: 'keys' } } });
    await reconcile(light, env.deps);
    assert.equal(condition(light, 'SourceVerified')?.reason, 'InvalidGitObject');
    assert.equal(condition(light, 'SourceVerified')?.message, "cannot verify signature of tag 'v1.0.0-light' since it is not signed");

    const unsigned = gitRepository({ url: srv.url('signed'), ref: { tag: 'v1.0.0-unsigned' }, verify: { mode: 'Tag', secretRef: { name: 'keys' } } });
    await reconcile(unsigned, env.deps);
    assert.equal(condition(unsigned, 'SourceVerified')?.reason, 'InvalidGitObject');
  });

  test('TagAndHEAD: both the tag and its commit must be signed', async () => {
    const both = gitRepository({ url: srv.url('signed'), ref: { tag: 'v1.0.0' }, verify: { mode: 'TagAndHEAD', secretRef: { name: 'keys' } } });
    await reconcile(both, env.deps);
    assert.equal(
      condition(both, 'SourceVerified')?.message,
      `verified signature of\n\t- tag 'v1.0.0' with key '${gpg.keyId}'\n\t- commit '${c.gpg}' with key '${gpg.keyId}'`,
    );
    // v3.0.0 is a signed tag on an unsigned commit.
    const tagOnly = gitRepository({ url: srv.url('signed'), ref: { name: 'refs/tags/v3.0.0' }, verify: { mode: 'TagAndHEAD', secretRef: { name: 'keys' } } });
    await reconcile(tagOnly, env.deps);
    assert.equal(condition(tagOnly, 'SourceVerified')?.status, 'False');
    assert.equal(condition(tagOnly, 'SourceVerified')?.reason, 'InvalidCommitSignature');
  });

  test('Tag mode without a tag reference stalls; a missing key Secret is a VerificationError', async () => {
    const noTag = gitRepository({ url: srv.url('signed'), ref: { branch: 'gpg' }, verify: { mode: 'Tag', secretRef: { name: 'keys' } } });
    const res = await reconcile(noTag, env.deps);
    assert.equal(res.outcome, 'stalled');
    assert.equal(condition(noTag, 'Stalled')?.reason, 'InvalidVerificationMode');
    assert.equal(condition(noTag, 'SourceVerified')?.message, "cannot verify tag object's signature if a tag reference is not specified");
    assert.equal(condition(noTag, 'Reconciling'), undefined);
    assert.equal(res.status.observedGeneration, 1);

    const noSecret = verified('gpg', 'missing-keys');
    await reconcile(noSecret, env.deps);
    assert.equal(condition(noSecret, 'SourceVerified')?.reason, 'VerificationError');
    assert.match(condition(noSecret, 'SourceVerified')!.message, /^PGP public keys secret error: .*missing-keys/);
  });
});
