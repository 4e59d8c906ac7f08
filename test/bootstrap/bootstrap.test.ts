import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { generateTls, startGitHttpServer, startGitSshServer, TestRepo, type GitHttpServer, type GitSshServer, type TlsMaterial } from '../gitserver/index.ts';
import { git } from '../gitserver/repo.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { ControllerProcess } from '../runtime/helpers.ts';
import { dropFinalizers, ksPath } from '../runtime/objects.ts';
import { collect, type Result } from '../cli/sluice.ts';
import { closeAll } from '../cleanup.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';

// `sluice bootstrap git` end to end: an empty repository on a loopback HTTPS
// server with basic auth and on sshd with key auth; the components, sync
// manifests and Secret; a second run that changes nothing; a refused move; a
// commit to gotk-components.yaml that upgrades the installation. A `sluice
// controller` process stands in for the controller pod (KWOK runs no containers).

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const PASSWORD = 'bootstrap-s3cret-pass';

let client: KubeClient;
let root: string;
let tls: TlsMaterial;
let https: GitHttpServer;
let sshd: GitSshServer;
let httpsRepo: TestRepo;
let sshRepo: TestRepo;
let nsHttps: TestNamespace;
let nsSsh: TestNamespace;
const controllers: ControllerProcess[] = [];

