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
import { createWithStatus, gitPath, ksPath, launchChromium, localDashboard, readyCondition, screenshotPath } from './helpers.ts';

// The Drift section of a Kustomization's page, end to end: a real git
// server, the real controller (a child process confined to the test's
// namespace) applying a Kustomization, a live object edited behind its back,
// and `sluice dashboard` (local mode, in this process) in chromium showing
// it as drifted with the changed field, while the values of a Secret and of
// post-build substitution never reach the browser. Also: an artifact the
// dashboard cannot reach is reported as such.

const PLANTED = `planted-${randomBytes(8).toString('hex')}`;
const SUBST = `subst-${randomBytes(8).toString('hex')}`;

let ns: TestNamespace;
let other: TestNamespace;
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
  other = await testNamespace('dashboard-drift-far');
  root = await mkdtemp(join(tmpdir(), 'sluice-drift-'));
  server = await startGitHttpServer({ root: join(root, 'git') });
  repo = await TestRepo.create(join(root, 'git'), 'app', { defaultBranch: 'main' });
  await repo.commitFiles({
    'deploy/cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: drift-me\ndata:\n  color: blue\n  size: "3"\n',
    'deploy/subst.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: hello-${word}\n',
    'deploy/secret.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: ${PLANTED}\n`,
  }, 'first');
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
    other && (() => other.cleanup()),
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
  // Behind the controller's back: one field of each ConfigMap changed.
  for (const [name, data] of [['drift-me', { color: 'green' }], ['greeting', { text: 'bye' }]] as const) {
    await admin.request({ method: 'PATCH', path: `/api/v1/namespaces/${ns.name}/configmaps/${name}`, contentType: 'application/merge-patch+json', body: { data } });
  }

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
  await page.screenshot({ path: screenshotPath('drift'), fullPage: true });

  // The Secret drifts too: still no value, only that one changed.
  await admin.request({ method: 'PATCH', path: `/api/v1/namespaces/${ns.name}/secrets/creds`, contentType: 'application/merge-patch+json', body: { stringData: { password: `${PLANTED}-edited` } } });
  await page.click('button.drift-button');
  await page.waitForSelector(`.drift-list li[data-state="drifted"]:has-text("creds")`, { timeout: 60_000 });
  const secretDiff = (await page.textContent(`.drift-list li:has-text("creds") .diff`)) ?? '';
  assert.match(secretDiff, /\*\*\* \(after\)/);
  await page.close();

  const direct = await (await fetch(`${dash.server.url}api/drift?kind=Kustomization&namespace=${ns.name}&name=app`)).text();
  const texts = [...bodies, direct];
  assert.ok(texts.some((t) => t.includes('"drifted"')), 'the drift responses were recorded');
  const leaks = texts.filter((t) => [PLANTED, SUBST].some((v) => t.includes(v) || t.includes(Buffer.from(v).toString('base64'))));
  assert.equal(leaks.length, 0, `a secret value was sent: ${leaks[0]?.slice(0, 300)}`);
});

test('an artifact the dashboard cannot reach is reported with its URL and why', async () => {
  await createWithStatus(admin, gitPath(other.name), { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'far' }, spec: { url: 'https://127.0.0.1:1/none.git', interval: '1h', ref: { branch: 'main' } } }, {
    artifact: { path: 'x.tar.gz', url: 'http://127.0.0.1:1/far.tar.gz', revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567', digest: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', size: 10, lastUpdateTime: new Date().toISOString() },
    conditions: [readyCondition('True', 'Succeeded', 'stored artifact')],
  });
  await createWithStatus(admin, ksPath(other.name), { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'far' }, spec: { interval: '1h', path: './', prune: true, sourceRef: { kind: 'GitRepository', name: 'far' } } }, {
    conditions: [readyCondition('True', 'ReconciliationSucceeded', 'Applied')],
  });
  const url = `${dash.server.url}api/drift?kind=Kustomization&namespace=${other.name}&name=far`;
  const res = await eventually('the dashboard knows the objects', async () => {
    const r = await fetch(url);
    return r.status === 404 ? undefined : r;
  }, 10_000);
  assert.equal(res.status, 502);
  assert.match(((await res.json()) as { message: string }).message, /the artifact URL http:\/\/127\.0\.0\.1:1\/far\.tar\.gz is not reachable from the dashboard \(.*ECONNREFUSED.*\): run the dashboard where the controller's artifact server can be reached/);
  const wrongKind = await fetch(`${dash.server.url}api/drift?kind=HelmRelease&namespace=${other.name}&name=far`);
  assert.equal(wrongKind.status, 400);
});
