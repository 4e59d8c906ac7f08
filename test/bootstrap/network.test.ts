import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../harness.ts';
import { generateTls, startGitHttpServer, startGitSshServer, TestRepo, type GitHttpServer, type GitSshServer, type TlsMaterial } from '../gitserver/index.ts';
import { git } from '../gitserver/repo.ts';
import { upCluster } from '../../src/dev/cluster/up.ts';
import { stopCluster } from '../../src/dev/cluster/down.ts';
import { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { run } from '../../src/util/exec.ts';
import { ControllerProcess, controllerArgs } from '../runtime/helpers.ts';
import { collect, type Result } from '../cli/sluice.ts';
import { closeAll } from '../cleanup.ts';
import { applyAsFlux, FLUX_CONTROLLERS, fluxBootstrapFiles, fluxComponents, fluxSync } from './fakeflux.ts';

// `sluice bootstrap --network network.yaml`, Hyperledger Bevel's way of
// installing its GitOps operator, end to end: two organizations on two local
// control planes (two SLUICE_HOMEs), one synced over HTTPS with basic auth,
// one over SSH with a key. Each ends with a Bevel-shaped HelmRelease (v2,
// releaseName equal to its name, its chart in the flux-dev GitRepository
// with a file:// dependency outside the chart folder) installed. The SSH
// organization's repository and cluster were bootstrapped by Flux before:
// Sluice takes over (Flux's objects kept, its controllers gone, no workload
// re-created). A `sluice controller` process per cluster stands in for the
// controller pod (KWOK runs no containers); it starts when the bootstrap
// has installed the components, as the pod would.

const bin = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));
const TOKEN = 'bevel-gitops-t0ken';
const NS = 'flux-dev';

interface Org {
  name: string;
  home: string;
  kubeconfig: string;
  client: KubeClient;
  repo: TestRepo;
  releaseDir: string;
  branch: string;
  controller?: ControllerProcess;
}

let root: string;
let tls: TlsMaterial;
let https: GitHttpServer;
let sshd: GitSshServer;
let supplychain: Org;
let carrier: Org;
let networkFile: string;
/** The carrier cluster before the takeover: what must not change. */
let before_: { gitUid: string; ksUid: string; peerUid: string; peerGeneration: number };

const CHART = {
  'charts/fabric-ca-server/Chart.yaml': 'apiVersion: v1\nname: fabric-ca-server\nversion: 1.1.0\nappVersion: "1.5.7"\ndescription: a Bevel-shaped chart\n',
  // Bevel's charts take shared charts from outside their folder.
  'charts/fabric-ca-server/requirements.yaml': 'dependencies:\n  - name: bevel-storageclass\n    repository: "file://../../shared/charts/bevel-storageclass"\n    version: 1.0.0\n',
  'charts/fabric-ca-server/values.yaml': 'metadata:\n  namespace: default\nserver:\n  name: ca\n',
  'charts/fabric-ca-server/templates/configmap.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\n  namespace: {{ .Values.metadata.namespace }}\ndata:\n  FABRIC_CA_SERVER_CA_NAME: {{ .Values.server.name | quote }}\n',
  'shared/charts/bevel-storageclass/Chart.yaml': 'apiVersion: v1\nname: bevel-storageclass\nversion: 1.0.0\n',
  'shared/charts/bevel-storageclass/templates/cm.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-storage\n  namespace: {{ .Values.global.namespace | default .Release.Namespace }}\ndata:\n  provisioner: kubernetes.io/aws-ebs\n',
};

function releaseFiles(org: string, releaseDir: string): Record<string, string> {
  const ns = `${org}-net`;
  return {
    [`${releaseDir}/${org}/namespace.yaml`]: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
    [`${releaseDir}/${org}/ca.yaml`]: `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ${org}-ca
  namespace: ${ns}
  annotations:
    flux.weave.works/automated: "false"
spec:
  releaseName: ${org}-ca
  interval: 1m
  timeout: 2m
  chart:
    spec:
      interval: 1m
      sourceRef:
        kind: GitRepository
        name: flux-dev
        namespace: flux-dev
      chart: charts/fabric-ca-server
  values:
    global:
      namespace: ${ns}
    metadata:
      namespace: ${ns}
    server:
      name: ${org}-ca
`,
  };
}

