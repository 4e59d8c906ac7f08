// Benchmark: N Kustomizations with automatic rollback (the controller's
// --auto-rollback), each a Deployment and a ConfigMap, Ready on a good
// commit; then one commit breaks every one of them (a Deployment that never
// becomes Available, with a 2 s progress deadline, and a ConfigMap only that
// revision has). Measured: from the first health check failure (the first
// rollback that starts) to every Kustomization running its healthy revision
// again, the rollback's own health checks passed (RolledBack=True,
// lastAppliedRevision the good one, the bad ConfigMaps gone), and the
// controller's API requests in that window, from its own client.
//
//   node --import tsx bench/rollback.ts [--count 100] [--concurrent 32]
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { upCluster } from '../src/dev/cluster/up.ts';
import { KubeClient } from '../src/kube/client.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { allCrds } from '../src/api/crds.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { startOperator } from '../src/controllers/operator.ts';
import { silentLogger } from '../src/util/log.ts';
import { mapSettled } from '../src/util/pool.ts';
import { startGitHttpServer, TestRepo } from '../test/gitserver/index.ts';
import { deleteNamespace, median, waitFor } from './lib.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100' }, concurrent: { type: 'string', default: '32' } } });
const N = Number(values.count);
const log = (m: string) => process.stderr.write(`# ${m}\n`);

const deployment = (name: string, bad: boolean) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
${bad ? '  progressDeadlineSeconds: 2\n' : ''}  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${bad ? "      nodeSelector: {sluice.test/none: 'true'}\n" : ''}      containers: [{name: app, image: example.invalid/${name}:${bad ? 2 : 1}}]
`;
const configMap = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  a: "1"\n`;

type Ks = KubeObject & { status?: { lastAppliedRevision?: string; lastAttemptedRevision?: string; conditions?: Array<{ type: string; status: string; reason: string }> } };
const cond = (k: Ks, t: string) => k.status?.conditions?.find((c) => c.type === t);

async function main(): Promise<void> {
  const { kubeconfig } = await upCluster({ log });
  const admin = await KubeClient.fromFile(kubeconfig);
  const ns = `bench-rollback-${randomBytes(3).toString('hex')}`;
  const root = await mkdtemp(join(tmpdir(), 'sluice-bench-rollback-'));
  const server = await startGitHttpServer({ root });
  const repo = await TestRepo.create(root, 'app', { defaultBranch: 'main' });
  // The controller's own client, counting what it sends.
  const client = await KubeClient.fromFile(kubeconfig, undefined, { qps: 500, burst: 1000 });
  const sent: Array<{ t: number; kind: 'read' | 'write' | 'dryRun' }> = [];
  const original = client.request.bind(client);
  client.request = (async (o: Parameters<KubeClient['request']>[0]) => {
    const m = o.method ?? 'GET';
    sent.push({ t: Date.now(), kind: m === 'GET' ? 'read' : o.query?.dryRun ? 'dryRun' : 'write' });
    return original(o);
  }) as KubeClient['request'];
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-rollback-data-'));
  let op: Awaited<ReturnType<typeof startOperator>> | undefined;
  try {
    await admin.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
    await new ResourceManager(admin).apply(allCrds() as KubeObject[]);
    const files: Record<string, string> = {};
    for (let i = 0; i < N; i++) {
      files[`app-${i}/web.yaml`] = deployment(`web-${i}`, false);
      files[`app-${i}/cm.yaml`] = configMap(`cm-${i}`);
    }
    const good = `main@sha1:${await repo.commitFiles(files, 'good')}`;
    await repo.push();
    op = await startOperator({ client, log: silentLogger, dataDir, watchNamespace: ns, concurrency: Number(values.concurrent), autoRollback: true, requeueDependencyMs: 1_000 });
    const api = (plural: string) => `/apis/${plural === 'gitrepositories' ? 'source.toolkit.fluxcd.io' : 'kustomize.toolkit.fluxcd.io'}/v1/namespaces/${ns}/${plural}`;
    await admin.request({
      method: 'POST',
      path: api('gitrepositories'),
      body: { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'app' }, spec: { url: server.url('app'), interval: '1h', ref: { branch: 'main' } } },
    });
    await mapSettled([...Array(N).keys()], 16, (i) =>
      admin.request({
        method: 'POST',
        path: api('kustomizations'),
        body: {
          apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
          kind: 'Kustomization',
          metadata: { name: `app-${i}` },
          spec: { interval: '10m', path: `./app-${i}`, prune: true, wait: true, timeout: '2m', targetNamespace: ns, sourceRef: { kind: 'GitRepository', name: 'app' } },
        },
      }),
    );
    const list = async () => (await admin.request<{ items: Ks[] }>({ path: api('kustomizations') })).items;
    const t0 = Date.now();
    await waitFor(`${N} Kustomizations Ready`, 15 * 60_000, async () => {
      const items = await list();
      return items.length === N && items.every((k) => cond(k, 'Ready')?.status === 'True' && k.status?.lastAppliedRevision === good) ? true : undefined;
    }, 1_000);
    log(`${N} Kustomizations Ready on the good revision in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 3_000));

    // One commit breaks every app.
    const badFiles: Record<string, string> = {};
    for (let i = 0; i < N; i++) {
      badFiles[`app-${i}/web.yaml`] = deployment(`web-${i}`, true);
      badFiles[`app-${i}/only-bad.yaml`] = configMap(`only-bad-${i}`);
    }
    const bad = `main@sha1:${await repo.commitFiles(badFiles, 'bad')}`;
    await repo.push();
    const pushed = Date.now();
    await admin.request({ method: 'PATCH', path: `${api('gitrepositories')}/app`, contentType: 'application/merge-patch+json', body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': String(pushed) } } } });
    // Per Kustomization: when its rollback was first seen under way, and when it was done.
    const started = new Map<string, number>();
    const done = new Map<string, number>();
    await waitFor(`${N} Kustomizations rolled back`, 15 * 60_000, async () => {
      const now = Date.now();
      for (const k of await list()) {
        const rb = cond(k, 'RolledBack');
        if (rb && !started.has(k.metadata.name!)) started.set(k.metadata.name!, now);
        if (rb?.status === 'True' && k.status?.lastAppliedRevision === good && k.status.lastAttemptedRevision === bad && !done.has(k.metadata.name!)) done.set(k.metadata.name!, now);
      }
      return done.size === N ? true : undefined;
    }, 250);
    const first = Math.min(...started.values());
    const last = Math.max(...done.values());
    const leftovers = (await admin.request<{ items: KubeObject[] }>({ path: `/api/v1/namespaces/${ns}/configmaps` })).items.filter((c) => c.metadata.name!.startsWith('only-bad-'));
    const window = sent.filter((s) => s.t >= first && s.t <= last);
    const count = (k: string) => window.filter((s) => s.kind === k).length;
    const perKs = [...done.entries()].map(([n, t]) => t - (started.get(n) ?? first));
    const result = {
      count: N,
      pushToFirstRollbackS: (first - pushed) / 1000,
      firstRollbackToAllBackS: (last - first) / 1000,
      pushToAllBackS: (last - pushed) / 1000,
      perKustomizationMedianS: median(perKs) / 1000,
      requests: { total: window.length, reads: count('read'), writes: count('write'), dryRuns: count('dryRun') },
      requestsPerKustomization: window.length / N,
      badObjectsLeft: leftovers.length,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await op?.stop();
    await deleteNamespace(admin, ns, log).catch(() => {});
    await server.close();
    await repo.dispose();
    await rm(root, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
    admin.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
