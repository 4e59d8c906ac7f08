// The demo (`npm start`): local control plane, a git server with examples/,
// Sluice, two Kustomizations and a commit arriving.
import { cp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResourceManager } from '../../apply/manager.ts';
import { startOperator, type Operator } from '../../controllers/operator.ts';
import { startGitHttpServer, type GitHttpServer } from '../gitserver/http.ts';
import { installManifests } from '../../install/manifests.ts';
import { KubeClient } from '../../kube/client.ts';
import { findCondition, type KubeObject } from '../../kube/object.ts';
import { run } from '../../util/exec.ts';
import { silentLogger } from '../../util/log.ts';
import { projectRoot, sluiceHome } from '../../util/paths.ts';

export const DEMO_NAMESPACE = 'sluice-demo';

export interface DemoOptions {
  kubeconfig: string;
  /** Keep the controller running after the demo, until Ctrl-C. */
  keepRunning?: boolean;
  out?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * The demo: serves examples/ from a local git server, installs Sluice,
 * creates a GitRepository and two Kustomizations (the second depends on the
 * first), shows them become Ready, then commits a change and shows it arrive.
 */
export async function runDemo(o: DemoOptions): Promise<void> {
  const out = o.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const timeoutMs = o.timeoutMs ?? 180_000;
  const home = join(sluiceHome(), 'demo');
  const gitRoot = join(home, 'git');
  const work = join(home, 'work');
  await rm(home, { recursive: true, force: true });
  await mkdir(gitRoot, { recursive: true });

  // 1. A git repository with the examples, served on loopback.
  await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', join(gitRoot, 'examples.git')]);
  await cp(join(projectRoot, 'examples'), work, { recursive: true });
  const g = (args: string[]) =>
    run('git', ['-C', work, ...args], {
      env: { ...process.env, GIT_AUTHOR_NAME: 'Sluice demo', GIT_AUTHOR_EMAIL: 'demo@sluice.invalid', GIT_COMMITTER_NAME: 'Sluice demo', GIT_COMMITTER_EMAIL: 'demo@sluice.invalid' },
    });
  await g(['init', '--quiet', '--initial-branch=main']);
  await g(['add', '--all']);
  await g(['commit', '--quiet', '-m', 'Import the examples']);
  await g(['push', '--quiet', join(gitRoot, 'examples.git'), 'main']);
  const server: GitHttpServer = await startGitHttpServer({ root: gitRoot });
  out(`• git server: ${server.url('examples')} (examples/ as a repository)`);

  const client = await KubeClient.fromFile(o.kubeconfig);
  let operator: Operator | undefined;
  try {
    // 2. Install Sluice: CRDs, RBAC, namespace. The controller runs in this
    // process (KWOK nodes cannot run its container image).
    const version = (JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const rm = new ResourceManager(client);
    const installed = await rm.apply(installManifests({ namespace: 'sluice-system', image: `sluice:${version}`, replicas: 0, multiTenant: false, version }));
    out(`• installed Sluice ${version}: ${installed.length} objects (CRDs, RBAC, namespace sluice-system)`);
    operator = await startOperator({ client: await KubeClient.fromFile(o.kubeconfig), log: silentLogger, dataDir: join(home, 'controller'), requeueDependencyMs: 2_000 });
    out(`• controller running (artifacts at ${operator.storageServer.url})`);

    // 3. The GitOps objects.
    const objects = demoObjects(server.url('examples'));
    await rm.apply(objects);
    out(`• created GitRepository/examples and Kustomizations hello and hello-frontend (dependsOn hello) in ${DEMO_NAMESPACE}`);
    const head = (await g(['rev-parse', 'HEAD'])).stdout.trim();
    const t0 = Date.now();
    await follow(client, `main@sha1:${head}`, out, timeoutMs);
    out(`✔ everything Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after creation`);
    await showWorkloads(client, out);

    // 4. A commit, and the change arriving.
    await writeFile(join(work, 'apps/hello/configmap.yaml'), (await readFile(join(work, 'apps/hello/configmap.yaml'), 'utf8')).replace('first revision', 'second revision'));
    await writeFile(join(work, 'apps/hello/deployment.yaml'), (await readFile(join(work, 'apps/hello/deployment.yaml'), 'utf8')).replace('replicas: 2', 'replicas: 3'));
    await g(['commit', '--quiet', '-am', 'Scale hello to 3 and change its message']);
    await g(['push', '--quiet', join(gitRoot, 'examples.git'), 'main']);
    const second = (await g(['rev-parse', 'HEAD'])).stdout.trim();
    out(`• pushed commit ${second.slice(0, 12)}: hello scaled to 3 replicas, new message`);
    const t1 = Date.now();
    // What `flux reconcile source git` does: ask for an immediate check instead of waiting for the interval.
    await client.request({
      method: 'PATCH',
      path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${DEMO_NAMESPACE}/gitrepositories/examples`,
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } },
    });
    await follow(client, `main@sha1:${second}`, out, timeoutMs, ['hello']);
    out(`✔ commit applied ${((Date.now() - t1) / 1000).toFixed(1)} s after the push`);
    await showWorkloads(client, out);
    out('');
    out(`Look around: export KUBECONFIG=${o.kubeconfig}`);
    out(`  kubectl get gitrepositories,kustomizations -n ${DEMO_NAMESPACE}`);
    out(`  kubectl get deploy,svc,cm -n ${DEMO_NAMESPACE}`);
    if (o.keepRunning) {
      out(`The controller keeps reconciling; push to ${join(gitRoot, 'examples.git')} and watch. Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    } else {
      out('Keep reconciling with `node bin/sluice.js controller` (or `npm start -- --watch`); stop the cluster with `node bin/sluice.js cluster down`.');
    }
  } finally {
    await operator?.stop();
    await server.close();
    client.close();
  }
}

function demoObjects(url: string): KubeObject[] {
  const ks = (name: string, path: string, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name, namespace: DEMO_NAMESPACE },
    spec: { interval: '5m', path, prune: true, wait: true, timeout: '2m', targetNamespace: DEMO_NAMESPACE, sourceRef: { kind: 'GitRepository', name: 'examples' }, ...extra },
  });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEMO_NAMESPACE } },
    {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: { name: 'examples', namespace: DEMO_NAMESPACE },
      spec: { url, interval: '1m', ref: { branch: 'main' } },
    },
    ks('hello', './apps/hello'),
    ks('hello-frontend', './apps/hello-frontend', { dependsOn: [{ name: 'hello' }] }),
  ];
}