/** A copy of the cluster's kubeconfig whose context is named as network.yaml names it. */
async function contextFile(kubeconfig: string, context: string, dest: string): Promise<void> {
  await copyFile(kubeconfig, dest);
  const current = (await run('kubectl', ['--kubeconfig', dest, 'config', 'current-context'])).stdout.trim();
  await run('kubectl', ['--kubeconfig', dest, 'config', 'rename-context', current, context]);
}

function network(o: { privateKey?: string; supplychainPassword?: string } = {}): string {
  return `network:
  type: fabric
  version: 2.5.4
  env:
    type: dev
    proxy: none
  organizations:
    - organization:
      name: supplychain
      type: orderer
      k8s:
        context: cluster-supplychain
        config_file: ./kube/supplychain.yaml
      gitops:
        git_protocol: https
        git_url: ${https.url('network')}
        branch: ${supplychain.branch}
        release_dir: ${supplychain.releaseDir}
        chart_source: charts
        username: deployer
        password: ${o.supplychainPassword ?? TOKEN}
        email: deployer@example.test
    - organization:
      name: carrier
      type: peer
      k8s:
        context: cluster-carrier
        config_file: ./kube/carrier.yaml
      gitops:
        git_protocol: ssh
        git_url: ${sshd.url('carrier')}
        branch: ${carrier.branch}
        release_dir: ${carrier.releaseDir}
        chart_source: charts
        username: deployer
        email: deployer@example.test
        private_key: ${o.privateKey ?? './keys/gitops'}
`;
}

/** Runs the command; starts each organization's controller once its components are installed. */
async function bootstrap(args: string[]): Promise<Result> {
  const child = spawn(process.execPath, [bin, 'bootstrap', `--network=${networkFile}`, `--ca-file=${join(root, 'ca.crt')}`, '--image=sluice:bevel-1', '--timeout=3m', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let current: Org | undefined;
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (/^► organizations\[\d\] supplychain$/.test(line)) current = supplychain;
      if (/^► organizations\[\d\] carrier$/.test(line)) current = carrier;
      if (current && !current.controller && /✔ (installed components|components are up to date)/.test(line)) {
        current.controller = ControllerProcess.start(`controller-${current.name}`, controllerArgs({ kubeconfig: current.kubeconfig, dataDir: join(current.home, 'controller-data') }));
      }
    }
  });
  return collect(child);
}

