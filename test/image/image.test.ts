import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { buildImage, type BuildResult } from '../../src/dev/image/build.ts';
import { pushImage } from '../../src/dev/image/push.ts';
import { IMAGE_UID } from '../../src/dev/image/base.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { closeAll } from '../cleanup.ts';
import { startRegistry, type Registry } from './registry.ts';
import { Container, pullByDigest, secureConfig, unpack, type OciConfig } from './runtime.ts';

// The container image, proven: built twice to the same digest (the Debian
// base comes from ~/.cache/sluice/image after the first build on a machine,
// which takes minutes), pushed to Debian's docker-registry on loopback,
// pulled back by digest, unpacked and run by runc with the Deployment's
// restrictions against the local control plane, where the controller inside
// reconciles a GitRepository and a Kustomization from a loopback git server.

let work: string;
let first: BuildResult;
let registry: Registry | undefined;
let ns: TestNamespace | undefined;
let server: GitHttpServer | undefined;
let repo: TestRepo | undefined;
let container: Container | undefined;
const log = (m: string) => process.stderr.write(`# ${m}\n`);

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'sluice-image-'));
  first = await buildImage({ out: join(work, 'a', 'image'), log });
  log(`image ${first.manifest.digest}, ${(first.compressedSize / 1048576).toFixed(1)} MiB compressed, built in ${first.seconds.toFixed(1)} s (base ${first.baseCached ? 'cached' : 'built'})`);
});

after(async () => {
  await closeAll(
    container && (() => container!.stop()),
    repo && (() => repo!.dispose()),
    server && (() => server!.close()),
    ns && (() => ns!.cleanup()),
    registry && (() => registry!.close()),
    work && (() => rm(work, { recursive: true, force: true })),
  );
});

test('the same inputs give the same digest, and a new commit time changes only the app layer', async () => {
  const again = await buildImage({ out: join(work, 'b', 'image') });
  assert.equal(again.manifest.digest, first.manifest.digest, 'a second build is byte-identical');
  assert.equal(await readFile(join(work, 'b', 'image', 'index.json'), 'utf8'), await readFile(join(work, 'a', 'image', 'index.json'), 'utf8'));

  const later = await buildImage({ out: join(work, 'c', 'image'), sourceDateEpoch: 1_800_000_000 });
  assert.notEqual(later.manifest.digest, first.manifest.digest);
  const names = first.layerInfo.map((l) => l.name.split(' ')[0]);
  assert.deepEqual(names, ['debian', 'node', 'tools', 'sluice'], 'base, runtime, tools, app: least changing first');
  const changed = later.layerInfo.filter((l, i) => l.diffId !== first.layerInfo[i]!.diffId).map((l) => l.name.split(' ')[0]);
  assert.deepEqual(changed, ['sluice'], 'only the app layer is rebuilt');
  assert.ok(first.layerInfo[3]!.size < 4 * 1048576, `the app layer is small: ${first.layerInfo[3]!.size} bytes`);

  const config = JSON.parse(await readFile(join(work, 'c', 'image', 'blobs', 'sha256', later.config.digest.slice(7)), 'utf8')) as {
    created: string;
    config: { User: string; Entrypoint: string[]; Labels: Record<string, string> };
  };
  assert.equal(config.created, '2027-01-15T08:00:00Z', 'created from SOURCE_DATE_EPOCH');
  assert.equal(config.config.User, `${IMAGE_UID}:${IMAGE_UID}`);
  assert.equal(config.config.Entrypoint[0], '/usr/bin/tini', 'an init that reaps children is PID 1');
  for (const l of ['version', 'revision', 'created', 'title']) assert.ok(config.config.Labels[`org.opencontainers.image.${l}`], `label ${l}`);

  const packages = await readFile(join(work, 'a', 'image.packages.tsv'), 'utf8');
  for (const p of [/^deb\tgit\t/m, /^deb\topenssh-client\t/m, /^deb\tgpg\t/m, /^deb\ttini\t/m, /^binary\tnode\t24\./m, /^go\thelm\.sh\/helm\/v3\t/m, /^npm\tyaml\t/m]) {
    assert.match(packages, p, 'the package list beside the image');
  }
  assert.doesNotMatch(packages, /^npm\t(tsx|esbuild|typescript)\t/m, 'no build-time packages in the image');
});

