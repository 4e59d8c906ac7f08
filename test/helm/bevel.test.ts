import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { adminClient, eventually } from '../harness.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import type { Operator } from '../../src/controllers/operator.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { releaseHistory } from './helmcli/history.ts';
import { getValues } from './helmcli/getvalues.ts';
import { listReleases } from './helmcli/status.ts';
import { projectRoot } from '../../src/util/paths.ts';
import { clusterTarget, cond, configMapData, hrStatus, startTestOperator, testHelm, untilHR, type HRStatus } from './helpers.ts';
import { closeAll } from '../cleanup.ts';

// The Hyperledger Bevel case, end to end: the layout Bevel writes
// (/work/shared/fixtures/bevel/network.yaml describes it; examples/bevel holds
// it) in a Git repository on loopback, synced by a GitRepository and a
// Kustomization named flux-dev in namespace flux-dev, whose HelmRelease
// (v2beta1, chart path in the GitRepository) becomes a real Helm release.
// flux-dev is a fixed name, so it is cleaned before and after.

const FLUX_NS = 'flux-dev';
const example = join(projectRoot, 'examples', 'bevel');
const orgNs = `supplychain-net-${randomBytes(3).toString('hex')}`;

let client: KubeClient;
let operator: Operator;
let server: GitHttpServer;
let repo: TestRepo;
let root: string;

async function removeNamespace(name: string): Promise<void> {
  await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${name}` }).catch(() => {});
  await eventually(`namespace ${name} gone`, async () => ((await client.getOrUndefined(`/api/v1/namespaces/${name}`)) ? undefined : true), 120_000);
}

/** The example repository's files, with the organization's namespace made unique for this run. */
async function exampleFiles(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out[relative(join(example, 'repo'), p)] = (await readFile(p, 'utf8')).replaceAll('supplychain-net', orgNs);
    }
  };
  await walk(join(example, 'repo'));
  return out;
}

const caPath = 'releases/dev/supplychain/ca.yaml';

async function editRelease(files: Record<string, string>, edit: (hr: { spec: { values: Record<string, any> } }) => void): Promise<string> {
  const hr = parse(files[caPath]!) as { spec: { values: Record<string, any> } };
  edit(hr);
  files[caPath] = stringify(hr);
  return files[caPath]!;
}

async function pushAndSync(files: Record<string, string>, message: string): Promise<string> {
  const sha = await repo.commitFiles({ [caPath]: files[caPath]! }, message);
  await repo.push();
  await client.request({
    method: 'PATCH',
    path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${FLUX_NS}/gitrepositories/flux-dev`,
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
  });
  return sha;
}

const hrReady = (version: number) => (s: HRStatus) => cond(s, 'Ready')?.status === 'True' && s.history?.[0]?.version === version;

before(async () => {
  client = await adminClient();
  await removeNamespace(FLUX_NS);
  root = await mkdtemp(join(tmpdir(), 'sluice-bevel-git-'));
  server = await startGitHttpServer({ root });
  repo = await TestRepo.create(root, 'network', { defaultBranch: 'develop' });
  operator = await startTestOperator();
});

