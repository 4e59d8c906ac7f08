import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { adminClient, testKubeconfig, testNamespace, type TestNamespace } from '../harness.ts';
import { closeAll } from '../cleanup.ts';
import { ControllerProcess, controllerArgs } from '../runtime/helpers.ts';
import { dropFinalizers } from '../runtime/objects.ts';
import { ResourceManager } from '../../src/apply/manager.ts';
import { allCrds } from '../../src/api/crds.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { ksPath, launchChromium, readStream, screenshotPath, serviceAccountToken } from './helpers.ts';
import { createFixtures, PLANTED } from './fixtures.ts';

// The dashboard served by `sluice controller --dashboard-addr` (a child
// process, confined to the test's namespace): read-only by default; with
// --dashboard-actions, a token login (TokenReview), a refusal for a user
// RBAC does not allow (SubjectAccessReview) and an action done by
// impersonation for one it does.

let ns: TestNamespace;
let admin: KubeClient;
let browser: Browser;
let dataDir: string;
const procs: ControllerProcess[] = [];

async function startController(extra: string[]): Promise<string> {
  const proc = ControllerProcess.start(`dashboard-${procs.length}`, controllerArgs({ kubeconfig: await testKubeconfig(), dataDir, extra: [`--watch-namespace=${ns.name}`, '--dashboard-addr=127.0.0.1:0', ...extra] }));
  procs.push(proc);
  const r = await proc.waitLog('the dashboard address', (l) => l.msg === 'serving the dashboard', 90_000);
  return String(r.address);
}

before(async () => {
  admin = await adminClient();
  await new ResourceManager(admin).apply(allCrds() as KubeObject[]);
  ns = await testNamespace('dashboard-ctrl');
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-dash-'));
  await createFixtures(admin, ns.name);
  browser = await launchChromium();
});

after(async () => {
  await closeAll(
    browser && (() => browser.close()),
    ...procs.map((p) => () => p.stop(10_000)),
    admin && ns && (() => dropFinalizers(admin, ns.name).catch(() => {})),
    ns && (() => ns.cleanup()),
    dataDir && (() => rm(dataDir, { recursive: true, force: true })),
  );
});

