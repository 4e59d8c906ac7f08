import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/object.ts';
import { DriftError, DriftReader } from './drift.ts';
import type { DashboardStore } from './store.ts';

// The drift endpoint's answers before any cluster call: which objects it
// takes, and what it says when the artifact cannot be reached (a real
// connection to a closed loopback port).

const objects: Record<string, KubeObject> = {
  'Kustomization/a/apps': { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'apps', namespace: 'a' }, spec: { path: './', sourceRef: { kind: 'GitRepository', name: 'repo' } } },
  'Kustomization/a/orphan': { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'orphan', namespace: 'a' }, spec: { path: './', sourceRef: { kind: 'GitRepository', name: 'missing' } } },
  'GitRepository/a/repo': { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'repo', namespace: 'a' }, status: { artifact: { url: 'http://127.0.0.1:1/a.tar.gz', path: 'a.tar.gz', revision: 'main@sha1:00' } } },
};
const store = { object: (k: string, ns: string, n: string) => objects[`${k}/${ns}/${n}`] } as unknown as DashboardStore;
/** Never called: every case below ends before the dry-run. */
const client = {} as KubeClient;

async function failure(kind: string, name: string): Promise<DriftError> {
  const r = new DriftReader(store);
  try {
    await r.drift(client, 'test', kind, 'a', name);
  } catch (err) {
    assert.ok(err instanceof DriftError, String(err));
    return err;
  } finally {
    await r.close();
  }
  assert.fail('expected a failure');
}

test('an unreachable artifact is reported with its URL and why', async () => {
  const e = await failure('Kustomization', 'apps');
  assert.equal(e.status, 502);
  assert.match(e.message, /^the artifact URL http:\/\/127\.0\.0\.1:1\/a\.tar\.gz is not reachable from the dashboard \(.*ECONNREFUSED.*\): run the dashboard where the controller's artifact server can be reached$/);
});

test('other kinds, unknown objects and sources are refused with a reason', async () => {
  assert.deepEqual([(await failure('HelmRelease', 'apps')).status, (await failure('Kustomization', 'nope')).status, (await failure('Kustomization', 'orphan')).status], [400, 404, 409]);
  assert.match((await failure('Kustomization', 'orphan')).message, /GitRepository a\/missing is not known/);
});
