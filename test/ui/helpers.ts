// Browser-test tools for the dashboard: Debian's chromium driven by
// playwright-core, a dashboard served in this process (local mode) over a
// given client, Flux objects written with their status subresource, service
// accounts with tokens, and the axe-core accessibility check.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { Informer } from '../../src/kube/informer.ts';
import { projectRoot } from '../../src/util/paths.ts';
import { silentLogger } from '../../src/util/log.ts';
import { collectionPath } from '../../src/ui/kinds.ts';
import { startDashboard, type DashboardServer } from '../../src/ui/server.ts';
import { DashboardStore } from '../../src/ui/store.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(projectRoot, 'test-artifacts', 'ui');

export async function launchChromium(): Promise<Browser> {
  // Fails at once with the path when the browser is missing (scripts/programs.ts names the package).
  readFileSync(CHROMIUM);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'], timeout: 60_000 });
}

export function screenshotPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, `${name}.png`);
}


/** `sluice dashboard` in this process: its own informers over `client`, actions as that client. */
export async function localDashboard(client: KubeClient): Promise<{ server: DashboardServer; store: DashboardStore; close(): Promise<void> }> {
  const store = new DashboardStore((k) => new Informer(client, collectionPath(k)), true);
  await store.start();
  const server = await startDashboard({ store, client, log: silentLogger, address: '127.0.0.1:0', mode: 'local', actions: true });
  return { server, store, async close() { await server.close(); store.stop(); } };
}

export const ksPath = (ns: string, name = '') => `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${ns}/kustomizations${name ? `/${name}` : ''}`;
export const hrPath = (ns: string, name = '') => `/apis/helm.toolkit.fluxcd.io/v2/namespaces/${ns}/helmreleases${name ? `/${name}` : ''}`;
export const gitPath = (ns: string, name = '') => `/apis/source.toolkit.fluxcd.io/v1/namespaces/${ns}/gitrepositories${name ? `/${name}` : ''}`;

export function readyCondition(status: 'True' | 'False' | 'Unknown', reason: string, message: string) {
  return { type: 'Ready', status, reason, message, lastTransitionTime: new Date().toISOString(), observedGeneration: 1 };
}

/** Creates an object, then writes its status through the status subresource (no controller needed). */
export async function createWithStatus(client: KubeClient, path: string, obj: KubeObject, status: Record<string, unknown>): Promise<KubeObject> {
  const made = await client.request<KubeObject>({ method: 'POST', path, body: obj });
  return setStatus(client, `${path}/${obj.metadata.name}`, status, made);
}

export async function setStatus(client: KubeClient, objPath: string, status: Record<string, unknown>, current?: KubeObject): Promise<KubeObject> {
  const cur = current ?? (await client.request<KubeObject>({ path: objPath }));
  return client.request<KubeObject>({ method: 'PUT', path: `${objPath}/status`, body: { ...cur, status: { observedGeneration: cur.metadata.generation, ...status } } });
}

/** A service account with a token, and (when `rules` are given) a Role and RoleBinding for it in `ns`. */
export async function serviceAccountToken(admin: KubeClient, ns: string, name: string, rules?: Array<Record<string, unknown>>): Promise<string> {
  await admin.request({ method: 'POST', path: `/api/v1/namespaces/${ns}/serviceaccounts`, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } } });
  if (rules) {
    await admin.request({ method: 'POST', path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules } });
    await admin.request({
      method: 'POST',
      path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: ns }] },
    });
  }
  const tr = await admin.request<{ status: { token: string } }>({
    method: 'POST',
    path: `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  return tr.status.token;
}

/** Runs axe-core in the page; returns the violations (id: nodes). */
export async function axeViolations(page: Page): Promise<string[]> {
  const require = createRequire(import.meta.url);
  const source = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated over the DevTools protocol, not as a page script: the page's CSP stays as it is.
  await page.evaluate(source);
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: Array<{ id: string; help: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => `${v.id} (${v.help}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  return result;
}

/** Reads the event stream for `ms` and returns all it sent. */
export async function readStream(url: string, ms: number, headers: Record<string, string> = {}): Promise<string> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), ms);
  let text = '';
  try {
    const res = await fetch(url, { signal: ac.signal, headers });
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(t);
  }
  return text;
}