async function newOrg(name: string, repo: TestRepo, branch: string, releaseDir: string): Promise<Org> {
  const home = await mkdtemp(join(tmpdir(), `sluice-bevel-${name}-`));
  const kubeconfig = (await upCluster({ home, nodes: 1 })).kubeconfig;
  return { name, home, kubeconfig, client: await KubeClient.fromFile(kubeconfig), repo, branch, releaseDir };
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'sluice-bevel-'));
  tls = await generateTls();
  https = await startGitHttpServer({ root: join(root, 'https'), tls, basicAuth: { username: 'deployer', password: TOKEN } });
  sshd = await startGitSshServer({ root: join(root, 'ssh') });
  const networkRepo = await TestRepo.create(join(root, 'https'), 'network', { defaultBranch: 'develop' });
  const carrierRepo = await TestRepo.create(join(root, 'ssh'), 'carrier', { defaultBranch: 'main' });
  [supplychain, carrier] = await Promise.all([newOrg('supplychain', networkRepo, 'develop', 'releases/dev'), newOrg('carrier', carrierRepo, 'main', 'releases/carrier')]);
  await writeFile(join(root, 'ca.crt'), tls.caCert);
  await mkdir(join(root, 'config', 'kube'), { recursive: true });
  await mkdir(join(root, 'config', 'keys'), { recursive: true });
  await writeFile(join(root, 'config', 'keys', 'gitops'), sshd.clientKey.privateKey, { mode: 0o600 });
  await contextFile(supplychain.kubeconfig, 'cluster-supplychain', join(root, 'config', 'kube', 'supplychain.yaml'));
  await contextFile(carrier.kubeconfig, 'cluster-carrier', join(root, 'config', 'kube', 'carrier.yaml'));
  networkFile = join(root, 'config', 'network.yaml');
  await writeFile(networkFile, network());

  // The HTTPS organization's repository: charts and releases, never bootstrapped.
  await networkRepo.commitFiles({ ...CHART, ...releaseFiles('supplychain', 'releases/dev') }, 'Bevel: supplychain releases');
  await networkRepo.push();

  // The SSH organization's: bootstrapped by Flux, which runs in its cluster and deployed a peer.
  const components = await fluxComponents(NS);
  const sync = fluxSync(NS, sshd.url('carrier'), 'main', 'releases/carrier');
  const peer: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'peer0', namespace: 'carrier-net' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'peer0' } }, template: { metadata: { labels: { app: 'peer0' } }, spec: { containers: [{ name: 'peer', image: 'hyperledger/fabric-peer:2.5.4' }] } } },
  };
  const files = { ...CHART, ...releaseFiles('carrier', 'releases/carrier'), ...fluxBootstrapFiles(NS, 'releases/carrier', components, sync), 'releases/carrier/carrier/peer0.yaml': `---\n${JSON.stringify(peer)}\n` };
  const head = await carrierRepo.commitFiles(files, 'flux bootstrap, and the carrier peer');
  await carrierRepo.push();
  const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'carrier-net' } };
  await applyAsFlux(carrier.client, NS, [...components, ...sync, ns, peer], `main@sha1:${head}`);
  await carrier.client.request({
    method: 'POST',
    path: '/apis/image.toolkit.fluxcd.io/v1/namespaces/carrier-net/imagepolicies',
    body: { apiVersion: 'image.toolkit.fluxcd.io/v1', kind: 'ImagePolicy', metadata: { name: 'peer' }, spec: { imageRepositoryRef: { name: 'peer' } } },
  });
  const get = <T>(path: string) => carrier.client.request<T & KubeObject>({ path });
  const peerLive = await get<{ metadata: { generation: number } }>('/apis/apps/v1/namespaces/carrier-net/deployments/peer0');
  before_ = {
    gitUid: (await get(`/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/gitrepositories/${NS}`)).metadata.uid!,
    ksUid: (await get(`/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${NS}/kustomizations/${NS}`)).metadata.uid!,
    peerUid: peerLive.metadata.uid!,
    peerGeneration: peerLive.metadata.generation,
  };
});

