import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, type TestNamespace } from '../harness.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/kube/object.ts';
import { getValues } from './helmcli/getvalues.ts';
import { releaseHistory, type HistoryEntry } from './helmcli/history.ts';
import { listReleases } from './helmcli/status.ts';
import {
  clusterTarget,
  cond,
  configMapData,
  createObject,
  eventsFor,
  hrPath,
  hrStatus,
  patchSpec,
  testHelm,
  untilHR,
  type HRStatus,
  startHelmFixture,
  type HelmFixture,
} from './helpers.ts';

// install.strategy and upgrade.strategy: with RetryOnFailure a failed release
// is kept as it is (no rollback, no uninstall), retried after retryInterval
// rather than the HelmRelease's interval, and never runs out of retries.

let f: HelmFixture;
let ns: TestNamespace;
let client: KubeClient;

before(async () => {
  f = await startHelmFixture('hrx-strategy');
  ({ ns, client } = f);
});

after(async () => {
  await f?.close();
});

const hrs = (version = 'v2') => `/apis/helm.toolkit.fluxcd.io/${version}/namespaces/${ns.name}/helmreleases`;
const release = (name: string, spec: Record<string, unknown>, version = 'v2') => ({
  apiVersion: `helm.toolkit.fluxcd.io/${version}`,
  kind: 'HelmRelease',
  metadata: { name },
  spec: { interval: '1h', timeout: '1m', chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } }, ...spec },
});
// A Service port the API server refuses: helm records the revision as failed.
const badPort = { service: { port: 70000 } };
const current = (s: HRStatus) => s.observedGeneration === (s as { generation?: number }).generation;
// A failure that will be retried leaves observedGeneration behind; the attempt is for the current generation.
const attempted = (s: HRStatus) => (s as { lastAttemptedGeneration?: number }).lastAttemptedGeneration === (s as { generation?: number }).generation;
const readyNow = (s: HRStatus) => cond(s, 'Ready')?.status === 'True' && current(s);

async function history(name: string): Promise<HistoryEntry[]> {
  return releaseHistory(await testHelm(), await clusterTarget(), ns.name, name);
}

async function untilHistory(name: string, what: string, ok: (h: HistoryEntry[]) => boolean, timeoutMs = 60_000): Promise<HistoryEntry[]> {
  return eventually(`release ${name}: ${what}`, async () => {
    const h = await history(name);
    return ok(h) ? h : undefined;
  }, timeoutMs);
}

