import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import { HelmCli, type HelmTarget } from '../../src/tools/helmcli.ts';
import { startOperator, type Operator } from '../../src/controllers/operator.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { ensureHelm } from '../../src/tools/gotool.ts';
import { silentLogger, jsonLogger } from '../../src/util/log.ts';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { closeAll } from '../cleanup.ts';

// Helm fixtures for the integration tests: charts written to disk, a chart
// repository served over HTTP on 127.0.0.1 (index.yaml plus `helm package`d
// charts), the real helm CLI pointed at the test cluster, and the operator.

export type Files = Record<string, string>;

/** A chart directory from files (paths relative to the chart root). */
export async function writeChart(dir: string, files: Files): Promise<string> {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, content);
  }
  return dir;
}

/**
 * A small web chart: a ConfigMap with `message`, a Deployment, a Service on
 * `service.port`, optionally a pre-install/pre-upgrade hook Job and a test
 * hook. `broken: true` adds a template that fails to render.
 */
export function webChart(opts: { name?: string; version?: string; hook?: boolean; testHook?: boolean; broken?: boolean; appVersion?: string } = {}): Files {
  const name = opts.name ?? 'web';
  const files: Files = {
    'Chart.yaml': `apiVersion: v2\nname: ${name}\nversion: ${opts.version ?? '0.1.0'}\nappVersion: "${opts.appVersion ?? '1.0.0'}"\n`,
    'values.yaml': 'message: hello\nreplicas: 1\nimage: example.invalid/web:1\nservice:\n  port: 80\n',
    'templates/configmap.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
data:
  message: {{ .Values.message | quote }}
`,
    'templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
    spec:
      containers:
        - name: web
          image: {{ .Values.image }}
`,
    'templates/service.yaml': `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app: {{ .Release.Name }}}
  ports:
    - port: {{ .Values.service.port }}
`,
  };
  if (opts.hook) {
    files['templates/hook-job.yaml'] = `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-setup
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: setup
          image: example.invalid/setup:1
`;
  }
  if (opts.testHook) {
    // A Job, not a bare Pod: KWOK completes the pods of Jobs.
    files['templates/test-job.yaml'] = `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: test
          image: example.invalid/test:1
`;
  }
  if (opts.broken) files['templates/broken.yaml'] = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-broken\ndata:\n  x: {{ .Values.nothing.here }}\n`;
  return files;
}

let cliPromise: Promise<HelmCli> | undefined;

/** The real helm CLI with a home of its own. */
export function testHelm(): Promise<HelmCli> {
  cliPromise ??= (async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-helm-test-'));
    return new HelmCli({ bin: await ensureHelm({ log: (m) => process.stderr.write(`# ${m}\n`) }), home });
  })();
  return cliPromise;
}

/** The test cluster as a helm target (admin kubeconfig). */
export async function clusterTarget(): Promise<HelmTarget> {
  return { kubeconfig: await readFile(await testKubeconfig(), 'utf8') };
}

export interface ChartRepoServer {
  url: string;
  dir: string;
  /** Request paths seen, with their Authorization header. */
  requests: Array<{ path: string; auth?: string }>;
  /** Packages a chart directory into the repository and rewrites index.yaml. */
  publish(chartDir: string): Promise<void>;
  close(): Promise<void>;
}

/** A chart repository on 127.0.0.1: static files, optional basic auth. */
/** `stallArchives`: requests for chart archives (.tgz) are never answered, as a hung server's. */
export async function startChartRepo(opts: { username?: string; password?: string; stallArchives?: boolean } = {}): Promise<ChartRepoServer> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-chartrepo-'));
  const requests: ChartRepoServer['requests'] = [];
  const server = http.createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path, auth: req.headers.authorization });
    if (opts.username) {
      const want = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;
      if (req.headers.authorization !== want) return void res.writeHead(401, { 'www-authenticate': 'Basic' }).end();
    }
    if (opts.stallArchives && path.endsWith('.tgz')) return;
    const file = normalize(join(dir, path));
    if (!file.startsWith(dir + sep)) return void res.writeHead(404).end();
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': st.size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    dir,
    requests,
    async publish(chartDir) {
      const cli = await testHelm();
      await cli.run(['package', chartDir, '--destination', dir]);
      await cli.run(['repo', 'index', dir, '--url', url]);
    },
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * CRDs installed and the operator (all controllers) running in this process.
 * `watchNamespace` keeps it to the test's own namespace, so test files that
 * run at the same time do not reconcile each other's objects. `client` is
 * the operator's own (a test may watch what it sends); an admin client by default.
 */