test('pushed to a loopback registry, pulled back by digest, run by runc with the Deployment restrictions: the controller reconciles to Ready', async () => {
  registry = await startRegistry();
  const ref = await pushImage({ layout: first.out, tag: first.tag, destination: `${registry.host}/sluice:test`, insecure: true });
  assert.equal(ref, `${registry.host}/sluice@${first.manifest.digest}`, 'the registry has the digest that was built');

  await pullByDigest(ref, join(work, 'pulled'));
  const bundle = join(work, 'bundle');
  const unpacked: OciConfig = await unpack(join(work, 'pulled'), bundle);
  assert.deepEqual(unpacked.process.user, { uid: IMAGE_UID, gid: IMAGE_UID }, 'the image runs as its non-root user');

  // The cluster: CRDs, a namespace, a git server with a kustomize overlay (so
  // the image's kustomize binary runs) holding one ConfigMap.
  const kubeconfig = await testKubeconfig();
  ns = await testNamespace('image');
  await new ResourceManager(ns.client).apply(allCrds() as KubeObject[]);
  const root = join(work, 'git');
  await mkdir(root);
  server = await startGitHttpServer({ root });
  repo = await TestRepo.create(root, 'app', { defaultBranch: 'main' });
  const sha = await repo.commitFiles(
    {
      'deploy/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\ncommonLabels: { from: image }\n',
      'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-the-image\ndata:\n  built: by the container\n',
    },
    'app',
  );
  await repo.push();

  // The kubeconfig, readable by the container's user only, mounted read-only.
  const secrets = join(work, 'secrets');
  await mkdir(secrets);
  await writeFile(join(secrets, 'kubeconfig'), await readFile(kubeconfig));
  await chown(join(secrets, 'kubeconfig'), IMAGE_UID, IMAGE_UID);
  await chmod(join(secrets, 'kubeconfig'), 0o400);
  await secureConfig(bundle, unpacked, {
    entrypointArgs: ['controller', '--kubeconfig=/etc/sluice/kubeconfig', `--watch-namespace=${ns.name}`, '--http-addr=127.0.0.1:0', '--storage-addr=127.0.0.1:0', '--data-dir=/data'],
    binds: [{ source: secrets, destination: '/etc/sluice' }],
  });
  container = new Container(`sluice-image-${randomBytes(3).toString('hex')}`, bundle);
  await eventually(
    'the controller in the container to start',
    async () => {
      if (!container!.running()) throw new Error(`the container exited: ${container!.lines.slice(-20).join('\n')}`);
      if (container!.logs.find((l) => l.msg === 'controller running')) return true;
      throw new Error(`not yet; its output so far:\n${container!.lines.slice(-20).join('\n')}`);
    },
    60_000,
  );

  // What runs inside: the image's user, no capabilities, a read-only root, tini as PID 1.
  const id = await container.exec(['id', '-u']);
  assert.equal(id.stdout.trim(), String(IMAGE_UID), id.stderr);
  const status = await container.exec(['cat', '/proc/self/status']);
  for (const cap of ['CapEff', 'CapPrm', 'CapBnd']) assert.match(status.stdout, new RegExp(`^${cap}:\\s+0+$`, 'm'), `${cap} is empty`);
  assert.match(status.stdout, /^NoNewPrivs:\s+1$/m);
  const touch = await container.exec(['touch', '/opt/sluice/x']);
  assert.notEqual(touch.code, 0);
  assert.match(touch.stderr, /Read-only file system/);
  assert.match((await container.exec(['cat', '/proc/1/cmdline'])).stdout, /^\/usr\/bin\/tini\0/);

  const api = (kind: string, plural: string) => `/apis/${kind}/namespaces/${ns!.name}/${plural}`;
  await ns.client.request({
    method: 'POST',
    path: api('source.toolkit.fluxcd.io/v1', 'gitrepositories'),
    body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'app' }, spec: { url: server.url('app'), interval: '1h', ref: { branch: 'main' } } },
  });
  await ns.client.request({
    method: 'POST',
    path: api('kustomize.toolkit.fluxcd.io/v1', 'kustomizations'),
    body: {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
      kind: 'Kustomization',
      metadata: { name: 'app' },
      spec: { interval: '1h', prune: true, path: './deploy', targetNamespace: ns.name, sourceRef: { kind: 'GitRepository', name: 'app' } },
    },
  });
  type Status = { status?: { conditions?: Array<{ type: string; status: string; message: string }>; lastAppliedRevision?: string } };
  const readyAt = (path: string) =>
    eventually(
      `${path} Ready`,
      async () => {
        const o = await ns!.client.request<Status>({ path });
        const r = o.status?.conditions?.find((c) => c.type === 'Ready');
        if (!container!.running()) throw new Error(`the container exited: ${container!.lines.slice(-20).join('\n')}`);
        return r?.status === 'True' ? o : undefined;
      },
      90_000,
    );
  await readyAt(`${api('source.toolkit.fluxcd.io/v1', 'gitrepositories')}/app`);
  const ks = await readyAt(`${api('kustomize.toolkit.fluxcd.io/v1', 'kustomizations')}/app`);
  assert.equal(ks.status!.lastAppliedRevision, `main@sha1:${sha}`);
  const cm = await ns.client.request<KubeObject & { data: Record<string, string> }>({ path: `/api/v1/namespaces/${ns.name}/configmaps/from-the-image` });
  assert.equal(cm.data.built, 'by the container');
  assert.equal(cm.metadata.labels?.from, 'image', 'rendered by the kustomize binary inside the image');

  await container.stop();
  assert.equal(await container.exited, 0, `a clean stop on SIGTERM through tini: ${container.lines.slice(-5).join('\n')}`);
});
