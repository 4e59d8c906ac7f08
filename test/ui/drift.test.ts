import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { adminClient, eventually, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { closeAll } from '../cleanup.ts';
import { startGitHttpServer, TestRepo, type GitHttpServer } from '../gitserver/index.ts';
import { ControllerProcess, controllerArgs } from '../runtime/helpers.ts';
import { createGitRepository, dropFinalizers, readyOf, type FluxObject } from '../runtime/objects.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { gitPath, ksPath, launchChromium, localDashboard, screenshotPath } from './helpers.ts';

// The Drift section of a Kustomization's page, end to end: a real git
// server, the real controller (a child process confined to the test's
// namespace) applying a Kustomization, a live object edited behind its back,
// and `sluice dashboard` (local mode, in this process) in chromium showing
// it as drifted with the changed field, while the values of a Secret and of
// post-build substitution never reach the browser; after a commit that
// drops a file, the object is listed as one a prune would delete.

const PLANTED = `planted-${randomBytes(8).toString('hex')}`;
const SUBST = `subst-${randomBytes(8).toString('hex')}`;

let ns: TestNamespace;
let admin: KubeClient;
let root: string;
let server: GitHttpServer;
let repo: TestRepo;
let proc: ControllerProcess;
let browser: Browser;
let dash: Awaited<ReturnType<typeof localDashboard>>;
/** Every body the browser received. */
const bodies: string[] = [];

before(async () => {
  admin = await adminClient();
  await new ResourceManager(admin).apply(allCrds() as KubeObject[]);
  ns = await testNamespace('dashboard-drift');
  root = await mkdtemp(join(tmpdir(), 'sluice-drift-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await repo.commitFiles({
    'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: drift-me\ndata:\n  color: blue\n  size: "3"\n',
    'deploy/subst.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: hello-${word}\n',
    'deploy/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: ${PLANTED}\n`,
    // A nested Kustomization (suspended: only its object matters) whose substitution value is a secret.
    'deploy/child.yaml': `apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: child\nspec:\n  suspend: true\n  interval: 1h\n  path: ./none\n  prune: false\n  sourceRef:\n    kind: GitRepository\n    name: app\n  postBuild:\n    substitute:\n      token: ${PLANTED}\n`,
  }, 'first');
  // The Secret existed before, made by kubectl apply: its last-applied copy holds the value in clear.
  await admin.request({ method: 'POST', path: `/api/v1/namespaces/${ns.name}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { password: PLANTED } }) } }, stringData: { password: PLANTED } } });
  await repo.push();
  await admin.request({ method: 'POST', path: `/api/v1/namespaces/${ns.name}/secrets`, body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vars' }, stringData: { word: SUBST } } });
  proc = ControllerProcess.start('drift', controllerArgs({ kubeconfig: await testKubeconfig(), dataDir: join(root, 'data'), extra: [`--watch-namespace=${ns.name}`] }));
  browser = await launchChromium();
  dash = await localDashboard(admin);
});

after(async () => {
  await closeAll(
    browser && (() => browser.close()),
    dash && (() => dash.close()),
    proc && (() => proc.stop(10_000)),
    admin && ns && (() => dropFinalizers(admin, ns.name).catch(() => {})),
    ns && (() => ns.cleanup()),
    server && (() => server.close()),
    repo && (() => repo.dispose()),
    root && (() => rm(root, { recursive: true, force: true })),
  );
});

async function openPage(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('response', (r) => {
    if (r.url().includes('/api/stream')) return;
    void r.text().then((t) => bodies.push(t), () => undefined);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
  return page;
}

test('a live edit of an applied object shows as drift, with the changed field; no secret value reaches the page', async () => {
  await createGitRepository(admin, ns.name, 'app', server.url('app'));
  await admin.request({
    method: 'POST',
    path: ksPath(ns.name),
    body: {
      apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'app' },
      spec: { interval: '1h', path: './deploy', prune: true, targetNamespace: ns.name, sourceRef: { kind: 'GitRepository', name: 'app' }, postBuild: { substituteFrom: [{ kind: 'Secret', name: 'vars' }] } },
    },
  });
  const head = `main@sha1:${await repo.head()}`;
  await eventually('the Kustomization applied', async () => {
    const k = await admin.request<FluxObject>({ path: ksPath(ns.name, 'app') });
    return readyOf(k)?.status === 'True' && k.status?.lastAppliedRevision === head ? true : undefined;
  }, 120_000);
  // Suspended, so no controller (this one, or another watching the shared cluster) puts the drift back.
  await admin.request({ method: 'PATCH', path: ksPath(ns.name, 'app'), contentType: 'application/merge-patch+json', body: { spec: { suspend: true } } });
  // Behind the controller's back: one field of each ConfigMap changed (again, if a reconcile that was
  // already under way when it was suspended put them back).
  await eventually('the live edits stay', async () => {
    for (const [name, data] of [['drift-me', { color: 'green' }], ['greeting', { text: 'bye' }]] as const) {
      await admin.request({ method: 'PATCH', path: `/api/v1/namespaces/${ns.name}/configmaps/${name}`, contentType: 'application/merge-patch+json', body: { data } });
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const cm = await admin.request<{ data: Record<string, string> }>({ path: `/api/v1/namespaces/${ns.name}/configmaps/drift-me` });
    return cm.data.color === 'green' ? true : undefined;
  }, 60_000);
  await admin.request({ method: 'PATCH', path: ksPath(ns.name, 'child'), contentType: 'application/merge-patch+json', body: { spec: { path: './elsewhere' } } });

  const page = await openPage(`${dash.server.url}#/object/Kustomization/${ns.name}/app`);
  await page.waitForSelector('h1:has-text("app")');
  // Nothing is computed before the click.
  assert.equal(bodies.some((b) => b.includes('"identity"')), false);
  await page.click('button.drift-button');
  await page.waitForSelector('.drift-list, .drift-error', { timeout: 90_000 });
  assert.equal(await page.$('.drift-error'), null, (await page.textContent('.drift-error').catch(() => '')) ?? '');
  const states = await page.$$eval('.drift-list li', (els) => els.map((e) => `${e.getAttribute('data-state')} ${e.textContent?.split('\n')[0]}`));
  const stateOf = (kindName: string) => states.find((s) => s.includes(kindName))?.split(' ')[0];
  assert.equal(stateOf(`ConfigMap ${ns.name}/drift-me`), 'drifted', states.join('; '));
  assert.equal(stateOf(`ConfigMap ${ns.name}/greeting`), 'drifted', states.join('; '));
  assert.equal(stateOf(`Secret ${ns.name}/creds`), 'unchanged', states.join('; '));
  const diff = (await page.textContent(`.drift-list li:has-text("drift-me") .diff`)) ?? '';
  assert.match(diff, /^-\s+color: green$/m);
  assert.match(diff, /^\+\s+color: blue$/m);
  const greeting = (await page.textContent(`.drift-list li:has-text("greeting") .diff`)) ?? '';
  assert.match(greeting, /^\+\s+text: hello-\(hidden\)$/m, 'the substituted value is masked');
  assert.match((await page.textContent('.drift-result')) ?? '', /dry-run as your kubeconfig/);
  const child = (await page.textContent(`.drift-list li:has-text("Kustomization ${ns.name}/child") .diff`)) ?? '';
  assert.match(child, /^-\s+path: \.\/elsewhere$/m);
  assert.match(child, /^[ +-]\s+token: \(hidden\)$/m, 'a nested Kustomization\'s substitution value is hidden');
  await page.screenshot({ path: screenshotPath('drift'), fullPage: true });

  // The Secret drifts too: still no value, only that one changed.
  await admin.request({ method: 'PATCH', path: `/api/v1/namespaces/${ns.name}/secrets/creds`, contentType: 'application/merge-patch+json', body: { stringData: { password: `${PLANTED}-edited` } } });
  await page.click('button.drift-button');
  await page.waitForSelector(`.drift-list li[data-state="drifted"]:has-text("creds")`, { timeout: 60_000 });
  const secretDiff = (await page.textContent(`.drift-list li:has-text("creds") .diff`)) ?? '';
  assert.match(secretDiff, /password: "?\*\*\* \(after\)/);

  // A commit that drops a file: the new artifact no longer builds drift-me, and with prune it would be deleted.
  await repo.commitFiles({ 'deploy/cm.yaml': null }, 'drop drift-me');
  await repo.push();
  const next = `main@sha1:${await repo.head()}`;
  await admin.request({ method: 'PATCH', path: gitPath(ns.name, 'app'), contentType: 'application/merge-patch+json', body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } } });
  await eventually('the source has the new artifact', async () => ((await admin.request<FluxObject>({ path: gitPath(ns.name, 'app') })).status as { artifact?: { revision?: string } } | undefined)?.artifact?.revision === next ? true : undefined, 60_000);
  await eventually('the dashboard sees it', async () => ((dash.store.object('GitRepository', ns.name, 'app')?.status as { artifact?: { revision?: string } } | undefined)?.artifact?.revision === next ? true : undefined), 10_000);
  await page.click('button.drift-button');
  await page.waitForSelector(`.drift-list li[data-state="deleted"]:has-text("drift-me")`, { timeout: 60_000 });
  assert.match((await page.textContent('.drift-result')) ?? '', new RegExp(`Against ${next}`));
  await page.close();

  const direct = await (await fetch(`${dash.server.url}api/drift?kind=Kustomization&namespace=${ns.name}&name=app`)).text();
  const texts = [...bodies, direct];
  assert.ok(texts.some((t) => t.includes('"drifted"')), 'the drift responses were recorded');
  const leaks = texts.filter((t) => [PLANTED, SUBST].some((v) => t.includes(v) || t.includes(Buffer.from(v).toString('base64'))));
  assert.equal(leaks.length, 0, `a secret value was sent: ${leaks[0]?.slice(0, 300)}`);
});