export async function startTestOperator(opts: { watchNamespace?: string; client?: KubeClient } = {}): Promise<Operator> {
  const client = await adminClient();
  try {
    await new ResourceManager(client).apply(allCrds() as KubeObject[]);
  } finally {
    client.close();
  }
  const operatorClient = opts.client ?? (await adminClient());
  try {
    return await startOperator({
      client: operatorClient,
      log: process.env.SLUICE_TEST_LOG ? jsonLogger({}, 'debug') : silentLogger,
      dataDir: await mkdtemp(join(tmpdir(), 'sluice-helm-data-')),
      requeueDependencyMs: 1_000,
      watchNamespace: opts.watchNamespace,
    });
  } catch (err) {
    if (!opts.client) operatorClient.close();
    throw err;
  }
}

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export type HRStatus = {
  conditions?: Cond[];
  history?: Array<{ name: string; namespace: string; version: number; status: string; chartName: string; chartVersion: string; configDigest: string; digest: string; testHooks?: Record<string, { phase?: string }>; apiVersion?: string; action?: string; ociDigest?: string }>;
  observedPostRenderersDigest?: string;
  observedCommonMetadataDigest?: string;
  lastAttemptedRevision?: string;
  lastAttemptedConfigDigest?: string;
  lastAttemptedValuesChecksum?: string;
  lastAttemptedReleaseAction?: string;
  installFailures?: number;
  upgradeFailures?: number;
  failures?: number;
  observedGeneration?: number;
  helmChart?: string;
  storageNamespace?: string;
  inventory?: { entries: Array<{ id: string; v: string }> };
};

export const cond = (s: { conditions?: Cond[] } | undefined, type: string) => s?.conditions?.find((c) => c.type === type);

export function hrPath(ns: string, name: string, version = 'v2'): string {
  return `/apis/helm.toolkit.fluxcd.io/${version}/namespaces/${ns}/helmreleases/${name}`;
}

export async function hrStatus(client: KubeClient, ns: string, name: string): Promise<HRStatus & { generation?: number }> {
  const o = await client.request<KubeObject>({ path: hrPath(ns, name) });
  return { ...(o.status as HRStatus), generation: o.metadata.generation };
}

/** Waits until the HelmRelease satisfies `ok` (and its status is for the current generation). */
export async function untilHR(
  client: KubeClient,
  ns: string,
  name: string,
  what: string,
  ok: (s: HRStatus) => boolean,
  timeoutMs = 90_000,
): Promise<HRStatus> {
  return eventually(
    `HelmRelease ${ns}/${name}: ${what}`,
    async () => {
      const s = await hrStatus(client, ns, name);
      return ok(s) ? s : undefined;
    },
    timeoutMs,
  );
}

export const readyAt = (version: number) => (s: HRStatus) => cond(s, 'Ready')?.status === 'True' && s.history?.[0]?.version === version && s.observedGeneration === (s as { generation?: number }).generation;

export async function createObject(client: KubeClient, path: string, body: Record<string, unknown>): Promise<void> {
  await client.request({ method: 'POST', path, body });
}

export async function patchSpec(client: KubeClient, path: string, spec: Record<string, unknown>): Promise<void> {
  await client.request({ method: 'PATCH', path, contentType: 'application/merge-patch+json', body: { spec } });
}

export async function configMapData(client: KubeClient, ns: string, name: string): Promise<Record<string, string> | undefined> {
  return (await client.getOrUndefined<{ data?: Record<string, string> }>(`/api/v1/namespaces/${ns}/configmaps/${name}`))?.data;
}

export async function eventsFor(client: KubeClient, ns: string, name: string): Promise<Array<{ reason: string; message: string; type: string }>> {
  const list = await client.request<{ items: Array<{ reason: string; message: string; type: string; involvedObject: { name: string; kind: string } }> }>({
    path: `/api/v1/namespaces/${ns}/events`,
  });
  return list.items.filter((e) => e.involvedObject.name === name);
}

/**
 * Deletes the test namespace while the operator still runs (its HelmReleases
 * carry finalizers: the operator uninstalls them), then stops the operator.
 */