async function requestReconcile(name: string): Promise<string> {
  const at = new Date().toISOString();
  await client.request({
    method: 'PATCH',
    path: hrPath(ns.name, name),
    contentType: 'application/merge-patch+json',
    body: { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': at } } },
  });
  return at;
}

test('upgrade RetryOnFailure: the failed upgrade is kept, not rolled back, retried after retryInterval; a fix succeeds', async () => {
  await createObject(
    client,
    hrs(),
    // Remediation settings are there to show they are ignored with RetryOnFailure.
    release('ru', { values: { message: 'good' }, upgrade: { strategy: { name: 'RetryOnFailure', retryInterval: '4s' }, remediation: { retries: 1, remediateLastFailure: true } } }),
  );
  await untilHR(client, ns.name, 'ru', 'installed', (x) => readyNow(x) && x.history?.[0]?.version === 1);
  await patchSpec(client, hrPath(ns.name, 'ru'), { values: { message: 'bad', ...badPort } });

  const h = await untilHistory('ru', 'two failed upgrades after the install', (x) => x.filter((e) => e.status === 'failed').length >= 2);
  assert.equal(h[0]!.status, 'deployed', 'the last good revision is still the deployed one: nothing rolled back');
  assert.ok(h.slice(1).every((e) => e.status === 'failed'), `only failed revisions after it: ${h.map((e) => e.status).join(', ')}`);
  assert.ok(!h.some((e) => /^Rollback/.test(e.description)), 'no rollback revision');
  const [first, second] = h.filter((e) => e.status === 'failed');
  const gap = Date.parse(second!.updated) - Date.parse(first!.updated);
  assert.ok(gap >= 3_000, `the retry waited for retryInterval (4s), not less: ${gap} ms`);
  assert.ok(gap < 60_000, `the retry came after retryInterval, not the 1h interval: ${gap} ms`);

  // The release history moves before the status is written, and each retry
  // passes through Ready=Unknown: wait for the failure to be recorded.
  const s = await untilHR(client, ns.name, 'ru', 'the failed upgrade recorded', (x) => cond(x, 'Ready')?.status === 'False');
  assert.equal(cond(s, 'Ready')?.reason, 'UpgradeFailed');
  assert.match(cond(s, 'Ready')!.message, /^Helm upgrade failed for release .*\/ru with chart web@1\.0\.0: .*70000/);
  assert.equal(cond(s, 'Released')?.reason, 'UpgradeFailed');
  assert.equal(cond(s, 'Remediated'), undefined, 'no remediation');
  assert.equal(cond(s, 'Stalled'), undefined, 'RetryOnFailure never runs out of retries');
  assert.equal(s.upgradeFailures, 0, 'failures do not count against remediation retries');
  assert.ok((s.failures ?? 0) >= 2, `failures are counted: ${s.failures}`);
  assert.equal(s.lastAttemptedReleaseAction, 'upgrade');
  assert.equal(s.history?.[0]?.status, 'failed');
  assert.ok(s.history?.some((e) => e.version === 1 && e.status === 'deployed'), 'the history keeps the deployed revision');
  // The failed release is what helm has as the latest, with the bad values.
  assert.equal((await getValues(await testHelm(), await clusterTarget(), ns.name, 'ru')).message, 'bad');
  const events = await eventsFor(client, ns.name, 'ru');
  assert.ok(events.filter((e) => e.reason === 'UpgradeFailed' && e.type === 'Warning').length >= 1);
  assert.ok(!events.some((e) => e.reason === 'RollbackSucceeded' || e.reason === 'UninstallSucceeded'), 'no remediation events');

  await patchSpec(client, hrPath(ns.name, 'ru'), { values: { message: 'fixed', service: null } });
  const fixed = await untilHR(client, ns.name, 'ru', 'upgraded after the fix', readyNow);
  assert.equal(cond(fixed, 'Released')?.reason, 'UpgradeSucceeded');
  assert.equal(fixed.upgradeFailures, 0);
  const after = await history('ru');
  assert.equal(after[after.length - 1]!.status, 'deployed');
  assert.equal(fixed.history?.[0]?.version, after[after.length - 1]!.revision);
  assert.equal((await configMapData(client, ns.name, 'ru-settings'))?.message, 'fixed');
});

test('install RetryOnFailure: the failed install is not uninstalled but retried with an upgrade; a fix succeeds', async () => {
  await createObject(
    client,
    hrs(),
    release('ri', { values: badPort, install: { strategy: { name: 'RetryOnFailure', retryInterval: '3s' }, remediation: { retries: 3, remediateLastFailure: true } } }),
  );
  const h = await untilHistory('ri', 'the failed install and a failed retry', (x) => x.length >= 2 && x.every((e) => e.status === 'failed'));
  assert.ok(h.every((e) => e.status === 'failed'), h.map((e) => `${e.revision} ${e.status}`).join(', '));
  assert.match(h[0]!.description, /failed/i);
  assert.match(h[1]!.description, /^Upgrade "ri" failed/, 'the retry of a failed install is an upgrade');
  const listed = await listReleases(await testHelm(), await clusterTarget(), ns.name);
  assert.equal(listed.find((r) => r.name === 'ri')?.status, 'failed', 'the failed release is kept, not uninstalled');

  const s = await untilHR(client, ns.name, 'ri', 'the failure recorded', (x) => cond(x, 'Ready')?.status === 'False');
  assert.match(cond(s, 'Ready')!.reason, /^(InstallFailed|UpgradeFailed)$/);
  assert.match(cond(s, 'Ready')!.message, /70000/);
  assert.equal(cond(s, 'Remediated'), undefined);
  assert.equal(cond(s, 'Stalled'), undefined);
  assert.equal(s.installFailures, 0);
  const events = await eventsFor(client, ns.name, 'ri');
  assert.ok(events.some((e) => e.reason === 'InstallFailed'));
  assert.ok(!events.some((e) => e.reason === 'UninstallSucceeded'));

  await patchSpec(client, hrPath(ns.name, 'ri'), { values: { service: { port: 8080 } } });
  const fixed = await untilHR(client, ns.name, 'ri', 'released after the fix', readyNow);
  const after = await history('ri');
  assert.equal(after[after.length - 1]!.status, 'deployed');
  assert.ok(after.length >= 3, 'the same release was upgraded, not reinstalled');
  assert.equal(fixed.installFailures, 0);
  assert.equal(cond(fixed, 'Released')?.status, 'True');
});

test('RetryOnFailure waits the default 5m between retries, whatever else wakes the HelmRelease; a requested reconcile retries at once', async () => {
  await createObject(client, hrs(), release('rw', { values: { message: 'good' }, upgrade: { strategy: { name: 'RetryOnFailure' } } }));
  await untilHR(client, ns.name, 'rw', 'installed', readyNow);
  await patchSpec(client, hrPath(ns.name, 'rw'), { values: badPort });
  const failed = await untilHR(client, ns.name, 'rw', 'upgrade failed', (x) => attempted(x) && cond(x, 'Ready')?.reason === 'UpgradeFailed');
  assert.equal(cond(failed, 'Reconciling')?.status, 'True', 'still reconciling: a retry is coming');
  const h0 = await history('rw');
  assert.equal(h0.filter((e) => e.status === 'failed').length, 1, `one failed revision: ${JSON.stringify(h0)}; Ready: ${cond(failed, 'Ready')?.message}`);

  // A metadata change wakes the HelmRelease up, but is no reason to retry before the interval.
  await client.request({
    method: 'PATCH',
    path: hrPath(ns.name, 'rw'),
    contentType: 'application/merge-patch+json',
    body: { metadata: { labels: { poke: '1' } } },
  });
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal((await history('rw')).filter((e) => e.status === 'failed').length, 1, 'no retry within the retry interval');

  const at = await requestReconcile('rw');
  await untilHistory('rw', 'retried on request', (x) => x.filter((e) => e.status === 'failed').length === 2, 30_000);
  // The request is marked handled when the attempt starts (Ready: Progressing); wait for its verdict.
  const s = await untilHR(
    client,
    ns.name,
    'rw',
    'request handled and the retry finished',
    (x) => (x as { lastHandledReconcileAt?: string }).lastHandledReconcileAt === at && cond(x, 'Ready')?.reason !== 'Progressing',
  );
  assert.equal(cond(s, 'Ready')?.reason, 'UpgradeFailed');
  assert.equal(s.upgradeFailures, 0);
});

test('the strategies are v2 fields: retryInterval needs RetryOnFailure, and v2beta2 does not know them', async () => {
  await assert.rejects(
    createObject(client, hrs(), release('bad-strategy', { suspend: true, upgrade: { strategy: { name: 'RemediateOnFailure', retryInterval: '1m' } } })),
    /\.retryInterval can only be set when \.name is 'RetryOnFailure'/,
  );
  await assert.rejects(createObject(client, hrs(), release('bad-name', { suspend: true, install: { strategy: { name: 'Sometimes' } } })), /Unsupported value|supported values/);
  await createObject(client, hrs('v2beta2'), release('beta', { suspend: true, install: { strategy: { name: 'RetryOnFailure' } }, upgrade: { strategy: { name: 'RetryOnFailure' }, force: true } }, 'v2beta2'));
  const stored = await client.request<KubeObject & { spec: { install?: Record<string, unknown>; upgrade?: Record<string, unknown> } }>({ path: hrPath(ns.name, 'beta') });
  assert.equal(stored.spec.install?.strategy, undefined, 'pruned: v2beta2 has no install.strategy');
  assert.equal(stored.spec.upgrade?.strategy, undefined, 'pruned: v2beta2 has no upgrade.strategy');
  assert.equal(stored.spec.upgrade?.force, true, 'the fields v2beta2 has are kept');
});
