import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  generateTls,
  startGitHttpServer,
  startGitSshServer,
  TestRepo,
  type GitHttpServer,
  type GitSshServer,
  type TlsMaterial,
} from '../gitserver/index.ts';
import { condition, gitRepository, readText, reconcile, sourceEnv, watchCommandLines, type SourceEnv } from './helpers.ts';
import type { ReconcileResult } from '../../src/source/git/reconcile.ts';

// test: no cluster
import { closeAll, settle } from '../cleanup.ts';

// Credentials from Secrets over HTTP basic, bearer, HTTPS with a private CA,
// mutual TLS and SSH; and that no credential shows up in a message or on a
// command line.

const USER = 'flux-user';
const PASSWORD = 'pa55-w0rd-7f3c9e1d';
const TOKEN = 'tok-8d2b6a4f0c1e9b7a5d3f';

describe('authentication', () => {
  let env: SourceEnv;
  let repo: TestRepo;
  let basic: GitHttpServer;
  let bearer: GitHttpServer;
  let tls: TlsMaterial;
  let https: GitHttpServer;
  let mtls: GitHttpServer;
  let ssh: GitSshServer;
  let secretsTmp: string;
  const messages: string[] = [];
  const secretNeedles: string[] = [PASSWORD, TOKEN, Buffer.from(`${USER}:${PASSWORD}`).toString('base64')];

  /** Reconciles and remembers every message the result carries. */
  const reconcileAndCollect = async (obj: Parameters<typeof reconcile>[0]): Promise<ReconcileResult> => {
    const res = await reconcile(obj, env.deps);
    for (const c of res.status.conditions ?? []) messages.push(c.message);
    for (const e of res.events) messages.push(e.message);
    return res;
  };

  before(async () => {
    env = await sourceEnv();
    secretsTmp = join(env.tmp, 'secrets-tmp');
    await mkdir(secretsTmp);
    env.deps.secretsTmpDir = secretsTmp;
    repo = await TestRepo.create(env.repoRoot, 'private');
    await repo.commitFiles({ 'deploy.yaml': 'kind: ConfigMap\n' }, 'private content');
    await repo.push();
    tls = await generateTls();
    // settle, not Promise.all, and each server in its variable as soon as it
    // runs: when sshd cannot start, after() still closes the HTTP servers.
    await settle([
      startGitHttpServer({ root: env.repoRoot, basicAuth: { username: USER, password: PASSWORD } }).then((s) => (basic = s)),
      startGitHttpServer({ root: env.repoRoot, bearerToken: TOKEN }).then((s) => (bearer = s)),
      startGitHttpServer({ root: env.repoRoot, tls, basicAuth: { username: USER, password: PASSWORD } }).then((s) => (https = s)),
      startGitHttpServer({ root: env.repoRoot, tls, requireClientCert: true }).then((s) => (mtls = s)),
      startGitSshServer({ root: env.repoRoot }).then((s) => (ssh = s)),
    ]);
    secretNeedles.push(
      ...ssh.clientKey.privateKey.split('\n').filter((l) => l.length > 20),
      ...ssh.protectedClientKey.privateKey.split('\n').filter((l) => l.length > 20),
      ssh.protectedClientKey.passphrase,
      ...tls.clientKey.split('\n').filter((l) => l.length > 20),
    );
  });

  after(async () => {
    await closeAll(
      ...[basic, bearer, https, mtls, ssh].map((s) => s && (() => s.close())),
      repo && (() => repo.dispose()),
      env && (() => env.cleanup()),
    );
  });

  test('basic auth: no Secret and a wrong password fail with AuthenticationFailed; the right one works', async () => {
    const anon = gitRepository({ url: basic.url('private') });
    await reconcileAndCollect(anon);
    assert.equal(condition(anon, 'FetchFailed')?.reason, 'AuthenticationFailed');
    assert.match(condition(anon, 'FetchFailed')!.message, /authentication failed/);

    env.setSecret('basic-wrong', { username: USER, password: 'wrong-password-123' });
    const wrong = gitRepository({ url: basic.url('private'), secretRef: { name: 'basic-wrong' } });
    const res = await reconcileAndCollect(wrong);
    assert.equal(res.outcome, 'failed');
    assert.equal(condition(wrong, 'FetchFailed')?.reason, 'AuthenticationFailed');
    assert.equal(condition(wrong, 'Ready')?.reason, 'AuthenticationFailed');
    assert.match(condition(wrong, 'FetchFailed')!.message, /authentication failed for 'http:\/\/127\.0\.0\.1:\d+\/private\.git'/);
    assert.ok(!condition(wrong, 'FetchFailed')!.message.includes('wrong-password-123'));

    env.setSecret('basic', { username: USER, password: PASSWORD });
    const right = gitRepository({ url: basic.url('private'), secretRef: { name: 'basic' } });
    const ok = await reconcileAndCollect(right);
    assert.equal(ok.outcome, 'stored');
    assert.equal(await readText(ok.artifactDir!, 'deploy.yaml'), 'kind: ConfigMap\n');

    // A fixed Secret recovers the failing object, with a Succeeded event.
    env.setSecret('basic-wrong', { username: USER, password: PASSWORD });
    const recovered = await reconcileAndCollect(wrong);
    assert.equal(recovered.outcome, 'stored');
    assert.equal(condition(wrong, 'FetchFailed'), undefined);
    assert.equal(condition(wrong, 'Ready')?.status, 'True');
  });

  test('a missing Secret or incomplete keys: AuthenticationFailed with a clear message', async () => {
    const missing = gitRepository({ url: basic.url('private'), secretRef: { name: 'does-not-exist' } });
    await reconcileAndCollect(missing);
    assert.equal(condition(missing, 'FetchFailed')?.reason, 'AuthenticationFailed');
    assert.equal(condition(missing, 'FetchFailed')?.message, "failed to get secret 'default/does-not-exist': secret not found");

    env.setSecret('half', { username: USER });
    const half = gitRepository({ url: basic.url('private'), secretRef: { name: 'half' } });
    await reconcileAndCollect(half);
    assert.match(condition(half, 'FetchFailed')!.message, /'password' is required when 'username' is set/);
  });

  test('bearer token: wrong fails, right works', async () => {
    env.setSecret('bearer-wrong', { bearerToken: 'not-the-token-xyz' });
    const wrong = gitRepository({ url: bearer.url('private'), secretRef: { name: 'bearer-wrong' } });
    await reconcileAndCollect(wrong);
    assert.equal(condition(wrong, 'FetchFailed')?.reason, 'AuthenticationFailed');
    assert.ok(!JSON.stringify(wrong.status).includes('not-the-token-xyz'));

    env.setSecret('bearer', { bearerToken: TOKEN });
    const right = gitRepository({ url: bearer.url('private'), secretRef: { name: 'bearer' } });
    assert.equal((await reconcileAndCollect(right)).outcome, 'stored');
  });

  test('HTTPS with a private CA: fails without ca.crt, works with ca.crt (or caFile) from the Secret', async () => {
    env.setSecret('https-noca', { username: USER, password: PASSWORD });
    const noCa = gitRepository({ url: https.url('private'), secretRef: { name: 'https-noca' } });
    await reconcileAndCollect(noCa);
    assert.equal(condition(noCa, 'FetchFailed')?.reason, 'GitOperationFailed');
    assert.match(condition(noCa, 'FetchFailed')!.message, /TLS certificate verification failed/);

    env.setSecret('https', { username: USER, password: PASSWORD, 'ca.crt': tls.caCert });
    const withCa = gitRepository({ url: https.url('private'), secretRef: { name: 'https' } });
    assert.equal((await reconcileAndCollect(withCa)).outcome, 'stored');

    env.setSecret('https-cafile', { username: USER, password: PASSWORD, caFile: tls.caCert });
    const withCaFile = gitRepository({ url: https.url('private'), secretRef: { name: 'https-cafile' } });
    assert.equal((await reconcileAndCollect(withCaFile)).outcome, 'stored');
  });

  test('mutual TLS with tls.crt and tls.key', async () => {
    env.setSecret('mtls-none', { 'ca.crt': tls.caCert });
    const none = gitRepository({ url: mtls.url('private'), secretRef: { name: 'mtls-none' } });
    assert.equal((await reconcileAndCollect(none)).outcome, 'failed');

    env.setSecret('mtls', { 'ca.crt': tls.caCert, 'tls.crt': tls.clientCert, 'tls.key': tls.clientKey });
    const ok = gitRepository({ url: mtls.url('private'), secretRef: { name: 'mtls' } });
    assert.equal((await reconcileAndCollect(ok)).outcome, 'stored');

    env.setSecret('mtls-half', { 'ca.crt': tls.caCert, 'tls.crt': tls.clientCert });
    const half = gitRepository({ url: mtls.url('private'), secretRef: { name: 'mtls-half' } });
    await reconcileAndCollect(half);
    assert.match(condition(half, 'FetchFailed')!.message, /'tls\.crt' and 'tls\.key' must be set together/);
  });

  test('SSH with key auth and the right known_hosts', async () => {
    env.setSecret('ssh', { identity: ssh.clientKey.privateKey, 'identity.pub': ssh.clientKey.publicKey, known_hosts: ssh.knownHosts });
    const obj = gitRepository({ url: ssh.url('private'), secretRef: { name: 'ssh' } });
    const res = await reconcileAndCollect(obj);
    assert.equal(res.outcome, 'stored', JSON.stringify(res.status.conditions));
    assert.equal(await readText(res.artifactDir!, 'deploy.yaml'), 'kind: ConfigMap\n');
    // And a second poll: ls-remote over ssh only.
    const again = await reconcileAndCollect(obj);
    assert.equal(again.outcome, 'unchanged');
  });

  test('SSH with a passphrase-protected key and its password', async () => {
    env.setSecret('ssh-pass', {
      identity: ssh.protectedClientKey.privateKey,
      password: ssh.protectedClientKey.passphrase,
      known_hosts: ssh.knownHosts,
    });
    const obj = gitRepository({ url: ssh.url('private'), secretRef: { name: 'ssh-pass' } });
    const res = await reconcileAndCollect(obj);
    assert.equal(res.outcome, 'stored', JSON.stringify(res.status.conditions));
  });

  test('SSH: a changed host key fails and says so', async () => {
    env.setSecret('ssh-wronghost', { identity: ssh.clientKey.privateKey, known_hosts: ssh.wrongKnownHosts });
    const obj = gitRepository({ url: ssh.url('private'), secretRef: { name: 'ssh-wronghost' } });
    const res = await reconcileAndCollect(obj);
    assert.equal(res.outcome, 'failed');
    const msg = condition(obj, 'FetchFailed')!.message;
    assert.match(msg, /host key verification failed: the SSH host key of '\[127\.0\.0\.1\]:\d+' does not match the one in known_hosts/);
  });

  test('SSH: a host missing from known_hosts fails and says so', async () => {
    const otherHost = ssh.knownHosts.replace(/^\[127\.0\.0\.1\]:\d+/, '[127.0.0.2]:22');
    env.setSecret('ssh-unknownhost', { identity: ssh.clientKey.privateKey, known_hosts: otherHost });
    const obj = gitRepository({ url: ssh.url('private'), secretRef: { name: 'ssh-unknownhost' } });
    await reconcileAndCollect(obj);
    assert.match(condition(obj, 'FetchFailed')!.message, /host key verification failed: no matching SSH host key for '\[127\.0\.0\.1\]:\d+' in known_hosts/);
  });

  test('SSH: a key the server does not accept is AuthenticationFailed; missing known_hosts is refused up front', async () => {
    const other = (await import('node:child_process')).execFileSync;
    const dir = join(env.tmp, 'k');
    await mkdir(dir);
    other('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    env.setSecret('ssh-badkey', { identity: await readFile(join(dir, 'k'), 'utf8'), known_hosts: ssh.knownHosts });
    const bad = gitRepository({ url: ssh.url('private'), secretRef: { name: 'ssh-badkey' } });
    await reconcileAndCollect(bad);
    assert.equal(condition(bad, 'FetchFailed')?.reason, 'AuthenticationFailed');
    assert.match(condition(bad, 'FetchFailed')!.message, /authentication failed/);

    env.setSecret('ssh-nokh', { identity: ssh.clientKey.privateKey });
    const nokh = gitRepository({ url: ssh.url('private'), secretRef: { name: 'ssh-nokh' } });
    await reconcileAndCollect(nokh);
    assert.equal(condition(nokh, 'FetchFailed')?.message, "failed to configure authentication options: invalid 'ssh' auth option: 'known_hosts' is required in the Secret");
  });

  test('an unreachable server: FetchFailed says why, the last artifact stays', async () => {
    // Serve, stop the server, reconcile again.
    const tmpSrv = await startGitHttpServer({ root: env.repoRoot, basicAuth: { username: USER, password: PASSWORD } });
    env.setSecret('basic2', { username: USER, password: PASSWORD });
    const obj = gitRepository({ url: tmpSrv.url('private'), secretRef: { name: 'basic2' } });
    const first = await reconcileAndCollect(obj);
    assert.equal(first.outcome, 'stored');
    await tmpSrv.close();
    const res = await reconcileAndCollect(obj);
    assert.equal(res.outcome, 'failed');
    const ff = condition(obj, 'FetchFailed')!;
    assert.equal(ff.reason, 'GitOperationFailed');
    assert.match(ff.message, /server unreachable for 'http:\/\/127\.0\.0\.1:\d+\/private\.git'.*Connection refused|Failed to connect/);
    assert.deepEqual(res.status.artifact, first.status.artifact, 'last good artifact kept in status');
    assert.equal(res.artifactDir, first.artifactDir);
    assert.equal(await readText(res.artifactDir!, 'deploy.yaml'), 'kind: ConfigMap\n', 'and in storage');
    assert.equal(condition(obj, 'ArtifactInStorage')?.status, 'True');
    assert.equal(condition(obj, 'Ready')?.status, 'False');
    assert.equal(res.status.observedGeneration, 1);
  });

  test('no secret on any command line during fetches, nor in the mirror config, nor left on disk', async () => {
    const slow = await startGitHttpServer({ root: env.repoRoot, basicAuth: { username: USER, password: PASSWORD }, delayMs: 150 });
    const slowBearer = await startGitHttpServer({ root: env.repoRoot, bearerToken: TOKEN, delayMs: 150 });
    try {
      env.setSecret('ps-basic', { username: USER, password: PASSWORD });
      env.setSecret('ps-bearer', { bearerToken: TOKEN });
      env.setSecret('ps-ssh', { identity: ssh.protectedClientKey.privateKey, password: ssh.protectedClientKey.passphrase, known_hosts: ssh.knownHosts });
      const objs = [
        gitRepository({ url: slow.url('private'), secretRef: { name: 'ps-basic' } }),
        gitRepository({ url: slowBearer.url('private'), secretRef: { name: 'ps-bearer' } }),
        gitRepository({ url: ssh.url('private'), secretRef: { name: 'ps-ssh' }, ref: { branch: 'master' } }, 'ps-ssh-obj'),
      ];
      const { result, leaks, samples } = await watchCommandLines(secretNeedles, async () => {
        const out = [];
        for (const o of objs) out.push(await reconcileAndCollect(o));
        return out;
      });
      assert.ok(samples > 5, `sampled ps ${samples} times`);
      assert.deepEqual(leaks, []);
      for (const r of result) assert.equal(r.outcome, 'stored', JSON.stringify(r.status.conditions));
    } finally {
      await slow.close();
      await slowBearer.close();
    }
    // Nothing written into any mirror's config.
    for (const m of await readdir(env.mirrors.dir)) {
      if (!m.endsWith('.git')) continue;
      const config = await readFile(join(env.mirrors.dir, m, 'config'), 'utf8');
      for (const n of secretNeedles) assert.ok(!config.includes(n), `mirror config of ${m} holds a secret`);
      assert.ok(!/extraheader|sslkey|askpass/i.test(config));
    }
    // Key and certificate files were removed after each call.
    assert.deepEqual(await readdir(secretsTmp), []);
  });

  test('no secret in any condition or event message seen in these tests', () => {
    assert.ok(messages.length > 20);
    for (const m of messages) for (const n of secretNeedles) assert.ok(!m.includes(n), `secret in message: ${m}`);
  });
});