after(async () => {
  await closeAll(
    ...[supplychain, carrier].map((o) => o?.controller && (() => o.controller!.stop(5_000))),
    ...[supplychain, carrier].map((o) => o?.client && (() => o.client.close())),
    https && (() => https.close()),
    sshd && (() => sshd.close()),
    ...[supplychain, carrier].map((o) => o?.repo && (() => o.repo.dispose())),
    tls && (() => tls.dispose()),
    ...[supplychain, carrier].map(
      (o) =>
        o?.home &&
        (async () => {
          await stopCluster(o.home);
          await rm(o.home, { recursive: true, force: true });
        }),
    ),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

const headOf = async (o: Org) => (await git(['rev-parse', o.branch], { cwd: o.repo.bare })).stdout.trim();

test('bad input names the organization and the field, prints no password, and changes nothing', async () => {
  await writeFile(networkFile, network({ privateKey: './keys/missing' }));
  const missing = await bootstrap(['--yes']);
  assert.equal(missing.code, 1, missing.stdout + missing.stderr);
  assert.match(missing.stderr, /organizations\[1\] carrier: gitops\.private_key: file not found \(.*keys\/missing\)/);
  assert.ok(!(missing.stdout + missing.stderr).includes(TOKEN));

  await writeFile(networkFile, network({ supplychainPassword: 'wrong-token-value' }));
  const wrong = await bootstrap(['--yes', '--org=supplychain']);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /organizations\[0\] supplychain: .*(auth|credentials|401)/i);
  assert.ok(!(wrong.stdout + wrong.stderr).includes('wrong-token-value'), 'never the password');

  await writeFile(networkFile, network());
  const unconfirmed = await bootstrap([]);
  assert.equal(unconfirmed.code, 1, 'no terminal, no --yes: nothing happens');
  assert.match(unconfirmed.stdout, /organizations\[0\] supplychain: cluster context "cluster-supplychain", API server https:\/\/127\.0\.0\.1:\d+/);
  assert.match(unconfirmed.stdout, /organizations\[1\] carrier: the host keys of \[127\.0\.0\.1\]:\d+ are:\n  \d+ SHA256:/);
  assert.match(unconfirmed.stderr, /not confirmed/);

  assert.equal(await supplychain.client.getOrUndefined(`/api/v1/namespaces/${NS}`), undefined, 'nothing installed');
  assert.ok((await carrier.client.getOrUndefined(`/apis/apps/v1/namespaces/${NS}/deployments/kustomize-controller`)), "Flux's controllers untouched");
});

test('--dry-run prints what each cluster would get, and changes nothing', async () => {
  const heads = [await headOf(supplychain), await headOf(carrier)];
  const res = await bootstrap(['--dry-run']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /► organizations\[0\] supplychain \(dry run\)\n► bootstrapping flux-dev from https:\/\/127\.0\.0\.1:\d+\/network\.git \(branch develop, path \.\/releases\/dev\)/);
  assert.match(res.stdout, /would commit releases\/dev\/flux-dev\/gotk-components\.yaml, releases\/dev\/flux-dev\/gotk-sync\.yaml, releases\/dev\/flux-dev\/kustomization\.yaml\n/);
  assert.match(res.stdout, /would commit releases\/carrier\/flux-dev\/gotk-components\.yaml.* \(replacing Flux's gotk-components\.yaml\)/);
  assert.match(res.stdout, /would pause and then remove Flux's controllers: .*kustomize-controller/);
  assert.match(res.stdout, /source Secret flux-dev\/flux-dev \(keys ca\.crt, password, username\)/);
  assert.ok(!res.stdout.includes(TOKEN));
  assert.deepEqual([await headOf(supplychain), await headOf(carrier)], heads, 'no commit');
  assert.equal(await supplychain.client.getOrUndefined(`/api/v1/namespaces/${NS}`), undefined);
});

test('both organizations bootstrapped: Flux taken over on one, the Bevel HelmRelease installed on each', async () => {
  const res = await bootstrap(['--yes']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.ok(!(res.stdout + res.stderr).includes(TOKEN), 'the token is never printed');
  assert.match(res.stdout, /✔ bootstrapped supplychain, carrier/);
  // The takeover says what it changed.
  assert.match(res.stdout, /► Flux runs in flux-dev \(.*kustomize-controller v2\.9\.3.*\): Sluice takes the installation over/);
  assert.match(res.stdout, /Sluice's components replace Flux's/);
  assert.match(res.stdout, /✔ kept CustomResourceDefinition\/imagepolicies\.image\.toolkit\.fluxcd\.io: Sluice does not serve it/);
  for (const c of FLUX_CONTROLLERS) assert.match(res.stdout, new RegExp(`✔ removed Flux's ${c}`));

  // Flux's layout, in each repository and cluster.
  const show = async (o: Org, p: string) => (await git(['show', `${o.branch}:${p}`], { cwd: o.repo.bare })).stdout;
  assert.match(await show(supplychain, 'releases/dev/flux-dev/gotk-sync.yaml'), /kind: Kustomization\nmetadata:\n  name: flux-dev\n  namespace: flux-dev\nspec:\n(.*\n)*  path: \.\/releases\/dev/);
  assert.match(await show(carrier, 'releases/carrier/flux-dev/gotk-components.yaml'), /generated by sluice bootstrap/);
  assert.match((await git(['log', '-1', '--format=%an <%ae>', carrier.branch], { cwd: carrier.repo.bare })).stdout, /deployer <deployer@example\.test>/);

  for (const org of [supplychain, carrier]) {
    const ns = `${org.name}-net`;
    const hr = await eventually(`${org.name}: the HelmRelease Ready`, async () => {
      const h = await org.client.getOrUndefined<KubeObject & { status?: { conditions?: Array<{ type: string; status: string; message?: string }> } }>(`/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns}/helmreleases/${org.name}-ca`);
      return h?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? h : undefined;
    }, 150_000);
    assert.ok(hr);
    const release = await org.client.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${ns}/secrets`, query: { labelSelector: `owner=helm,name=${org.name}-ca` } });
    assert.equal(release.items.length, 1, 'a Helm release named like the HelmRelease (releaseName)');
    const cm = await org.client.request<{ data: Record<string, string> }>({ path: `/api/v1/namespaces/${ns}/configmaps/${org.name}-ca-config` });
    assert.equal(cm.data.FABRIC_CA_SERVER_CA_NAME, `${org.name}-ca`);
    const dep = await org.client.request<{ data: Record<string, string> }>({ path: `/api/v1/namespaces/${ns}/configmaps/${org.name}-ca-storage` });
    assert.equal(dep.data.provisioner, 'kubernetes.io/aws-ebs', 'the file:// dependency outside the chart folder is built in');
  }

  // The takeover kept Flux's objects and the workloads, and removed only Flux's controllers.
  const c = carrier.client;
  const get = <T = KubeObject>(p: string) => c.getOrUndefined<T & KubeObject>(p);
  assert.equal((await get(`/apis/source.toolkit.fluxcd.io/v1/namespaces/${NS}/gitrepositories/${NS}`))!.metadata.uid, before_.gitUid);
  assert.equal((await get(`/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${NS}/kustomizations/${NS}`))!.metadata.uid, before_.ksUid);
  const peer = (await get<{ metadata: { generation: number } }>('/apis/apps/v1/namespaces/carrier-net/deployments/peer0'))!;
  assert.equal(peer.metadata.uid, before_.peerUid, 'the workload was not re-created');
  assert.equal(peer.metadata.generation, before_.peerGeneration, 'nor changed: no restart');
  for (const name of FLUX_CONTROLLERS) assert.equal(await get(`/apis/apps/v1/namespaces/${NS}/deployments/${name}`), undefined, `${name} removed`);
  assert.ok(await get(`/apis/apps/v1/namespaces/${NS}/deployments/sluice-controller`));
  assert.ok(await get('/apis/image.toolkit.fluxcd.io/v1/namespaces/carrier-net/imagepolicies/peer'), 'objects of a kind Sluice does not serve stay');
  await eventually("the rest of Flux's components pruned by the sync", async () => ((await get(`/api/v1/namespaces/${NS}/serviceaccounts/source-controller`)) ? undefined : true), 60_000);
  assert.ok(await get('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/imagepolicies.image.toolkit.fluxcd.io'), 'its CRD is kept');
  assert.equal(await get('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/cluster-reconciler-flux-dev'), undefined, "Flux's cluster-admin binding goes with it");
});

test('the same network again changes nothing and says so', async () => {
  const heads = [await headOf(supplychain), await headOf(carrier)];
  const res = await bootstrap(['--yes']);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.equal(res.stdout.match(/✔ already bootstrapped: nothing changed/g)?.length, 2, res.stdout);
  assert.deepEqual([await headOf(supplychain), await headOf(carrier)], heads);
});
