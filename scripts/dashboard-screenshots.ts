// Makes the README's dashboard screenshots (docs/dashboard-*.png): a
// namespace of Flux objects with their status written directly (a few
// failing, progressing and suspended; dependsOn chains), the dashboard in
// this process, chromium, then the namespace is deleted.
//
//   node --import tsx scripts/dashboard-screenshots.ts [--kubeconfig F]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kubeconfigPath } from '../src/dev/cluster/state.ts';
import { ResourceManager } from '../src/apply/manager.ts';
import { allCrds } from '../src/api/crds.ts';
import { KubeClient } from '../src/kube/client.ts';
import type { KubeObject } from '../src/kube/object.ts';
import { projectRoot } from '../src/util/paths.ts';
import { createWithStatus, gitPath, hrPath, ksPath, launchChromium, localDashboard, readyCondition } from '../test/ui/helpers.ts';

const { values } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
const client = await KubeClient.fromFile(values.kubeconfig ?? process.env.KUBECONFIG ?? kubeconfigPath());
const ns = 'dashboard-demo';
const rev = (n: number) => `main@sha1:${String(n).repeat(40).slice(0, 40)}`;
await new ResourceManager(client).apply(allCrds() as KubeObject[]);
await client.request({ method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
const browser = await launchChromium();
const dash = await localDashboard(client);
try {
  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();
  for (const [name, url] of [['platform', 'https://git.example/platform.git'], ['apps', 'https://git.example/apps.git']] as const) {
    await createWithStatus(client, gitPath(ns), { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name }, spec: { url, interval: '1m', ref: { branch: 'main' } } }, {
      artifact: { path: 'a.tar.gz', url: 'http://x/a.tar.gz', revision: rev(name === 'apps' ? 7 : 3), digest: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', size: 48213, lastUpdateTime: ago(42) },
      conditions: [readyCondition('True', 'Succeeded', `stored artifact for revision '${rev(name === 'apps' ? 7 : 3)}'`), { type: 'SourceVerified', status: 'True', reason: 'Succeeded', message: 'verified signature of commit', lastTransitionTime: ago(42) }],
    });
  }
  const ks = async (name: string, source: string, deps: string[], state: 'ok' | 'fail' | 'progress' | 'suspend', since: number) => {
    const cond = state === 'fail' ? readyCondition('False', 'HealthCheckFailed', 'timeout waiting for: [Deployment/payments/api status: InProgress]') : state === 'progress' ? readyCondition('Unknown', 'Progressing', 'Reconciliation in progress') : readyCondition('True', 'ReconciliationSucceeded', `Applied revision: ${rev(7)}`);
    await createWithStatus(client, ksPath(ns), { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name }, spec: { interval: '10m', path: `./${name}`, prune: true, suspend: state === 'suspend', dependsOn: deps.map((d) => ({ name: d })), sourceRef: { kind: 'GitRepository', name: source } } }, {
      lastAppliedRevision: rev(source === 'apps' ? 7 : 3), conditions: [{ ...cond, lastTransitionTime: ago(since) }],
      inventory: { entries: [{ id: `${ns}_${name}__ConfigMap`, v: 'v1' }, { id: `${ns}_${name}_apps_Deployment`, v: 'v1' }, { id: `${ns}_${name}__Service`, v: 'v1' }] },
    });
  };
  await ks('crds', 'platform', [], 'ok', 3600);
  await ks('cert-manager', 'platform', ['crds'], 'ok', 3500);
  await ks('ingress', 'platform', ['crds'], 'ok', 3400);
  await ks('monitoring', 'platform', ['crds'], 'progress', 20);
  await ks('payments', 'apps', ['cert-manager', 'ingress'], 'fail', 95);
  await ks('checkout', 'apps', ['payments'], 'ok', 600);
  await ks('catalog', 'apps', ['ingress'], 'ok', 900);
  await ks('search', 'apps', ['catalog'], 'suspend', 7200);
  await ks('frontend', 'apps', ['checkout', 'catalog'], 'ok', 300);
  for (const [name, ok] of [['redis', true], ['postgres', true], ['grafana', false]] as const) {
    await createWithStatus(client, hrPath(ns), { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name }, spec: { interval: '10m', chart: { spec: { chart: name, sourceRef: { kind: 'HelmRepository', name: 'charts' } } } } }, {
      history: [{ chartName: name, chartVersion: '1.4.2', version: 3, status: ok ? 'deployed' : 'failed', name, namespace: ns, digest: 'sha256:0', firstDeployed: ago(9000), lastDeployed: ago(1200), configDigest: 'sha256:0', appVersion: '1.4' }],
      conditions: [ok ? readyCondition('True', 'UpgradeSucceeded', `Helm upgrade succeeded for release ${ns}/${name}.v3 with chart ${name}@1.4.2`) : readyCondition('False', 'UpgradeFailed', 'Helm upgrade failed: context deadline exceeded')],
    });
  }
  await client.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/configmaps`, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'payments' }, data: {} } });
  const page = await browser.newPage({ viewport: { width: 1280, height: 640 } });
  await page.goto(dash.server.url);
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('select[id$="-ns"]', ns);
  await page.screenshot({ path: join(projectRoot, 'docs', 'dashboard-overview.png') });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${dash.server.url}#/object/Kustomization/${ns}/payments`);
  await page.waitForSelector('.tree');
  await page.screenshot({ path: join(projectRoot, 'docs', 'dashboard-detail.png') });
  await page.goto(`${dash.server.url}#/graph`);
  await page.selectOption('#graph-ns', ns);
  await page.screenshot({ path: join(projectRoot, 'docs', 'dashboard-graph.png') });
} finally {
  await dash.close();
  await browser.close();
  await client.request({ method: 'DELETE', path: `/api/v1/namespaces/${ns}` }).catch(() => undefined);
  client.close();
}
