// The source reconciles without a cluster: the pure cores of OCIRepository,
// HelmRepository and HelmChart on their configuration and failure paths, and
// the generic source controller around a fake API client and cache.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../kube/client.ts';
import type { Informer } from '../kube/informer.ts';
import type { KubeObject } from '../kube/object.ts';
import type { ArtifactResolver } from '../runtime/artifacts.ts';
import type { EventRecorder } from '../runtime/events.ts';
import { Metrics } from '../runtime/metrics.ts';
import type { HelmCli } from '../tools/helmcli.ts';
import { silentLogger } from '../util/log.ts';
import { reconcileHelmChart, type HelmChart } from './helmchart/reconcile.ts';
import { HelmIndexCache, reconcileHelmRepository, type HelmRepository } from './helmrepository/reconcile.ts';
import { SOURCE_KINDS } from './kinds.ts';
import { reconcileOCIRepository, type OCIRepository } from './oci/reconcile.ts';
import { SourceController, type SourceResult } from './shell.ts';
import type { Storage } from './storage/storage.ts';

const clock = () => new Date('2026-01-02T03:04:05Z');
const meta = (name: string) => ({ name, namespace: 'ns', generation: 2 });
const tm = (kind: string) => ({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind });
const noStorage = {} as Storage;
const noSecrets = async () => undefined;
const ready = (r: SourceResult<{ conditions?: Array<{ type: string; status: string; reason: string; message: string }> }>) =>
  r.status.conditions?.find((c) => c.type === 'Ready');

describe('OCIRepository reconcile', () => {
  test('unsupported configuration stalls, with the generation observed', async () => {
    const obj: OCIRepository = {
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'OCIRepository',
      metadata: meta('app'),
      spec: { url: 'oci://registry.example/app', interval: '5m', verify: { provider: 'cosign' } },
    };
    const r = await reconcileOCIRepository(obj, { storage: noStorage, secrets: noSecrets, clock });
    assert.equal(r.outcome, 'stalled');
    assert.equal(ready(r)?.reason, 'UnsupportedConfiguration');
    assert.equal(r.status.observedGeneration, 2);
    assert.deepEqual(r.events.map((e) => [e.type, e.reason]), [['Warning', 'UnsupportedConfiguration']]);
  });

  test('a missing Secret fails with a retry; the same failure again records no event', async () => {
    const obj: OCIRepository = {
      ...tm('OCIRepository'),
      metadata: meta('app'),
      spec: { url: 'oci://registry.example/app', interval: '5m', secretRef: { name: 'creds' } },
    };
    const r = await reconcileOCIRepository(obj, { storage: noStorage, secrets: noSecrets, clock });
    assert.equal(r.outcome, 'failed');
    assert.equal(ready(r)?.reason, 'AuthenticationFailed');
    assert.equal(r.status.conditions?.find((c) => c.type === 'Reconciling')?.reason, 'ProgressingWithRetry');
    assert.equal(r.events.length, 1);
    const again = await reconcileOCIRepository({ ...obj, status: r.status }, { storage: noStorage, secrets: noSecrets, clock });
    assert.equal(again.events.length, 0);
  });
});

describe('HelmRepository reconcile', () => {
  test('an OCI repository is Ready with no artifact and no requeue', async () => {
    const obj: HelmRepository = { ...tm('HelmRepository'), metadata: meta('charts'), spec: { url: 'oci://registry.example/charts', type: 'oci', interval: '1m' } };
    const r = await reconcileHelmRepository(obj, { storage: noStorage, secrets: noSecrets, clock });
    assert.equal(r.outcome, 'ready');
    assert.equal(r.requeueAfterMs, undefined);
    assert.equal(ready(r)?.message, 'Helm repository is ready');
    assert.equal(r.status.artifact, undefined);
  });

  test('credentials that are not there fail with FetchFailed', async () => {
    const obj: HelmRepository = { ...tm('HelmRepository'), metadata: meta('charts'), spec: { url: 'https://charts.example', interval: '1m', secretRef: { name: 'nope' } } };
    const r = await reconcileHelmRepository(obj, { storage: noStorage, secrets: noSecrets, clock });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.status.conditions?.find((c) => c.type === 'FetchFailed')?.reason, 'AuthenticationFailed');
  });
});

describe('HelmChart reconcile', () => {
  const empty = { get: () => undefined, list: () => [] };
  const deps = {
    helmRepositories: empty,
    sources: new Map([['GitRepository', empty]]),
    indexes: new HelmIndexCache(noStorage),
    secrets: noSecrets,
    storage: noStorage,
    artifacts: {} as ArtifactResolver,
    cli: {} as HelmCli,
    clock,
  };
  const chart = (kind: string): HelmChart => ({
    ...tm('HelmChart'),
    metadata: meta('web'),
    spec: { chart: 'web', interval: '1m', sourceRef: { kind: kind as 'HelmRepository', name: 'src' } },
  });

  test('a missing repository is retried', async () => {
    const r = await reconcileHelmChart(chart('HelmRepository'), deps);
    assert.equal(r.outcome, 'failed');
    assert.equal(ready(r)?.reason, 'SourceUnavailable');
  });

  test('a source kind without a cache stalls', async () => {
    const r = await reconcileHelmChart(chart('Bucket'), deps);
    assert.equal(r.outcome, 'stalled');
    assert.match(ready(r)!.message, /source kind Bucket is not supported/);
  });
});