test('read-only by default: the page shows the namespace, actions are refused, no secret is sent', async () => {
  const url = await startController([]);
  const who = (await (await fetch(`${url}api/whoami`)).json()) as { actions: boolean; mode: string };
  assert.deepEqual([who.mode, who.actions], ['cluster', false]);
  const res = await fetch(`${url}api/action`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sluice-request': '1' }, body: JSON.stringify({ action: 'suspend', kind: 'Kustomization', namespace: ns.name, name: 'infra' }) });
  assert.equal(res.status, 403);
  assert.match(((await res.json()) as { message: string }).message, /read-only/);
  const page = await browser.newPage();
  await page.goto(`${url}#/object/Kustomization/${ns.name}/apps`);
  await page.waitForSelector('h1:has-text("apps")');
  assert.match((await page.textContent('main')) ?? '', /Read-only/);
  assert.equal(await page.$('button:has-text("Suspend")'), null);
  const stream = await readStream(`${url}api/stream`, 1_500);
  assert.ok(stream.includes(`"${ns.name}"`), 'the stream carries the namespace\'s rows');
  assert.ok(!stream.includes(PLANTED));
  const detail = await (await fetch(`${url}api/detail?kind=Kustomization&namespace=${ns.name}&name=apps`)).text();
  assert.ok(!detail.includes(PLANTED));
  // Drift without a login on a read-only dashboard: no login asked (the controller's identity); the
  // fixture's source has no usable artifact (this controller reconciles it and fails), and the answer says so.
  const drift = await fetch(`${url}api/drift?kind=Kustomization&namespace=${ns.name}&name=apps`);
  const driftText = await drift.text();
  assert.ok([409, 502].includes(drift.status), driftText);
  assert.match(driftText, /has no artifact yet|is not reachable from the dashboard/);
  assert.ok(!driftText.includes(PLANTED));
  await page.close();
  await procs.pop()!.stop(10_000);
});

test('with --dashboard-actions: token login, refused without rights, done by impersonation with them', async () => {
  const viewer = await serviceAccountToken(admin, ns.name, 'viewer');
  const operator = await serviceAccountToken(admin, ns.name, 'operator', [{ apiGroups: ['kustomize.toolkit.fluxcd.io'], resources: ['kustomizations'], verbs: ['patch'] }]);
  const url = await startController(['--dashboard-actions']);
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${url}#/object/Kustomization/${ns.name}/infra`);
  await page.waitForSelector('main button:has-text("Log in")');
  // Not logged in: the API says so.
  const anon = await fetch(`${url}api/action`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sluice-request': '1' }, body: JSON.stringify({ action: 'suspend', kind: 'Kustomization', namespace: ns.name, name: 'infra' }) });
  assert.equal(anon.status, 401);
  // Drift, too, needs a login when actions are on (it runs as the person, by impersonation).
  const anonDrift = await fetch(`${url}api/drift?kind=Kustomization&namespace=${ns.name}&name=apps`);
  assert.equal(anonDrift.status, 401);
  const operatorDrift = await fetch(`${url}api/drift?kind=Kustomization&namespace=${ns.name}&name=apps`, { headers: { authorization: `Bearer ${operator}` } });
  assert.ok([409, 502].includes(operatorDrift.status), `with a token, the request gets as far as the artifact: ${await operatorDrift.text()}`);
  // A bad token is turned away by the TokenReview.
  await page.click('main button:has-text("Log in")');
  await page.fill('#token', 'not-a-token');
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('dialog [role=alert]:has-text("did not accept")');
  await page.fill('#token', viewer);
  await page.click('dialog button[type=submit]');
  await page.waitForSelector(`header .user:has-text("system:serviceaccount:${ns.name}:viewer")`);
  await page.waitForSelector('button:has-text("Suspend")');
  await page.click('button:has-text("Suspend")');
  await page.waitForSelector('.action-result.refused');
  assert.match((await page.textContent('.action-result')) ?? '', new RegExp(`refused: system:serviceaccount:${ns.name}:viewer may not patch`));
  assert.notEqual(((await admin.request<KubeObject>({ path: ksPath(ns.name, 'infra') })).spec as { suspend?: boolean }).suspend, true);
  await page.screenshot({ path: screenshotPath('refused') });
  // Log in again as the operator (a bearer token on the API works too, without a session).
  const byHeader = await fetch(`${url}api/action`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-sluice-request': '1', authorization: `Bearer ${operator}` }, body: JSON.stringify({ action: 'reconcile', kind: 'Kustomization', namespace: ns.name, name: 'infra' }) });
  assert.equal(byHeader.status, 200, await byHeader.text());
  await page.evaluate(() => fetch('/api/logout', { method: 'POST', headers: { 'content-type': 'application/json', 'x-sluice-request': '1' }, body: '{}' }));
  await page.reload();
  await page.waitForSelector('main button:has-text("Log in")');
  await page.click('main button:has-text("Log in")');
  await page.fill('#token', operator);
  await page.click('dialog button[type=submit]');
  await page.waitForSelector(`header .user:has-text("system:serviceaccount:${ns.name}:operator")`);
  await page.click('button:has-text("Suspend")');
  await page.waitForSelector('.action-result.ok');
  assert.equal(((await admin.request<KubeObject>({ path: ksPath(ns.name, 'infra') })).spec as { suspend?: boolean }).suspend, true);
  // Impersonated: the operator may not patch HelmReleases, and the same button there is refused.
  await page.goto(`${url}#/object/HelmRelease/${ns.name}/web`);
  await page.waitForSelector('button:has-text("Suspend")');
  await page.click('button:has-text("Suspend")');
  await page.waitForSelector('.action-result.refused');
  await page.close();
});