after(async () => {
  if (client) {
    // The Kustomization prunes what it applied: the HelmRelease (uninstalled) and the namespace.
    await client.request({ method: 'DELETE', path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${FLUX_NS}/kustomizations/flux-dev` }).catch(() => {});
    await removeNamespace(orgNs).catch((err: Error) => process.stderr.write(`# ${err.message}\n`));
    await removeNamespace(FLUX_NS).catch((err: Error) => process.stderr.write(`# ${err.message}\n`));
  }
  await closeAll(
    operator && (() => operator.stop()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
    client && (() => client.close()),
  );
});

describe('Hyperledger Bevel: HelmReleases in Git, synced by flux-dev', () => {
  let files: Record<string, string>;

  test('the release is installed from the chart in the same Git repository', async () => {
    files = await exampleFiles();
    await repo.commitFiles(files, 'bevel: add supplychain CA');
    await repo.push();
    const first = await repo.head();
    // flux-dev.yaml as Bevel's flux role writes it, pointed at the loopback server.
    for (const doc of parseAllDocuments(await readFile(join(example, 'flux-dev.yaml'), 'utf8'))) {
      const o = doc.toJSON() as KubeObject & { spec?: Record<string, any> };
      if (o.kind === 'Namespace') o.metadata.labels = { 'sluice.test/owned': 'true' };
      if (o.kind === 'GitRepository') {
        o.spec!.url = server.url('network');
        o.spec!.interval = '1h';
        delete o.spec!.secretRef;
      }
      if (o.kind === 'Kustomization') o.spec!.interval = '1h';
      const path =
        o.kind === 'Namespace'
          ? '/api/v1/namespaces'
          : o.kind === 'GitRepository'
            ? `/apis/source.toolkit.fluxcd.io/v1/namespaces/${FLUX_NS}/gitrepositories`
            : `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${FLUX_NS}/kustomizations`;
      await client.request({ method: 'POST', path, body: o });
    }
    const s = await untilHR(client, orgNs, 'ca', 'installed', hrReady(1), 120_000);
    assert.equal(cond(s, 'Released')?.reason, 'InstallSucceeded');
    assert.equal(cond(s, 'Released')?.message, `Helm install succeeded for release ${orgNs}/supplychain-ca.v1 with chart ca-server@1.0.0`);
    // The HelmChart, named <namespace>-<name>, lives beside the GitRepository.
    assert.equal(s.helmChart, `${FLUX_NS}/${orgNs}-ca`);
    const hc = await client.request<KubeObject>({ path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${FLUX_NS}/helmcharts/${orgNs}-ca` });
    assert.equal((hc.spec as { chart: string }).chart, 'charts/ca-server');
    assert.equal(cond(hc.status as never, 'Ready')?.reason, 'ChartPackageSucceeded');
    assert.equal((hc.status as { observedSourceArtifactRevision: string }).observedSourceArtifactRevision, `develop@sha1:${first}`);
    // The HelmRelease object came from Git in the old API version and is served in every version.
    const beta = await client.request<KubeObject>({ path: `/apis/helm.toolkit.fluxcd.io/v2beta1/namespaces/${orgNs}/helmreleases/ca` });
    assert.equal(beta.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'flux-dev');
    // A real release: helm sees it; the pre-install hook ran.
    const cli = await testHelm();
    const target = await clusterTarget();
    const list = await listReleases(cli, target, orgNs);
    assert.deepEqual(list.map((r) => [r.name, r.status, r.chart, r.app_version]), [['supplychain-ca', 'deployed', 'ca-server-1.0.0', '1.5.7']]);
    const job = await client.request<KubeObject>({ path: `/apis/batch/v1/namespaces/${orgNs}/jobs/ca-crypto-init` });
    assert.ok((job.status as { succeeded?: number }).succeeded, 'the pre-install hook Job completed');
    assert.equal((await configMapData(client, orgNs, 'ca-config'))!.FABRIC_CA_SERVER_PORT, '7054');
  });

  test('a commit that changes values upgrades the release', async () => {
    await editRelease(files, (hr) => {
      hr.spec.values.server.port = 7055;
      hr.spec.values.server.tlsEnabled = false;
    });
    const sha = await pushAndSync(files, 'bevel: CA on 7055 without TLS');
    await eventually('Kustomization applied the commit', async () => {
      const k = await client.request<KubeObject>({ path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${FLUX_NS}/kustomizations/flux-dev` });
      return k.status?.lastAppliedRevision === `develop@sha1:${sha}` ? true : undefined;
    }, 60_000);
    const s = await untilHR(client, orgNs, 'ca', 'upgraded', hrReady(2));
    assert.equal(cond(s, 'Released')?.reason, 'UpgradeSucceeded');
    const data = (await configMapData(client, orgNs, 'ca-config'))!;
    assert.equal(data.FABRIC_CA_SERVER_PORT, '7055');
    assert.equal(data.FABRIC_CA_SERVER_TLS_ENABLED, 'false');
    const values = await getValues(await testHelm(), await clusterTarget(), orgNs, 'supplychain-ca');
    assert.deepEqual(values.server, { name: 'ca', port: 7055, tlsEnabled: false });
  });

  test('a commit that breaks the release is rolled back', async () => {
    await editRelease(files, (hr) => {
      hr.spec.values.server.port = 70000; // the API server refuses this Service port
    });
    await pushAndSync(files, 'bevel: a port out of range');
    const s = await untilHR(client, orgNs, 'ca', 'rolled back', (x) => cond(x, 'Remediated')?.reason === 'RollbackSucceeded' && cond(x, 'Stalled')?.status === 'True', 120_000);
    assert.equal(cond(s, 'Released')?.reason, 'UpgradeFailed');
    assert.match(cond(s, 'Released')!.message, /70000/);
    assert.equal(cond(s, 'Ready')?.status, 'False');
    assert.equal(s.upgradeFailures, 1);
    const hist = await releaseHistory(await testHelm(), await clusterTarget(), orgNs, 'supplychain-ca');
    assert.deepEqual(hist.map((e) => [e.revision, e.status]), [
      [1, 'superseded'],
      [2, 'superseded'],
      [3, 'failed'],
      [4, 'deployed'],
    ]);
    assert.equal(hist[3]!.description, 'Rollback to 2');
    assert.equal((await configMapData(client, orgNs, 'ca-config'))!.FABRIC_CA_SERVER_PORT, '7055', 'the last good release runs');
    const st = await hrStatus(client, orgNs, 'ca');
    assert.deepEqual(st.history?.map((h) => [h.version, h.status]).slice(0, 3), [
      [4, 'deployed'],
      [3, 'failed'],
      [2, 'superseded'],
    ]);
  });
});