describe('the source kinds table', () => {
  test('one row per kind, each with its own storage directory', () => {
    assert.deepEqual(
      SOURCE_KINDS.map((k) => [k.api.kind, k.api.plural, k.storageKind]),
      [
        ['GitRepository', 'gitrepositories', 'gitrepository'],
        ['OCIRepository', 'ocirepositories', 'ocirepository'],
        ['Bucket', 'buckets', 'bucket'],
        ['HelmRepository', 'helmrepositories', 'helmrepository'],
        ['HelmChart', 'helmcharts', 'helmchart'],
      ],
    );
  });
});

describe('the generic source controller', () => {
  function harness(obj: KubeObject | undefined, result: SourceResult<object>) {
    const requests: Array<{ method: string; path: string; body?: unknown }> = [];
    const removed: string[] = [];
    const recorded: string[] = [];
    let reconciled = 0;
    const controller = new SourceController({
      client: { request: async (r: { method: string; path: string; body?: unknown }) => void requests.push(r) } as unknown as KubeClient,
      objects: { get: () => obj } as unknown as Informer,
      storage: { removeAll: async (kind: string, ns: string, name: string) => void removed.push(`${kind}/${ns}/${name}`) } as unknown as Storage,
      events: { record: async (_o: KubeObject, _t: string, reason: string) => void recorded.push(reason) } as unknown as EventRecorder,
      metrics: new Metrics(),
      log: silentLogger,
      kind: 'OCIRepository',
      plural: 'ocirepositories',
      storageKind: 'ocirepository',
      reconcile: async () => (reconciled++, result),
    });
    return { controller, requests, removed, recorded, reconciled: () => reconciled };
  }
  const base = (extra: Partial<KubeObject['metadata']> = {}, spec: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'OCIRepository',
    metadata: { name: 'app', namespace: 'ns', finalizers: ['finalizers.fluxcd.io'], resourceVersion: '1', ...extra },
    spec,
  });
  const failed: SourceResult<object> = {
    status: { conditions: [{ type: 'Ready', status: 'False', reason: 'X', message: 'it broke', lastTransitionTime: 'now' }] },
    events: [{ type: 'Warning', reason: 'X', message: 'it broke' }],
    outcome: 'failed',
  };

  test('a deleted object loses its artifacts, then its finalizer; nothing is reconciled', async () => {
    const h = harness(base({ deletionTimestamp: '2026-01-01T00:00:00Z' }), failed);
    assert.deepEqual(await h.controller.reconcile('ns/app'), {});
    assert.deepEqual(h.removed, ['ocirepository/ns/app']);
    assert.equal(h.requests.length, 1);
    assert.deepEqual((h.requests[0]!.body as { metadata: { finalizers: string[] } }).metadata.finalizers, []);
    assert.equal(h.reconciled(), 0);
  });

  test('a suspended object is not reconciled', async () => {
    const h = harness(base({}, { suspend: true }), failed);
    assert.deepEqual(await h.controller.reconcile('ns/app'), {});
    assert.equal(h.reconciled(), 0);
  });

  test('a failure records its events, writes the status and is retried with the Ready message', async () => {
    const h = harness(base(), failed);
    const out = await h.controller.reconcile('ns/app');
    assert.equal('error' in out ? (out.error as Error).message : undefined, 'it broke');
    assert.deepEqual(h.recorded, ['X']);
    assert.equal(h.requests.length, 1);
    assert.match(h.requests[0]!.path, /\/ocirepositories\/app\/status$/);
  });

  test('success requeues after the interval; stalled waits for a change', async () => {
    const ok = harness(base(), { status: {}, events: [], outcome: 'stored', requeueAfterMs: 1000 });
    assert.deepEqual(await ok.controller.reconcile('ns/app'), { requeueAfterMs: 1000 });
    const stalled = harness(base(), { ...failed, outcome: 'stalled' });
    assert.deepEqual(await stalled.controller.reconcile('ns/app'), {});
  });

  test('a stored artifact gets its fetch duration in the status written; an unchanged one keeps its status as it was', async () => {
    const artifact = { revision: 'v1@sha256:aa', path: 'p', url: 'u', lastUpdateTime: 't', metadata: { 'org.opencontainers.image.revision': 'abc' } };
    const stored = harness(base(), { status: { artifact }, events: [], outcome: 'stored', requeueAfterMs: 1000 });
    await stored.controller.reconcile('ns/app');
    const written = JSON.stringify(stored.requests[0]!.body);
    assert.match(written, /"sluice.dev\/fetch-duration":"\d+\.\d\ds"/);
    assert.match(written, /org.opencontainers.image.revision/);
    const unchanged = harness(base(), { status: { artifact }, events: [], outcome: 'unchanged', requeueAfterMs: 1000 });
    await unchanged.controller.reconcile('ns/app');
    assert.doesNotMatch(JSON.stringify(unchanged.requests), /fetch-duration/);
  });
});