/** Prints each object's Ready condition as it changes, until all are Ready at `revision`. */
async function follow(client: KubeClient, revision: string, out: (l: string) => void, timeoutMs: number, only?: string[]): Promise<void> {
  const seen = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const git = await client.request<KubeObject>({ path: `/apis/source.toolkit.fluxcd.io/v1/namespaces/${DEMO_NAMESPACE}/gitrepositories/examples` });
    const kss = await client.request<{ items: KubeObject[] }>({ path: `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${DEMO_NAMESPACE}/kustomizations` });
    let done = true;
    for (const o of [{ ...git, kind: 'GitRepository' }, ...kss.items.map((k) => ({ ...k, kind: 'Kustomization' }))]) {
      const ready = findCondition(o, 'Ready');
      const line = `${ready?.status ?? 'Unknown'}  ${ready?.message ?? 'waiting for the controller'}`;
      const key = `${o.kind}/${o.metadata.name}`;
      if (seen.get(key) !== line) {
        seen.set(key, line);
        out(`  ${key.padEnd(30)} ${line}`);
      }
      const rev = o.kind === 'GitRepository' ? (o.status?.artifact as { revision?: string } | undefined)?.revision : (o.status?.lastAppliedRevision as string | undefined);
      const relevant = !only || o.kind === 'GitRepository' || only.includes(o.metadata.name!);
      if (relevant && (ready?.status !== 'True' || rev !== revision)) done = false;
    }
    if (done) return;
    if (Date.now() > deadline) throw new Error(`the demo did not become Ready within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function showWorkloads(client: KubeClient, out: (l: string) => void): Promise<void> {
  const deps = await client.request<{ items: KubeObject[] }>({ path: `/apis/apps/v1/namespaces/${DEMO_NAMESPACE}/deployments` });
  for (const d of deps.items) {
    const st = (d.status ?? {}) as { availableReplicas?: number; replicas?: number };
    out(`  Deployment/${d.metadata.name!.padEnd(18)} ${st.availableReplicas ?? 0}/${(d.spec as { replicas?: number }).replicas} available`);
  }
  const cm = await client.request<{ data: Record<string, string> }>({ path: `/api/v1/namespaces/${DEMO_NAMESPACE}/configmaps/hello-config` });
  out(`  ConfigMap/hello-config          message: "${cm.data.message}"`);
}
