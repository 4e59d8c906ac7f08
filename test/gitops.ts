import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from './harness.ts';
import { startGitHttpServer, TestRepo, type FileContent, type GitHttpServer } from './gitserver/index.ts';
import { startOperator, type Operator, type OperatorOptions } from '../src/controllers/operator.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { allCrds } from '../src/api/crds.ts';
import { silentLogger } from '../src/util/log.ts';
import { KubeClient } from '../src/kube/client.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { Teardown } from './cleanup.ts';

export interface Cond {
  type: string;
  status: string;
  reason: string;
  message: string;
}

export type KsStatus = {
  conditions?: Cond[];
  lastAppliedRevision?: string;
  lastAttemptedRevision?: string;
  inventory?: { entries: Array<{ id: string; v: string }> };
  observedGeneration?: number;
};

/**
 * A GitOps setup for a test: its own namespace, a loopback git server with
 * one repository, the CRDs, and the operator running in this process and
 * watching only that namespace.
 */
export class GitOps {
  private constructor(
    readonly ns: TestNamespace,
    readonly client: KubeClient,
    readonly server: GitHttpServer,
    readonly repo: TestRepo,
    readonly operator: Operator,
    private readonly teardown: Teardown,
  ) {}

  static async start(label: string, operator: Partial<OperatorOptions> = {}): Promise<GitOps> {
    // Each part is registered for close() as soon as it runs, so a set-up
    // that fails half-way stops what it started and the test file can end.
    const t = new Teardown();
    try {
      const ns = await t.add(testNamespace(label), (n) => n.cleanup());
      const client = await t.add(adminClient(), (c) => c.close());
      const root = await t.add(mkdtemp(join(tmpdir(), 'sluice-gitops-')), (d) => rm(d, { recursive: true, force: true }));
      const server = await t.add(startGitHttpServer({ root }), (s) => s.close());
      const repo = await t.add(TestRepo.create(root, 'app', { defaultBranch: 'main' }), (r) => r.dispose());
      await new ResourceManager(client).apply(allCrds() as KubeObject[]);
      const operatorClient = operator.client ?? (await KubeClient.fromFile(await testKubeconfig()));
      const op = await startOperator({
        client: operatorClient,
        log: silentLogger,
        dataDir: await mkdtemp(join(tmpdir(), 'sluice-gitops-data-')),
        requeueDependencyMs: 1_000,
        watchNamespace: ns.name,
        ...operator,
      }).catch((err: unknown) => {
        operatorClient.close();
        throw err;
      });
      t.defer(() => op.stop());
      return new GitOps(ns, client, server, repo, op, t);
    } catch (err) {
      return t.fail(err);
    }
  }

  /** Stops the operator, then deletes the namespace, stops the git server and removes the files; every step runs even if one fails. */
  async close(): Promise<void> {
    await this.teardown.close();
  }

  /** Commits and pushes files; returns the revision as Flux writes it. */
  async push(files: Record<string, FileContent>, message = 'change'): Promise<string> {
    const sha = await this.repo.commitFiles(files, message);
    await this.repo.push();
    return `main@sha1:${sha}`;
  }

  async createGitRepository(name = 'app', spec: Record<string, unknown> = {}): Promise<void> {
    await this.create('source.toolkit.fluxcd.io/v1', 'GitRepository', 'gitrepositories', name, {
      url: this.server.url('app'),
      interval: '1h',
      ref: { branch: 'main' },
      ...spec,
    });
  }

  async createKustomization(name: string, spec: Record<string, unknown>): Promise<void> {
    await this.create('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', 'kustomizations', name, {
      interval: '1h',
      prune: true,
      sourceRef: { kind: 'GitRepository', name: 'app' },
      ...spec,
    });
  }

  async create(apiVersion: string, kind: string, plural: string, name: string, spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Promise<void> {
    await this.client.request({
      method: 'POST',
      path: `/apis/${apiVersion}/namespaces/${this.ns.name}/${plural}`,
      body: { apiVersion, kind, metadata: { name, ...metadata }, spec },
    });
  }

  ksPath(name: string): string {
    return `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${this.ns.name}/kustomizations/${name}`;
  }

  gitPath(name = 'app'): string {
    return `/apis/source.toolkit.fluxcd.io/v1/namespaces/${this.ns.name}/gitrepositories/${name}`;
  }

  async ks(name: string): Promise<KubeObject & { status?: KsStatus }> {
    return this.client.request({ path: this.ksPath(name) });
  }

  async patchKs(name: string, patch: Record<string, unknown>): Promise<void> {
    await this.client.request({ method: 'PATCH', path: this.ksPath(name), contentType: 'application/merge-patch+json', body: patch });
  }

  /** What `flux reconcile` does: ask for an immediate reconcile. */
  async requestReconcile(path: string): Promise<void> {
    await this.client.request({
      method: 'PATCH',
      path,
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
    });
  }

  /** Pushes and makes the GitRepository fetch it at once. */
  async pushAndFetch(files: Record<string, FileContent>, message = 'change'): Promise<string> {
    const rev = await this.push(files, message);
    await this.requestReconcile(this.gitPath());
    return rev;
  }

  async untilReady(name: string, revision?: string, timeoutMs = 30_000): Promise<KsStatus> {
    return this.untilKs(name, `Ready${revision ? ` at ${revision}` : ''}`, (s) => ready(s)?.status === 'True' && (!revision || s.lastAppliedRevision === revision), timeoutMs);
  }

  async untilKs(name: string, what: string, pred: (s: KsStatus) => boolean, timeoutMs = 30_000): Promise<KsStatus> {
    return eventually(
      `Kustomization ${name} ${what}`,
      async () => {
        const o = await this.ks(name);
        const s = o.status ?? {};
        return pred(s) ? s : undefined;
      },
      timeoutMs,
    );
  }

  path(kind: 'configmaps' | 'secrets' | 'deployments' | 'services' | 'serviceaccounts', name: string, namespace = this.ns.name): string {
    const base = kind === 'deployments' ? '/apis/apps/v1' : '/api/v1';
    return `${base}/namespaces/${namespace}/${kind}/${name}`;
  }

  get<T = KubeObject>(path: string): Promise<T | undefined> {
    return this.client.getOrUndefined<T>(path);
  }
}

export const ready = (s: KsStatus) => s.conditions?.find((c) => c.type === 'Ready');

export const configMap = (name: string, data: Record<string, string>, extra = '') =>
  `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
${extra}data:
${Object.entries(data)
  .map(([k, v]) => `  ${k}: "${v}"`)
  .join('\n')}
`;

export const deployment = (name: string, opts: { replicas?: number; image?: string; podSpec?: string; extraSpec?: string } = {}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${opts.replicas ?? 1}
${opts.extraSpec ?? ''}  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
${opts.podSpec ?? ''}      containers: [{name: app, image: ${opts.image ?? `example.invalid/${name}:1`}}]
`;