export async function cleanupWithOperator(ns: { name: string; cleanup(): Promise<void> } | undefined, operator: Operator | undefined, timeoutMs = 90_000): Promise<void> {
  const client = await adminClient();
  try {
    if (ns) {
      await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns.name}` }).catch(() => {});
      await eventually(`namespace ${ns.name} deleted`, async () => ((await client.getOrUndefined(`/api/v1/namespaces/${ns.name}`)) ? undefined : true), timeoutMs).catch(
        (err: Error) => process.stderr.write(`# ${err.message}\n`),
      );
    }
  } finally {
    await operator?.stop();
    await ns?.cleanup();
    client.close();
  }
}

/**
 * The usual set-up of a HelmRelease test: its own namespace, the admin
 * client, a loopback chart repository holding the web chart 1.0.0, an
 * operator watching only that namespace, and a HelmRepository `charts` on
 * the repository. `close` uninstalls through the operator and stops it all.
 * If the set-up fails half-way, what it started is stopped before the error
 * is thrown, so the test file still ends.
 */
export interface HelmFixture {
  ns: TestNamespace;
  client: KubeClient;
  operator: Operator;
  /** The chart repository (absent with `chartRepo: false`). */
  repo: ChartRepoServer;
  /** Scratch directory for more charts. */
  work: string;
  close(): Promise<void>;
}

export interface HelmFixtureOptions {
  /** The operator reconciles every namespace, not only the test's own (default false). */
  watchAllNamespaces?: boolean;
  /** The operator's client (a test may watch what it sends); a new admin client by default. */
  operatorClient?: KubeClient;
  /**
   * The chart repository: `auth` puts it behind basic auth, with a Secret
   * `repo-auth` holding the credentials and the HelmRepository's secretRef
   * to it; `chart` and `dir` say what is published first (webChart 1.0.0 from
   * `<work>/web` by default). false: no chart repository and no HelmRepository.
   */
  chartRepo?: false | { auth?: { username: string; password: string }; chart?: Parameters<typeof webChart>[0]; dir?: string };
}

export async function startHelmFixture(label: string, opts: HelmFixtureOptions = {}): Promise<HelmFixture> {
  let ns: TestNamespace | undefined;
  let client: KubeClient | undefined;
  let work: string | undefined;
  let repo: ChartRepoServer | undefined;
  let operator: Operator | undefined;
  let operatorClient = opts.operatorClient;
  const close = () =>
    closeAll(
      // cleanupWithOperator stops the operator, which closes its client.
      () => cleanupWithOperator(ns, operator),
      !operator && operatorClient && (() => operatorClient!.close()),
      repo && (() => repo!.close()),
      work && (() => rm(work!, { recursive: true, force: true })),
      client && (() => client!.close()),
    );
  try {
    ns = await testNamespace(label);
    client = await adminClient();
    work = await mkdtemp(join(tmpdir(), 'sluice-helm-charts-'));
    const repoOpts = opts.chartRepo === false ? undefined : (opts.chartRepo ?? {});
    if (repoOpts) {
      repo = await startChartRepo(repoOpts.auth ?? {});
      await repo.publish(await writeChart(join(work, repoOpts.dir ?? 'web'), webChart(repoOpts.chart ?? { version: '1.0.0' })));
    }
    operatorClient ??= await adminClient();
    operator = await startTestOperator({ client: operatorClient, watchNamespace: opts.watchAllNamespaces ? undefined : ns.name });
    if (repo && repoOpts) {
      if (repoOpts.auth) {
        await createObject(client, `/api/v1/namespaces/${ns.name}/secrets`, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'repo-auth' },
          stringData: { username: repoOpts.auth.username, password: repoOpts.auth.password },
        });
      }
      await createObject(client, `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns.name}/helmrepositories`, {
        apiVersion: 'source.toolkit.fluxcd.io/v1',
        kind: 'HelmRepository',
        metadata: { name: 'charts' },
        spec: { url: repo.url, interval: '1h', ...(repoOpts.auth ? { secretRef: { name: 'repo-auth' } } : {}) },
      });
    }
  } catch (err) {
    await close().catch((e: Error) => process.stderr.write(`# clean-up after a failed set-up: ${e.message}\n`));
    throw err;
  }
  return { ns, client, operator, repo: repo!, work, close };
}