function bootstrap(args: string[], stdin?: string): Promise<Result> {
  return testKubeconfig().then((kubeconfig) => {
    const child = spawn(process.execPath, [bin, 'bootstrap', 'git', ...args, `--kubeconfig=${kubeconfig}`, '--timeout=2m'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin!.end(stdin ?? '');
    return collect(child);
  });
}

async function startController(ns: string): Promise<void> {
  const c = ControllerProcess.start(`controller-${ns}`, [
    `--kubeconfig=${await testKubeconfig()}`,
    `--watch-namespace=${ns}`,
    '--metrics-addr=127.0.0.1:0',
    '--storage-addr=127.0.0.1:0',
    `--storage-path=${join(root, `data-${ns}`)}`,
  ]);
  controllers.push(c);
}

before(async () => {
  client = await adminClient();
  root = await mkdtemp(join(tmpdir(), 'sluice-bootstrap-test-'));
  tls = await generateTls();
  https = await startGitHttpServer({ root: join(root, 'https'), tls, basicAuth: { username: 'fleet-bot', password: PASSWORD } });
  httpsRepo = await TestRepo.create(join(root, 'https'), 'fleet', { defaultBranch: 'main' });
  sshd = await startGitSshServer({ root: join(root, 'ssh') });
  sshRepo = await TestRepo.create(join(root, 'ssh'), 'fleet', { defaultBranch: 'main' });
  await writeFile(join(root, 'ca.crt'), tls.caCert);
  await writeFile(join(root, 'id'), sshd.clientKey.privateKey, { mode: 0o600 });
  nsHttps = await testNamespace('boot-https');
  nsSsh = await testNamespace('boot-ssh');
  // The controller stops when its CRDs are missing; the pod it stands in for
  // starts after the bootstrap applied them. On a fresh cluster they are put
  // in first here (the bootstrap applies them again, unchanged).
  await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  await startController(nsHttps.name);
  await startController(nsSsh.name);
});

after(async () => {
  await closeAll(
    // The controllers stop first: the bootstrap Kustomization's inventory holds the
    // (shared) CRDs, which its finalizer would prune if a controller were running.
    ...controllers.map((c) => () => c.stop(5_000)),
    ...[nsHttps, nsSsh].map((ns) => ns && (() => dropFinalizers(client, ns.name).catch(() => {}))),
    ...[nsHttps, nsSsh].map((ns) => ns && (() => ns.cleanup())),
    https && (() => https.close()),
    sshd && (() => sshd.close()),
    httpsRepo && (() => httpsRepo.dispose()),
    sshRepo && (() => sshRepo.dispose()),
    tls && (() => tls.dispose()),
    client && (() => client.close()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

const httpsArgs = () => [`--url=${https.url('fleet')}`, '--branch=main', '--path=clusters/dev', `--namespace=${nsHttps.name}`, '--username=fleet-bot', '--password-stdin', `--ca-file=${join(root, 'ca.crt')}`, '--image=sluice:bootstrap-1', '--yes'];

async function show(repo: TestRepo, path: string): Promise<string> {
  return (await git(['show', `main:${path}`], { cwd: repo.bare })).stdout;
}

test('bootstrap over HTTPS with basic auth: an empty repository gets the manifests, the cluster follows it', async () => {
  const res = await bootstrap(httpsArgs(), PASSWORD);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(!(res.stdout + res.stderr).includes(PASSWORD), 'the password is never printed');
  assert.match(res.stdout, /► cluster: context ".*", API server https:\/\/127\.0\.0\.1:\d+/);
  assert.match(res.stdout, /✔ committed and pushed clusters\/dev\/t-boot-https-\w+\/gotk-components\.yaml, .*gotk-sync\.yaml, .*kustomization\.yaml/);
  assert.match(res.stdout, /✔ Kustomization reconciled/);
  assert.match(res.stdout, /✔ bootstrap finished/);

  const ns = nsHttps.name;
  const sync = await show(httpsRepo, `clusters/dev/${ns}/gotk-sync.yaml`);
  assert.match(sync, new RegExp(`kind: GitRepository\\nmetadata:\\n  name: ${ns}\\n  namespace: ${ns}`));
  assert.match(sync, /path: \.\/clusters\/dev/);
  assert.match(await show(httpsRepo, `clusters/dev/${ns}/kustomization.yaml`), /resources:\n  - gotk-components\.yaml\n  - gotk-sync\.yaml/);
  assert.match(await show(httpsRepo, `clusters/dev/${ns}/gotk-components.yaml`), /kind: Deployment/);

  const secret = await client.request<{ data: Record<string, string> }>({ path: `/api/v1/namespaces/${ns}/secrets/${ns}` });
  assert.deepEqual(Object.keys(secret.data).sort(), ['ca.crt', 'password', 'username']);
  assert.equal(Buffer.from(secret.data.password!, 'base64').toString(), PASSWORD);
  const ks = await client.request<KubeObject & { status: { lastAppliedRevision: string } }>({ path: ksPath(ns, ns) });
  assert.equal(ks.status.lastAppliedRevision, `main@sha1:${(await git(['rev-parse', 'main'], { cwd: httpsRepo.bare })).stdout.trim()}`);
  assert.ok(await client.getOrUndefined(`/apis/apps/v1/namespaces/${ns}/deployments/sluice-controller`), 'the controller Deployment is installed');
});

test('the same bootstrap again changes nothing and says so', async () => {
  const head = (await git(['rev-parse', 'main'], { cwd: httpsRepo.bare })).stdout;
  const res = await bootstrap(httpsArgs(), PASSWORD);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /is bootstrapped from this repository already/);
  assert.match(res.stdout, /component and sync manifests are up to date in Git/);
  assert.match(res.stdout, /already bootstrapped: nothing changed/);
  assert.equal((await git(['rev-parse', 'main'], { cwd: httpsRepo.bare })).stdout, head, 'no new commit');
});

test('another --path for an existing installation is refused with why; a wrong password says so without printing it', async () => {
  const moved = await bootstrap(httpsArgs().map((a) => (a === '--path=clusters/dev' ? '--path=clusters/other' : a)), PASSWORD);
  assert.equal(moved.code, 1);
  assert.match(moved.stderr, /already bootstrapped, and its path is \.\/clusters\/dev, not \.\/clusters\/other/);
  const wrong = await bootstrap(httpsArgs(), 'not-the-password');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /auth|credentials|401/i);
  assert.ok(!wrong.stderr.includes('not-the-password'));
});

test('a commit to gotk-components.yaml upgrades the installation: Sluice manages itself from Git', async () => {
  const ns = nsHttps.name;
  const work = join(root, 'upgrade');
  const env = { GIT_SSL_CAINFO: join(root, 'ca.crt') };
  const authed = https.url('fleet').replace('https://', `https://fleet-bot:${PASSWORD}@`);
  await git(['clone', '--quiet', authed, work], { env });
  const file = join(work, `clusters/dev/${ns}/gotk-components.yaml`);
  const text = await readFile(file, 'utf8');
  assert.match(text, /image: sluice:bootstrap-1/);
  await writeFile(file, text.replace(/image: sluice:bootstrap-1/, 'image: sluice:bootstrap-2'));
  await git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '--quiet', '-am', 'upgrade Sluice'], { cwd: work });
  await git(['push', '--quiet', 'origin', 'main'], { cwd: work, env });
  await client.request({
    method: 'PATCH',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories/${ns}`,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': String(Date.now()) } } },
  });
  await eventually('the Deployment runs the new image', async () => {
    const d = await client.request<{ spec: { template: { spec: { containers: Array<{ image: string }> } } } }>({ path: `/apis/apps/v1/namespaces/${ns}/deployments/sluice-controller` });
    return d.spec.template.spec.containers[0]!.image === 'sluice:bootstrap-2' ? true : undefined;
  }, 60_000);
});

test('bootstrap over SSH: host keys fetched and shown by fingerprint, confirmed by --yes; key auth', async () => {
  const ns = nsSsh.name;
  const res = await bootstrap([`--url=${sshd.url('fleet')}`, '--path=clusters/edge', `--namespace=${ns}`, `--private-key-file=${join(root, 'id')}`, '--yes']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /the host keys of \[127\.0\.0\.1\]:\d+ are:\n  \d+ SHA256:\S+ /);
  assert.match(res.stdout, /✔ bootstrap finished/);
  const secret = await client.request<{ data: Record<string, string> }>({ path: `/api/v1/namespaces/${ns}/secrets/${ns}` });
  assert.deepEqual(Object.keys(secret.data).sort(), ['identity', 'identity.pub', 'known_hosts']);
  assert.match(await show(sshRepo, `clusters/edge/${ns}/gotk-sync.yaml`), /url: ssh:\/\//);

  const unconfirmed = await bootstrap([`--url=${sshd.url('fleet')}`, '--path=clusters/edge', `--namespace=${ns}`, `--private-key-file=${join(root, 'id')}`]);
  assert.equal(unconfirmed.code, 1, 'without --yes and without a terminal nothing is trusted');
  assert.match(unconfirmed.stderr, /host keys not confirmed/);
});
